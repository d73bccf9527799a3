"""How the dashboard's figures are written: in CSV cells (``fmt_*``: plain numbers a spreadsheet
reads), on the page (``rate``, ``days_text``, ``number``, axis labels ``pct`` and ``day``), and the
CSV cells made safe. The computations (``reports.kpis``) return numbers and dates only."""

from __future__ import annotations

import datetime
from decimal import Decimal

from core.spreadsheet import safe


# --- CSV cells -----
def fmt_rate(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}"


def fmt_days(value: datetime.timedelta | None) -> str:
    return "" if value is None else f"{value.total_seconds() / 86400:.2f}"


def fmt_num(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def csv_cell(value: object) -> object:
    """A figure stays a figure ("-2.5" is a number, not a formula); any other text is made
    safe for spreadsheet programs."""
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return safe(value)
    return value


# --- on the page -----
def rate(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


def days_text(value: datetime.timedelta | None) -> str:
    if value is None:
        return "–"
    days = value.total_seconds() / 86400
    return f"{days:.1f} days ({value.total_seconds() / 3600:.0f} h)"


def number(value: float | Decimal | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def pct(v: float) -> str:
    return f"{v:.0f} %"


def day(d: datetime.date) -> str:
    return d.strftime("%d %b")
