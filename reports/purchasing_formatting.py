"""What a person reads of the purchasing figures (``reports.purchasing_kpis`` computes them):
each figure's definition, and its table (header and cells) as the page shows it and the CSV
export writes it. Cells of numbers are plain numbers a spreadsheet reads (``reports.formatting``'s
``fmt_*``); the page's figures use its ``rate``, ``number`` and ``count``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, assert_never

from django.conf import settings
from django.utils import timezone

from reports import purchasing_kpis as pk
from reports.formatting import Table, fmt_num, fmt_rate

PurchasingResult = pk.SupplierOnTime | pk.OpenPurchaseValue | pk.SkuCover | pk.StockOuts


def _demand_window() -> int:
    return max(1, settings.OMS_REPLENISHMENT_DEMAND_DAYS)


def definitions() -> Mapping[type[PurchasingResult], str]:
    """The definition of each figure (the demand window is a setting, so read when shown)."""
    return {
        pk.SupplierOnTime: (
            "Per purchase order line whose PO was sent to the supplier (sent, partly received, "
            "received or closed; drafts and cancelled POs left out) and whose expected date "
            "falls in the range. A line is on time when its whole quantity was received on or "
            "before the PO's expected date (the date on the PO now: a new date the supplier gave "
            "and you entered counts). Partial receipts: a line received in part by that date, "
            "or completed later, is late; the units rate credits the units that did arrive in "
            "time (units received by the expected date ÷ units ordered). A line is counted once "
            "its expected date has passed, its PO was closed, or it arrived in full; a line "
            "still due today or later is not counted yet."
        ),
        pk.OpenPurchaseValue: (
            "A picture of now, per supplier and currency (amounts in different currencies are "
            "never added up). Open value = units still outstanding (ordered − received) × the "
            "line's unit cost, on POs sent or partly received. Overdue = the part of it on POs "
            "whose expected date is before today. Drafts = the same on draft POs, not sent yet "
            "(so not on the way)."
        ),
        pk.SkuCover: (
            "Per SKU, every warehouse together. Turnover = units shipped in the range ÷ average "
            "units on hand ((on hand at the start + on hand at the end of the range) ÷ 2, rebuilt "
            "from the stock ledger) — the same as COGS ÷ average inventory value at the "
            "product's cost price; empty without stock. Days of cover = units available now "
            "(on hand − reserved, active warehouses) ÷ daily demand, with the daily demand of "
            f"the Replenishment page: units shipped, reserved and backordered over the last "
            f"{_demand_window()} days ÷ {_demand_window()} (cancelled lines do not count); "
            "empty without demand. Least cover first."
        ),
        pk.StockOuts: (
            "A picture of now: SKUs with units waiting on backorder (customers' orders "
            "backordered, also while on hold) and nothing on the way — no units outstanding on "
            "a sent or partly received PO, in any warehouse. Units on draft POs are shown: a "
            "draft is not on the way until it is sent. Supplier = the SKU's preferred supplier "
            "(the one Replenishment proposes). Longest waiting first."
        ),
    }


def definition(result: PurchasingResult) -> str:
    return definitions()[type(result)]


# --- tables -----
def supplier_on_time_table(r: pk.SupplierOnTime) -> Table:
    header = [
        "supplier",
        "name",
        "lines_due",
        "lines_on_time",
        "on_time_rate_pct",
        "units_ordered",
        "units_on_time",
        "units_on_time_pct",
    ]
    rows: list[list[Any]] = [
        [
            s.supplier,
            s.name,
            s.lines,
            s.lines_on_time,
            fmt_rate(s.rate),
            s.units,
            s.units_on_time,
            fmt_rate(s.unit_rate),
        ]
        for s in r.rows
    ]
    return header, rows


def open_po_value_table(r: pk.OpenPurchaseValue) -> Table:
    header = [
        "supplier",
        "name",
        "currency",
        "open_pos",
        "units_outstanding",
        "open_value",
        "overdue_value",
        "draft_value",
    ]
    rows: list[list[Any]] = [
        [
            o.supplier,
            o.name,
            o.currency,
            o.purchase_orders,
            o.units,
            f"{o.value:.2f}",
            f"{o.overdue_value:.2f}",
            f"{o.draft_value:.2f}",
        ]
        for o in r.rows
    ]
    return header, rows


def sku_cover_table(r: pk.SkuCover) -> Table:
    header = [
        "sku",
        "product",
        "units_shipped",
        "on_hand_start",
        "on_hand_end",
        "turnover",
        "available",
        "daily_demand",
        "days_of_cover",
    ]
    rows: list[list[Any]] = [
        [
            s.sku,
            s.name,
            s.units_shipped,
            s.on_hand_start,
            s.on_hand_end,
            fmt_num(s.turnover),
            s.available,
            fmt_num(s.daily_demand),
            fmt_num(s.days_of_cover),
        ]
        for s in r.rows
    ]
    return header, rows


def stock_outs_table(r: pk.StockOuts) -> Table:
    header = [
        "sku",
        "product",
        "units_waiting",
        "orders_waiting",
        "waiting_since",
        "units_on_draft_pos",
        "preferred_supplier",
    ]
    rows: list[list[Any]] = [
        [
            s.sku,
            s.name,
            s.units_waiting,
            s.orders_waiting,
            timezone.localtime(s.waiting_since).date().isoformat(),
            s.in_drafts,
            s.supplier or "",
        ]
        for s in r.rows
    ]
    return header, rows


def table(result: PurchasingResult) -> Table:
    """The header and rows of a purchasing figure: the table on the page and its CSV export."""
    match result:
        case pk.SupplierOnTime():
            return supplier_on_time_table(result)
        case pk.OpenPurchaseValue():
            return open_po_value_table(result)
        case pk.SkuCover():
            return sku_cover_table(result)
        case pk.StockOuts():
            return stock_outs_table(result)
        case _:
            assert_never(result)
