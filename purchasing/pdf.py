"""The purchase order as a PDF for the supplier (``core.pdf``: the Unicode fonts, so a Polish,
Greek or Japanese supplier's name prints as written). Rendered by the notifications worker when
it sends the supplier's e-mail."""

from decimal import Decimal

from django.conf import settings

from core.pdf import a4

from .models import PurchaseOrder, PurchaseOrderLine


def _warehouse_address(po: PurchaseOrder) -> list[str]:
    warehouse = po.warehouse
    country = warehouse.country.name  # type: ignore[attr-defined]  # django-countries' Country
    return [
        settings.OMS_COMPANY_NAME,
        warehouse.name,
        warehouse.address_line1,
        warehouse.address_line2,
        f"{warehouse.postal_code} {warehouse.city}".strip(),
        str(country),
    ]


def purchase_order_pdf(
    po: PurchaseOrder, lines: list[PurchaseOrderLine], *, expected_at: str = ""
) -> bytes:
    """The purchase order ``po`` with its ``lines`` (products loaded): who orders what from
    whom, delivered where, by when (``expected_at`` as it was sent, ISO date; the order's own
    date by default), at what cost."""
    supplier = po.supplier
    pdf = a4(f"Purchase order {po.number}")
    pdf.text_line(settings.OMS_COMPANY_NAME, size=16, style="B", h=9)
    pdf.text_line(f"Purchase order {po.number}", size=13, style="B", h=8)
    created = po.created_at.date().isoformat() if po.created_at else ""
    expected = expected_at or po.expected_at.isoformat()
    pdf.text_line(f"Date {created}   Expected delivery {expected}")
    pdf.ln(2)
    pdf.text_line("Supplier", style="B")
    pdf.text_line(f"{supplier.name} ({supplier.code})")
    for text in (supplier.address or "").splitlines():
        if text.strip():
            pdf.text_line(text)
    if supplier.email:
        pdf.text_line(supplier.email)
    pdf.ln(2)
    pdf.text_line("Deliver to", style="B")
    for text in _warehouse_address(po):
        if text and text.strip():
            pdf.text_line(text)
    pdf.ln(3)
    offers = {
        sp.product_id: sp.supplier_sku
        for sp in supplier.products.filter(product_id__in=[line.product_id for line in lines])
    }
    total = Decimal("0")
    rows: list[list[object]] = []
    for position, line in enumerate(lines, start=1):
        amount = line.line_total()
        total += amount
        rows.append(
            [
                position,
                line.product.sku,
                offers.get(line.product_id, ""),
                line.product.name,
                line.quantity,
                f"{line.unit_cost:.2f}",
                f"{amount:.2f}",
            ]
        )
    pdf.table_of(
        ["#", "SKU", "Your SKU", "Product", "Qty", "Unit cost", "Amount"],
        rows,
        [8, 26, 26, 62, 14, 22, 24],
    )
    pdf.ln(2)
    pdf.text_line(f"Total {total:.2f} {po.currency}", size=11, style="B")
    if po.notes:
        pdf.ln(2)
        pdf.text_line("Notes", style="B")
        pdf.text_line(po.notes)
    pdf.ln(2)
    pdf.text_line(f"Please quote {po.number} on the delivery note and the invoice.", size=9, h=5)
    return pdf.render()
