"""PDF documents (fpdf2, pure Python): pick list, shipping label, packing slip.

Text in any script: the documents embed DejaVu Sans (Latin, Greek, Cyrillic and more) and fall
back to Droid Sans Fallback for Chinese, Japanese and Korean (fpdf2's fallback fonts). Both are
shipped in ``fulfillment/fonts/`` with their licences; only the glyphs used are embedded. The CJK
font is large to parse, so it is loaded only for a document whose text needs it.

On the 100 × 150 mm label every block has a fixed box: long names wrap, then shrink, and are cut
with "…" only when even the smallest size does not fit, so nothing runs off the label.
"""

import functools
import logging
import re
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.enums import MethodReturnValue, XPos, YPos

from .models import Shipment
from .selectors import PickSheet

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FONT = "DejaVuSans"
CJK_FONT = "DroidSansFallback"
_CODE39 = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-. $/+%")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_PT = 25.4 / 72  # millimetres per point
# fpdf2 subsets the fonts with fontTools, which logs a dozen INFO lines per document.
logging.getLogger("fontTools.subset").setLevel(logging.WARNING)


@functools.cache
def _main_font_chars() -> frozenset[int]:
    return frozenset(TTFont(FONT_DIR / "DejaVuSans.ttf", lazy=True).getBestCmap())


def _clean(value) -> str:
    text = str(value if value is not None else "")
    return _CONTROL.sub("", text.replace("\r\n", " ").replace("\n", " ").replace("\t", " "))


class Document(FPDF):
    """An FPDF with the Unicode fonts; ``t()`` prepares every piece of text written on it."""

    def __init__(self, *args, title: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_font(FONT, "", FONT_DIR / "DejaVuSans.ttf")
        self.add_font(FONT, "B", FONT_DIR / "DejaVuSans-Bold.ttf")
        self._cjk = False
        self.set_title(_clean(title))
        self.set_author(_clean(settings.OMS_COMPANY_NAME))
        self.set_creator("OMS")

    def t(self, value) -> str:
        text = _clean(value)
        if not self._cjk and not set(map(ord, text)) <= _main_font_chars():
            self.add_font(CJK_FONT, "", FONT_DIR / "DroidSansFallback.ttf")
            # Bold CJK text uses the regular face (the fallback font has no bold).
            self.set_fallback_fonts([CJK_FONT], exact_match=False)
            self._cjk = True
        return text

    def text_line(self, text, *, size: float = 10, style: str = "", h: float = 6) -> None:
        """One line across the page, wrapped if it is too long."""
        self.set_font(FONT, style, size)
        self.multi_cell(0, h, self.t(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def _wrapped(self, text: str, size: float, style: str) -> list[str]:
        self.set_font(FONT, style, size)
        # output=LINES: the lines alone (the stubs give every output's type).
        return self.multi_cell(0, 1, text, dry_run=True, output=MethodReturnValue.LINES)  # type: ignore[return-value]

    def block(
        self,
        texts: list[str],
        *,
        bottom: float,
        size: float,
        min_size: float = 6,
        style: str = "",
        leading: float = 1.2,
    ) -> None:
        """Write ``texts`` (one paragraph each) from the current position down to ``bottom``:
        wrapped, at the largest size from ``size`` down to ``min_size`` at which all of it fits.
        At ``min_size`` the lines are shared out among the paragraphs (each keeps its first
        line, so a long name cannot push the city off) and what is cut ends with "…"."""
        texts = [self.t(text) for text in texts if text and str(text).strip()]
        if not texts:
            return
        room = bottom - self.get_y()
        current = size
        while True:
            h = current * _PT * leading
            paragraphs = [self._wrapped(text, current, style) for text in texts]
            if sum(map(len, paragraphs)) * h <= room or current <= min_size:
                break
            current = max(min_size, current - 0.5)
        self.set_font(FONT, style, current)
        for line in self._share(paragraphs, int(room // h)):
            self.cell(0, h, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def _share(self, paragraphs: list[list[str]], fitting: int) -> list[str]:
        if sum(map(len, paragraphs)) <= fitting:
            return [line for lines in paragraphs for line in lines]
        quota = [0] * len(paragraphs)
        left = fitting
        while left > 0:  # one more line to each paragraph that wants one, in turn
            given = False
            for i, lines in enumerate(paragraphs):
                if left and quota[i] < len(lines):
                    quota[i] += 1
                    left -= 1
                    given = True
            if not given:
                break
        shown = []
        for lines, keep in zip(paragraphs, quota, strict=True):
            part = lines[:keep]
            if part and keep < len(lines):
                last = part[-1].rstrip()
                while last and self.get_string_width(last + "…") > self.epw:
                    last = last[:-1]
                part[-1] = last + "…"
            shown.extend(part)
        return shown

    def table_of(self, headings: list[str], rows: list[list], widths: list[int]) -> None:
        self.set_font(FONT, "", 9)
        with self.table(col_widths=widths, text_align="LEFT", line_height=5.5) as table:
            head = table.row()
            for heading in headings:
                head.cell(self.t(heading))
            for values in rows:
                row = table.row()
                for value in values:
                    row.cell(self.t(value))

    def render(self) -> bytes:
        return bytes(self.output())


def _a4(title: str) -> Document:
    pdf = Document(format="A4", title=title)
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    return pdf


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
