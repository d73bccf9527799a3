"""PDF documents of the warehouse (on ``core.pdf.Document``, the Unicode fonts): pick list,
shipping label, packing slip.

On the 100 × 150 mm label every block has a fixed box: long names wrap, then shrink, and are cut
with "…" only when even the smallest size does not fit, so nothing runs off the label.
"""

from django.conf import settings
from django.utils import timezone

from core.pdf import Document
from core.pdf import a4 as _a4

from .models import Shipment
from .selectors import PickSheet

_CODE39 = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-. $/+%")


def _address(shipment: Shipment) -> list[str]:
    order = shipment.order
    return [
        order.shipping_name,
        order.shipping_line1,
        order.shipping_line2,
        f"{order.shipping_postal_code} {order.shipping_city}".strip(),
        order.shipping_country.name,  # type: ignore[attr-defined]  # django-countries' Country
    ]


def _sender(shipment: Shipment) -> list[str]:
    """The warehouse's full address, under the company's name."""
    warehouse = shipment.warehouse
    return [
        settings.OMS_COMPANY_NAME,
        warehouse.name,
        warehouse.address_line1,
        warehouse.address_line2,
        f"{warehouse.postal_code} {warehouse.city}".strip(),
        warehouse.country.name,  # type: ignore[attr-defined]  # django-countries' Country
    ]


def picklist_pdf(sheet: PickSheet) -> bytes:
    pick_list = sheet.pick_list
    pdf = _a4(f"Pick list {pick_list.number}")
    pdf.text_line(f"Pick list {pick_list.number}", size=16, style="B", h=9)
    created = timezone.localtime(pick_list.created_at).strftime("%d %b %Y %H:%M")
    pdf.text_line(f"Warehouse {pick_list.warehouse.code} – {pick_list.warehouse.name}")
    pdf.text_line(f"Created {created}; {len(sheet.totes)} shipments, {sheet.total_units} units")
    pdf.ln(3)
    pdf.table_of(
        ["Bin", "SKU", "Product", "Qty", "Put away (tote: shipment × qty)", "Done"],
        [
            [
                row.bin_location or "–",
                row.sku,
                row.name,
                row.quantity,
                "; ".join(f"{t}: {number} × {q}" for t, number, q in row.put_away),
                "[  ]",
            ]
            for row in sheet.rows
        ],
        [18, 28, 50, 12, 62, 14],
    )
    pdf.ln(4)
    pdf.text_line("Totes", size=12, style="B")
    pdf.table_of(
        ["Tote", "Shipment", "Order"],
        [[t, s.number, s.order.number] for t, s in sheet.totes],
        [20, 60, 60],
    )
    return pdf.render()


def label_pdf(shipment: Shipment) -> bytes:
    """The 4 × 6 inch thermal label of a shipment whose carrier (service, or name typed where
    no carrier service is set up) is chosen."""
    carrier = shipment.carrier
    if carrier is None:
        raise ValueError(f"Shipment {shipment.number} has no carrier yet: no label.")
    pdf = Document(format=(100, 150), title=f"Label {shipment.number}")
    pdf.set_margins(6, 6, 6)
    pdf.set_auto_page_break(auto=False)
    pdf.add_page()
    pdf.block([carrier.name], bottom=15, size=14, min_size=9, style="B")
    # A carrier typed by name (no carrier services set up) has no service to print.
    service = shipment.carrier_service.name if shipment.carrier_service is not None else ""
    pdf.block([service], bottom=20, size=10, min_size=7)
    pdf.set_y(21)
    pdf.block(["FROM"], bottom=25, size=8, style="B")
    pdf.block(_sender(shipment), bottom=48, size=9, min_size=6)
    pdf.set_y(50)
    pdf.block(["SHIP TO"], bottom=54, size=8, style="B")
    pdf.block(_address(shipment), bottom=106, size=13, min_size=7, style="B")

    # The foot has a fixed place, whatever the address above took.
    pdf.set_y(107)
    weight = shipment.weight_display  # "0.90 kg", or "not recorded"
    dims = (
        f"{shipment.length_cm} × {shipment.width_cm} × {shipment.height_cm} cm"
        if shipment.length_cm
        else "–"
    )
    pdf.block([f"Weight {weight}   Size {dims}"], bottom=112, size=9, min_size=6)
    pdf.block(
        [f"Shipment {shipment.number}   Order {shipment.order.number}"],
        bottom=117,
        size=9,
        min_size=6,
    )
    tracking = (shipment.tracking_number or "").upper()
    if tracking:
        pdf.block([f"Tracking {shipment.tracking_number}"], bottom=124, size=11, style="B")
        if set(tracking) <= _CODE39 and len(tracking) <= 20:
            # Wide bars 0.45 mm, narrow 0.15 mm: 2.4 mm per character, 22 characters in 53 mm.
            pdf.code39(f"*{tracking}*", x=6, y=126, w=0.45, h=17)
    else:
        pdf.block(["Tracking number: assigned at hand-over"], bottom=124, size=9)
    return pdf.render()


def packing_slip_pdf(shipment: Shipment) -> bytes:
    order = shipment.order
    pdf = _a4(f"Packing slip {shipment.number}")
    pdf.text_line(settings.OMS_COMPANY_NAME, size=16, style="B", h=9)
    pdf.text_line(f"Packing slip – shipment {shipment.number}", size=12, style="B", h=8)
    reference = f" (your reference {order.reference})" if order.reference else ""
    pdf.text_line(f"Order {order.number}{reference}")
    pdf.text_line(f"Ships from {shipment.warehouse.name}")
    pdf.ln(2)
    pdf.text_line("Deliver to", style="B")
    for text in _address(shipment):
        if text and text.strip():
            pdf.text_line(text)
    pdf.ln(3)
    pdf.table_of(
        ["SKU", "Product", "Quantity"],
        [
            [line.order_line.product.sku, line.order_line.product.name, line.quantity]
            for line in shipment.lines.all()
        ],
        [40, 110, 30],
    )
    pdf.ln(4)
    pdf.text_line(
        f"Questions? Write to {settings.OMS_SUPPORT_EMAIL} quoting order {order.number}.",
        size=9,
    )
    return pdf.render()
