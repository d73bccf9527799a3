"""The PDF document base (fpdf2, pure Python) every app's documents are drawn on: pick lists,
labels and packing slips (``fulfillment/pdf.py``), purchase orders (``purchasing/pdf.py``).

Text in any script: the documents embed DejaVu Sans (Latin, Greek, Cyrillic and more) and fall
back to Droid Sans Fallback for Chinese, Japanese and Korean (fpdf2's fallback fonts). Both are
shipped in ``core/fonts/`` with their licences; only the glyphs used are embedded. The CJK
font is large to parse, so it is loaded only for a document whose text needs it.
"""

import functools
import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.enums import MethodReturnValue, XPos, YPos

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FONT = "DejaVuSans"
CJK_FONT = "DroidSansFallback"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_PT = 25.4 / 72  # millimetres per point
# fpdf2 subsets the fonts with fontTools, which logs a dozen INFO lines per document.
logging.getLogger("fontTools.subset").setLevel(logging.WARNING)


@functools.cache
def _main_font_chars() -> frozenset[int]:
    return frozenset(TTFont(FONT_DIR / "DejaVuSans.ttf", lazy=True).getBestCmap())


def _clean(value: object) -> str:
    text = str(value if value is not None else "")
    return _CONTROL.sub("", text.replace("\r\n", " ").replace("\n", " ").replace("\t", " "))


class Document(FPDF):
    """An FPDF with the Unicode fonts; ``t()`` prepares every piece of text written on it."""

    def __init__(self, *args: Any, title: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.add_font(FONT, "", FONT_DIR / "DejaVuSans.ttf")
        self.add_font(FONT, "B", FONT_DIR / "DejaVuSans-Bold.ttf")
        self._cjk = False
        self.set_title(_clean(title))
        self.set_author(_clean(settings.OMS_COMPANY_NAME))
        self.set_creator("OMS")

    def t(self, value: object) -> str:
        text = _clean(value)
        if not self._cjk and not set(map(ord, text)) <= _main_font_chars():
            self.add_font(CJK_FONT, "", FONT_DIR / "DroidSansFallback.ttf")
            # Bold CJK text uses the regular face (the fallback font has no bold).
            self.set_fallback_fonts([CJK_FONT], exact_match=False)
            self._cjk = True
        return text

    def text_line(self, text: object, *, size: float = 10, style: str = "", h: float = 6) -> None:
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

    def table_of(
        self, headings: list[str], rows: Sequence[Sequence[object]], widths: list[int]
    ) -> None:
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


def a4(title: str) -> Document:
    """A portrait A4 document with its first page added."""
    pdf = Document(format="A4", title=title)
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    return pdf
