"""PDF documents (fpdf2, pure Python): pick list, shipping label, packing slip.

The core PDF fonts only know Latin-1, so text is folded to it (a few typographic characters
are mapped, anything else becomes "?") rather than failing on an unusual product name.
"""

from django.conf import settings
from django.utils import timezone
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from .models import Shipment
from .selectors import PickSheet

_FOLD = str.maketrans({"–": "-", "—": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "…": "..."})
_CODE39 = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-. $/+%")


def _t(value) -> str:
    text = str(value if value is not None else "").translate(_FOLD)
    return text.encode("latin-1", "replace").decode("latin-1")


def _doc(title: str) -> FPDF:
    pdf = FPDF(format="A4")
    pdf.set_title(_t(title))
    pdf.set_author(_t(settings.OMS_COMPANY_NAME))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    return pdf


def _line(pdf: FPDF, text: str, *, size: int = 10, style: str = "", h: float = 6) -> None:
    pdf.set_font("Helvetica", style, size)
    pdf.cell(0, h, _t(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _address(shipment: Shipment) -> list[str]:
    order = shipment.order
    return [
        line
        for line in (
            order.shipping_name,
            order.shipping_line1,
            order.shipping_line2,
            f"{order.shipping_postal_code} {order.shipping_city}",
            order.shipping_country,
        )
        if line and line.strip()
    ]


def _table(pdf: FPDF, headings: list[str], rows: list[list], widths: list[int]) -> None:
    pdf.set_font("Helvetica", "", 10)
    with pdf.table(col_widths=widths, text_align="LEFT", line_height=6) as table:
        head = table.row()
        for heading in headings:
            head.cell(_t(heading))
        for values in rows:
            row = table.row()
            for value in values:
                row.cell(_t(value))


def _bytes(pdf: FPDF) -> bytes:
    return bytes(pdf.output())


def picklist_pdf(sheet: PickSheet) -> bytes:
    pick_list = sheet.pick_list
    pdf = _doc(f"Pick list {pick_list.number}")
    _line(pdf, f"Pick list {pick_list.number}", size=16, style="B", h=9)
    created = timezone.localtime(pick_list.created_at).strftime("%d %b %Y %H:%M")
    _line(pdf, f"Warehouse {pick_list.warehouse.code} - {pick_list.warehouse.name}")
    _line(pdf, f"Created {created}; {len(sheet.totes)} shipments, {sheet.total_units} units")
    pdf.ln(3)
    _table(
        pdf,
        ["Bin", "SKU", "Product", "Qty", "Put away (tote: shipment x qty)", "Done"],
        [
            [
                row.bin_location or "-",
                row.sku,
                row.name,
                row.quantity,
                "; ".join(f"{t}: {number} x {q}" for t, number, q in row.put_away),
                "[  ]",
            ]
            for row in sheet.rows
        ],
        [18, 28, 50, 12, 62, 14],
    )
    pdf.ln(4)
    _line(pdf, "Totes", size=12, style="B")
    _table(
        pdf,
        ["Tote", "Shipment", "Order"],
        [[t, s.number, s.order.number] for t, s in sheet.totes],
        [20, 60, 60],
    )
    return _bytes(pdf)


def label_pdf(shipment: Shipment) -> bytes:
    carrier = shipment.carrier
    pdf = FPDF(format=(100, 150))  # a 4x6 inch thermal label
    pdf.set_title(_t(f"Label {shipment.number}"))
    pdf.set_margins(6, 6, 6)
    pdf.set_auto_page_break(auto=False)
    pdf.add_page()
    _line(pdf, carrier.name if carrier else "Carrier not chosen", size=14, style="B", h=8)
    if shipment.carrier_service_id:
        _line(pdf, shipment.carrier_service.name, size=10)
    pdf.ln(2)
    _line(pdf, "FROM", size=8, style="B", h=4)
    _line(pdf, settings.OMS_COMPANY_NAME, size=9, h=4.5)
    _line(pdf, f"{shipment.warehouse.name} ({shipment.warehouse.country})", size=9, h=4.5)
    pdf.ln(3)
    _line(pdf, "SHIP TO", size=8, style="B", h=4)
    for text in _address(shipment):
        _line(pdf, text, size=13, style="B", h=6.5)
    pdf.ln(3)
    weight = f"{shipment.weight_grams / 1000:.2f} kg" if shipment.weight_grams else "-"
    dims = (
        f"{shipment.length_cm} x {shipment.width_cm} x {shipment.height_cm} cm"
        if shipment.length_cm
        else "-"
    )
    _line(pdf, f"Weight {weight}   Size {dims}", size=9, h=5)
    _line(pdf, f"Shipment {shipment.number}   Order {shipment.order.number}", size=9, h=5)
    tracking = (shipment.tracking_number or "").upper()
    if tracking:
        pdf.ln(2)
        _line(pdf, f"Tracking {shipment.tracking_number}", size=11, style="B", h=6)
        if set(tracking) <= _CODE39 and len(tracking) <= 20:
            pdf.code39(f"*{tracking}*", x=6, y=pdf.get_y() + 2, w=0.45, h=18)
    else:
        _line(pdf, "Tracking number: assigned at hand-over", size=9)
    return _bytes(pdf)


def packing_slip_pdf(shipment: Shipment) -> bytes:
    order = shipment.order
    pdf = _doc(f"Packing slip {shipment.number}")
    _line(pdf, settings.OMS_COMPANY_NAME, size=16, style="B", h=9)
    _line(pdf, f"Packing slip - shipment {shipment.number}", size=12, style="B", h=8)
    reference = f" (your reference {order.reference})" if order.reference else ""
    _line(pdf, f"Order {order.number}{reference}")
    _line(pdf, f"Ships from {shipment.warehouse.name}")
    pdf.ln(2)
    _line(pdf, "Deliver to", style="B")
    for text in _address(shipment):
        _line(pdf, text)
    pdf.ln(3)
    _table(
        pdf,
        ["SKU", "Product", "Quantity"],
        [
            [line.order_line.product.sku, line.order_line.product.name, line.quantity]
            for line in shipment.lines.all()
        ],
        [40, 110, 30],
    )
    pdf.ln(4)
    _line(
        pdf,
        f"Questions? Write to {settings.OMS_SUPPORT_EMAIL} quoting order {order.number}.",
        size=9,
    )
    return _bytes(pdf)
