"""What a person reads of the dashboard's figures; the computations (``reports.kpis``) return
frozen dataclasses of numbers, dates and rows only.

- CSV cells (``fmt_*``: plain numbers a spreadsheet reads) and ``csv_cell`` (text made safe);
- on the page: figures (``rate``, ``days_text``, ``number``, ``count``) and axis labels
  (``pct``, ``day``, ``plain``, ``days_axis``);
- ``DEFINITIONS``: the definition of each KPI, shown on the page (``definition(result)``);
- ``table(result)``: a KPI's table, the header then the rows, as the page shows it and the CSV
  export writes it (one ``<kpi>_table`` function per KPI).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, assert_never

from django.utils import timezone

from core.spreadsheet import safe
from orders.models import OrderStatus
from reports import kpis
from reports.kpis import ratio

# A KPI's table: the header, then the rows.
Table = tuple[list[str], list[list[Any]]]


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


def count(value: int) -> str:
    return f"{value:,}"


# --- chart axes and bar values -----
def pct(v: float) -> str:
    return f"{v:.0f} %"


def day(d: datetime.date) -> str:
    return d.strftime("%d %b")


def plain(v: float) -> str:
    return f"{v:g}"


def days_axis(v: float) -> str:
    return f"{v:.0f} d"


# --- definitions -----
DEFINITIONS: Mapping[type[kpis.KpiResult], str] = {
    kpis.OrdersPerDay: (
        "Orders placed per calendar day (site time zone), by sales channel. Every order "
        "counts on the day it was placed, whatever happened to it afterwards (cancelled "
        "orders included)."
    ),
    kpis.CycleTime: (
        "Time from placing an order (Order.placed_at) to its delivery (the last of its "
        "shipments' delivered_at), for orders whose delivery was completed in the range. "
        "Median = half of the orders took less; 90th percentile = 9 in 10 took less "
        "(linear interpolation, as PostgreSQL's percentile_cont)."
    ),
    kpis.OnTimeShipment: (
        "Of the orders whose promised ship date falls in the range (cancelled orders left "
        "out), the share shipped in full (status shipped or delivered) with every shipment "
        "handed to the carrier on or before the promised ship date (local date). An order "
        "not shipped in full counts as late once its promised date has passed; one whose "
        "promised date is today or later and is not shipped yet is not counted (it can still "
        "be on time)."
    ),
    kpis.FillRate: (
        "Fill rate at first inventory check, for orders placed in the range that have had an "
        "inventory check: order fill rate = share of those orders whose first check reserved "
        "every unit (no backorder); unit fill rate = 1 − units short at the first check "
        "(the first BACKORDERED event of the order) ÷ units ordered on the original lines "
        "(substitute lines added later not counted)."
    ),
    kpis.BackorderRate: (
        "Share of the orders placed in the range that had an inventory check and were "
        "backordered at any time (a BACKORDERED event: some units could not be reserved), by "
        "the day the order was placed. Units waiting now = units of those orders' lines still "
        "neither reserved, shipped nor cancelled."
    ),
    kpis.PerfectOrders: (
        "Of the orders delivered in the range (last shipment delivered in the range), the "
        "share that were perfect: (1) on time — every shipment delivered on or before the "
        "order's estimated delivery date (local date; no estimate counts as late); "
        "(2) complete — no line cancelled and nothing backordered at the first inventory "
        "check; (3) no claim — no return (other than rejected or cancelled ones) with reason "
        "damaged in transit, wrong item or defective. An order can fail more than one test."
    ),
    kpis.ReturnRate: (
        "Units asked back in returns opened in the range (rejected and cancelled returns left "
        "out), by reason, divided by the units shipped in the range (shipment movements of "
        "the stock ledger). Also the number of returns and the distinct orders concerned."
    ),
    kpis.InventoryTurnover: (
        "Per product and warehouse. COGS = units shipped in the range (shipment movements of "
        "the stock ledger) × the product's cost price. Average inventory value = (units on "
        "hand at the start of the range + units on hand at its end) ÷ 2 × cost price, on-hand "
        "units rebuilt from the ledger. Turnover = COGS ÷ average inventory value (times the "
        "stock turned over in the range). Days of inventory = average inventory value ÷ COGS "
        "per day (how many days the stock lasts at the range's pace); empty when nothing "
        "shipped. Cost price is today's."
    ),
    kpis.LateOrders: (
        "Orders not shipped in full (open: placed, confirmed, backordered, allocated, "
        "processing, partially shipped or on hold) whose promised ship date is before today. "
        "A picture of now: the date range does not apply. Days late = today − promised ship "
        "date."
    ),
}


def definition(result: kpis.KpiResult) -> str:
    """The definition of the KPI ``result`` answers, as the page shows it."""
    return DEFINITIONS[type(result)]


# --- tables: the page's and the CSV export's -----
def orders_per_day_table(r: kpis.OrdersPerDay) -> Table:
    header = ["date", *r.channels, "total"]
    rows: list[list[Any]] = []
    for d in r.days:
        values = [r.counts.get((d, ch), 0) for ch in r.channels]
        rows.append([d.isoformat(), *values, sum(values)])
    return header, rows


def cycle_time_table(r: kpis.CycleTime) -> Table:
    header = ["cycle_time", "orders"]
    return header, [[label, n] for label, n in r.buckets]


def on_time_shipment_table(r: kpis.OnTimeShipment) -> Table:
    header = ["promised_ship_date", "orders", "on_time", "on_time_rate_pct"]
    rows: list[list[Any]] = [[d.isoformat(), n, ok, fmt_rate(ratio(ok, n))] for d, n, ok in r.days]
    return header, rows


def fill_rate_table(r: kpis.FillRate) -> Table:
    header = [
        "channel",
        "orders_checked",
        "orders_filled_at_first_check",
        "order_fill_rate_pct",
        "units_ordered",
        "units_short_at_first_check",
        "unit_fill_rate_pct",
    ]
    rows: list[list[Any]] = []
    for ch, n, filled, units, short in r.channels:
        short_rate = ratio(short, units)
        rows.append(
            [
                ch,
                n,
                filled,
                fmt_rate(ratio(filled, n)),
                units,
                short,
                fmt_rate(None if short_rate is None else 1 - short_rate),
            ]
        )
    return header, rows


def backorder_rate_table(r: kpis.BackorderRate) -> Table:
    header = ["date_placed", "orders_checked", "orders_backordered", "backorder_rate_pct"]
    rows: list[list[Any]] = [[d.isoformat(), n, b, fmt_rate(ratio(b, n))] for d, n, b in r.days]
    return header, rows


def perfect_orders_table(r: kpis.PerfectOrders) -> Table:
    header = ["measure", "orders", "share_pct"]
    rows: list[list[Any]] = [
        ["delivered in range", r.orders, fmt_rate(ratio(r.orders, r.orders))],
        ["perfect", r.perfect, fmt_rate(r.rate)],
        ["delivered late", r.late, fmt_rate(ratio(r.late, r.orders))],
        ["incomplete", r.incomplete, fmt_rate(ratio(r.incomplete, r.orders))],
        [
            "damaged / wrong / defective return",
            r.claimed,
            fmt_rate(ratio(r.claimed, r.orders)),
        ],
    ]
    return header, rows


def return_rate_table(r: kpis.ReturnRate) -> Table:
    header = ["reason", "units_returned", "returns", "units_shipped", "return_rate_pct"]
    rows: list[list[Any]] = [
        [label, units, returns, r.units_shipped, fmt_rate(ratio(units, r.units_shipped))]
        for _code, label, units, returns in r.reasons
    ]
    return header, rows


def inventory_turnover_table(r: kpis.InventoryTurnover) -> Table:
    header = [
        "sku",
        "product",
        "warehouse",
        "on_hand_start",
        "on_hand_end",
        "cost_price",
        "units_shipped",
        "cogs",
        "average_inventory_value",
        "turnover",
        "days_of_inventory",
    ]
    rows: list[list[Any]] = [
        [
            s.product_sku,
            s.product_name,
            s.warehouse,
            s.on_hand_start,
            s.on_hand_end,
            s.cost_price,
            s.units_shipped,
            f"{s.cogs:.2f}",
            f"{s.average_value:.2f}",
            fmt_num(s.turnover),
            fmt_num(s.days_of_inventory),
        ]
        for s in r.rows
    ]
    return header, rows


def late_orders_table(r: kpis.LateOrders) -> Table:
    header = [
        "order",
        "channel",
        "status",
        "placed_at",
        "promised_ship_date",
        "days_late",
        "late_since",
    ]
    rows: list[list[Any]] = [
        [
            o["number"],
            o["channel__name"],
            OrderStatus(o["status"]).label,
            timezone.localtime(o["placed_at"]).isoformat(timespec="minutes"),
            o["promised_ship_date"].isoformat(),
            o["days_late"],
            timezone.localtime(o["late_since"]).isoformat(timespec="minutes")
            if o["late_since"]
            else "",
        ]
        for o in r.orders
    ]
    return header, rows


def table(result: kpis.KpiResult) -> Table:
    """The header and rows of a KPI result: the table under its chart and its CSV export."""
    match result:
        case kpis.OrdersPerDay():
            return orders_per_day_table(result)
        case kpis.CycleTime():
            return cycle_time_table(result)
        case kpis.OnTimeShipment():
            return on_time_shipment_table(result)
        case kpis.FillRate():
            return fill_rate_table(result)
        case kpis.BackorderRate():
            return backorder_rate_table(result)
        case kpis.PerfectOrders():
            return perfect_orders_table(result)
        case kpis.ReturnRate():
            return return_rate_table(result)
        case kpis.InventoryTurnover():
            return inventory_turnover_table(result)
        case kpis.LateOrders():
            return late_orders_table(result)
        case _:
            assert_never(result)
