"""Computations of the purchasing figures (``/purchasing/figures/``): one ``kpi_<name>`` function
per figure, returning a frozen dataclass of numbers, dates and rows; what a person reads (the
definitions, headers, cells) is ``reports.purchasing_formatting``'s, as ``reports.kpis`` and
``reports.formatting`` share the dashboard's.

Every function runs a **constant number of queries**, whatever the number of suppliers, SKUs and
purchase orders (tested); Python loops over the grouped rows only. They live in ``reports`` because
they read both sides: purchase orders (``purchasing``) and backorders (``orders``), and purchasing
may not import orders.

- **Supplier on-time rate** (``kpi_supplier_on_time``): per purchase order *line* due in the range.
- **Open purchase order value** (``kpi_open_po_value``): now, per supplier and currency.
- **Turnover and days of cover per SKU** (``kpi_sku_cover``): turnover over the range from the
  dashboard's ``kpi_inventory_turnover`` rows, days of cover from replenishment's demand
  (``purchasing.replenishment.replenishment_suggestions``: the same daily demand and available
  units the *Replenishment* page shows), not a second computation of either.
- **Stock-outs** (``kpi_stock_outs``): now, SKUs with backordered units and no purchase order on
  the way.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, Sum
from django.utils import timezone

from core.money import to_cents
from inventory.models import Product
from orders.selectors import backorders_by_product
from purchasing.models import (
    OPEN_STATUSES,
    PurchaseOrder,
    PurchaseOrderEvent,
    PurchaseOrderEventType,
    PurchaseOrderLine,
    PurchaseOrderStatus,
)
from purchasing.replenishment import Suggestion, replenishment_suggestions
from reports.kpis import kpi_inventory_turnover, ratio

TENTH = Decimal("0.1")
CENT = Decimal("0.01")
S = PurchaseOrderStatus
# Purchase orders the supplier was asked to deliver: sent, and what became of them. Drafts were
# never sent; cancelled ones were withdrawn before anything arrived.
MEASURED_STATUSES = [S.SENT, S.PARTIALLY_RECEIVED, S.RECEIVED, S.CLOSED]
COVER_WARNING_DAYS = 7  # "under a week of cover" on the page


# --- supplier on-time rate ----------------------------------------------------------------------
@dataclass(frozen=True)
class SupplierOnTimeRow:
    supplier: str  # code
    name: str
    lines: int  # lines due (measured)
    lines_on_time: int
    units: int  # units ordered on those lines
    units_on_time: int  # of which received by the expected date

    @property
    def rate(self) -> float | None:
        return ratio(self.lines_on_time, self.lines)

    @property
    def unit_rate(self) -> float | None:
        return ratio(self.units_on_time, self.units)


@dataclass(frozen=True)
class SupplierOnTime:
    rows: list[SupplierOnTimeRow]  # by supplier code
    today: datetime.date

    @property
    def lines(self) -> int:
        return sum(r.lines for r in self.rows)

    @property
    def lines_on_time(self) -> int:
        return sum(r.lines_on_time for r in self.rows)

    @property
    def units(self) -> int:
        return sum(r.units for r in self.rows)

    @property
    def units_on_time(self) -> int:
        return sum(r.units_on_time for r in self.rows)

    @property
    def rate(self) -> float | None:
        return ratio(self.lines_on_time, self.lines)

    @property
    def unit_rate(self) -> float | None:
        return ratio(self.units_on_time, self.units)


def kpi_supplier_on_time(
    *, start: datetime.date, end: datetime.date, today: datetime.date | None = None
) -> SupplierOnTime:
    """Lines of purchase orders sent to suppliers (sent, partly received, received or closed)
    whose expected date falls in the range. A line is **on time** when its whole quantity was
    received on or before the purchase order's expected date (local date of each receipt, read
    from the purchase order's history); units on time = units received by that date. A line is
    measured once its expected date has passed, or once it is on time already, or once its
    purchase order is closed (the rest will not come); a line still due today or later that can
    still arrive in time is not counted yet. 2 queries."""
    today = today or timezone.localdate()
    pos = PurchaseOrder.objects.filter(
        status__in=MEASURED_STATUSES, expected_at__gte=start, expected_at__lte=end
    )
    lines = PurchaseOrderLine.objects.filter(purchase_order__in=pos).values_list(
        "purchase_order_id",
        "product__sku",
        "quantity",
        "purchase_order__expected_at",
        "purchase_order__status",
        "purchase_order__supplier__code",
        "purchase_order__supplier__name",
    )
    receipts = PurchaseOrderEvent.objects.filter(
        purchase_order__in=pos, type=PurchaseOrderEventType.RECEIVED
    ).values_list("purchase_order_id", "created_at", "details", "purchase_order__expected_at")
    # (purchase order id, SKU) -> units received on or before the expected date.
    in_time: dict[tuple[int, str], int] = {}
    for po_id, created_at, details, expected_at in receipts:
        if timezone.localtime(created_at).date() > expected_at:
            continue
        received = details.get("lines", {}) if isinstance(details, dict) else {}
        for sku, units in received.items():
            if isinstance(units, int):
                in_time[(po_id, sku)] = in_time.get((po_id, sku), 0) + units
    totals: dict[str, list[int]] = {}
    names: dict[str, str] = {}
    for po_id, sku, quantity, expected_at, status, code, name in lines:
        got = min(in_time.get((po_id, sku), 0), quantity)
        on_time = got >= quantity
        if not (on_time or expected_at < today or status == S.CLOSED):
            continue  # can still arrive in time
        t = totals.setdefault(code, [0, 0, 0, 0])
        t[0] += 1
        t[1] += int(on_time)
        t[2] += quantity
        t[3] += got
        names[code] = name
    rows = [SupplierOnTimeRow(code, names[code], *t) for code, t in sorted(totals.items())]
    return SupplierOnTime(rows=rows, today=today)


# --- open purchase order value ------------------------------------------------------------------
@dataclass(frozen=True)
class OpenValueRow:
    supplier: str
    name: str
    currency: str
    purchase_orders: int  # sent or partly received, with something outstanding
    units: int  # outstanding
    value: Decimal  # outstanding units × the line's unit cost
    overdue_value: Decimal  # of which on purchase orders past their expected date
    draft_value: Decimal  # on drafts (not sent: not on the way yet)


@dataclass(frozen=True)
class OpenPurchaseValue:
    rows: list[OpenValueRow]  # highest value first
    today: datetime.date

    def totals(self) -> list[tuple[str, Decimal, Decimal, Decimal]]:
        """(currency, open value, overdue value, draft value), by currency: amounts in
        different currencies are never added together."""
        sums: dict[str, list[Decimal]] = {}
        for r in self.rows:
            t = sums.setdefault(r.currency, [Decimal(0), Decimal(0), Decimal(0)])
            t[0] += r.value
            t[1] += r.overdue_value
            t[2] += r.draft_value
        return [(c, t[0], t[1], t[2]) for c, t in sorted(sums.items())]


def kpi_open_po_value(*, today: datetime.date | None = None) -> OpenPurchaseValue:
    """Per supplier and currency: what is still to come on sent and partly received purchase
    orders (outstanding units × unit cost of the line), the part of it overdue (expected date
    before today), and what drafts hold. A picture of now. 1 query."""
    today = today or timezone.localdate()
    outstanding = F("quantity") - F("quantity_received")
    amount = ExpressionWrapper(
        outstanding * F("unit_cost"), output_field=DecimalField(max_digits=24, decimal_places=2)
    )
    sent = Q(purchase_order__status__in=OPEN_STATUSES)
    overdue = sent & Q(purchase_order__expected_at__lt=today)
    draft = Q(purchase_order__status=S.DRAFT)
    rows = (
        PurchaseOrderLine.objects.filter(sent | draft, quantity__gt=F("quantity_received"))
        .values_list(
            "purchase_order__supplier__code",
            "purchase_order__supplier__name",
            "purchase_order__currency",
        )
        .annotate(
            pos=Count("purchase_order_id", distinct=True, filter=sent),
            units=Sum(outstanding, filter=sent, default=0),
            value=Sum(amount, filter=sent, default=Decimal(0)),
            overdue=Sum(amount, filter=overdue, default=Decimal(0)),
            drafts=Sum(amount, filter=draft, default=Decimal(0)),
        )
        .order_by()
    )
    found = [
        OpenValueRow(
            supplier=code,
            name=name,
            currency=currency,
            purchase_orders=pos,
            units=int(units),
            value=to_cents(value),
            overdue_value=to_cents(overdue_value),
            draft_value=to_cents(drafts),
        )
        for code, name, currency, pos, units, value, overdue_value, drafts in rows
    ]
    found.sort(key=lambda r: (r.currency, -r.value, -r.draft_value, r.supplier))
    return OpenPurchaseValue(rows=found, today=today)


# --- turnover and days of cover per SKU ---------------------------------------------------------
@dataclass(frozen=True)
class SkuCoverRow:
    sku: str
    name: str
    units_shipped: int  # in the range
    on_hand_start: int  # every warehouse, at the start of the range
    on_hand_end: int  # and at its end
    available: int  # now: on hand − reserved, active warehouses
    demand_units: int  # replenishment's demand over its window
    demand_days: int

    @property
    def average_on_hand(self) -> Decimal:
        return Decimal(self.on_hand_start + self.on_hand_end) / 2

    @property
    def turnover(self) -> Decimal | None:
        if not self.average_on_hand:
            return None
        return (self.units_shipped / self.average_on_hand).quantize(CENT, ROUND_HALF_UP)

    @property
    def daily_demand(self) -> Decimal:
        return (Decimal(self.demand_units) / self.demand_days).quantize(CENT, ROUND_HALF_UP)

    @property
    def days_of_cover(self) -> Decimal | None:
        if not self.demand_units:
            return None
        cover = Decimal(max(self.available, 0)) * self.demand_days / self.demand_units
        return cover.quantize(TENTH, ROUND_HALF_UP)


@dataclass(frozen=True)
class SkuCover:
    rows: list[SkuCoverRow]  # least cover first; SKUs without demand last
    days: int  # of the range (turnover)
    demand_days: int  # replenishment's demand window (days of cover)
    turnover: float | None  # all SKUs, at cost (the dashboard's figure)

    @property
    def with_demand(self) -> int:
        return sum(1 for r in self.rows if r.demand_units)

    @property
    def under_warning(self) -> int:
        return sum(
            1
            for r in self.rows
            if r.days_of_cover is not None and r.days_of_cover < COVER_WARNING_DAYS
        )


def kpi_sku_cover(
    *,
    start: datetime.date,
    end: datetime.date,
    suggestions: Sequence[Suggestion] | None = None,
) -> SkuCover:
    """Per SKU (every warehouse together): turnover over the range = units shipped ÷ average
    units on hand ((start + end) ÷ 2, rebuilt from the ledger as the dashboard does); days of
    cover now = available units ÷ daily demand, with replenishment's demand and available units
    (``suggestions``: ``replenishment_suggestions(only_needed=False)``, computed here when not
    given). SKUs with neither stock, shipments nor demand are left out. The dashboard's 2 queries
    plus replenishment's fixed number."""
    if suggestions is None:
        suggestions = replenishment_suggestions(only_needed=False)
    turnover = kpi_inventory_turnover(start=start, end=end)
    per_sku: dict[str, list[int]] = {}  # shipped, start, end, available, demand
    names: dict[str, str] = {}
    for t in turnover.rows:
        row = per_sku.setdefault(t.product_sku, [0, 0, 0, 0, 0])
        row[0] += t.units_shipped
        row[1] += t.on_hand_start
        row[2] += t.on_hand_end
        names[t.product_sku] = t.product_name
    demand_days = suggestions[0].demand_days if suggestions else 1
    for s in suggestions:
        row = per_sku.setdefault(s.sku, [0, 0, 0, 0, 0])
        row[3] += s.available
        row[4] += s.demand_units
        names[s.sku] = s.product_name
        demand_days = s.demand_days
    rows = [
        SkuCoverRow(sku, names[sku], shipped, first, last, available, demand, demand_days)
        for sku, (shipped, first, last, available, demand) in per_sku.items()
        if shipped or first or last or available or demand
    ]
    rows.sort(
        key=lambda r: (
            r.days_of_cover is None,
            r.days_of_cover if r.days_of_cover is not None else 0,
            -r.demand_units,
            r.sku,
        )
    )
    return SkuCover(
        rows=rows, days=turnover.days, demand_days=demand_days, turnover=turnover.turnover
    )


# --- stock-outs: backordered, nothing on the way -----------------------------------------------
@dataclass(frozen=True)
class StockOutRow:
    sku: str
    name: str
    units_waiting: int
    orders_waiting: int
    waiting_since: datetime.datetime  # when the oldest waiting order was placed
    in_drafts: int  # units on draft purchase orders (written, not sent)
    supplier: str | None  # the preferred supplier (replenishment's), None when nobody sells it


@dataclass(frozen=True)
class StockOuts:
    rows: list[StockOutRow]  # longest waiting first

    @property
    def units(self) -> int:
        return sum(r.units_waiting for r in self.rows)

    @property
    def orders(self) -> int:
        """Orders waiting, counted per SKU (an order waiting for two such SKUs counts twice)."""
        return sum(r.orders_waiting for r in self.rows)


def kpi_stock_outs(*, suggestions: Sequence[Suggestion] | None = None) -> StockOuts:
    """SKUs with units waiting on backorder (orders' ``waiting_lines``) and no units on the way:
    nothing outstanding on a sent or partly received purchase order, in any warehouse (a
    backorder takes stock from any warehouse). Units on drafts are shown, but a draft is not on
    the way until it is sent. The preferred supplier is replenishment's (``suggestions``). 3
    queries (+ replenishment's when ``suggestions`` is not given)."""
    waiting = backorders_by_product()
    if not waiting:
        return StockOuts(rows=[])
    if suggestions is None:
        suggestions = replenishment_suggestions(only_needed=False)
    outstanding = F("quantity") - F("quantity_received")
    sent = Q(purchase_order__status__in=OPEN_STATUSES)
    on_order = {
        pid: (on_the_way, in_drafts)
        for pid, on_the_way, in_drafts in PurchaseOrderLine.objects.filter(
            Q(purchase_order__status__in=OPEN_STATUSES) | Q(purchase_order__status=S.DRAFT),
            product_id__in=list(waiting),
            quantity__gt=F("quantity_received"),
        )
        .values_list("product_id")
        .annotate(
            on_the_way=Sum(outstanding, filter=sent, default=0),
            in_drafts=Sum(outstanding, filter=~sent, default=0),
        )
        .order_by()
    }
    out = [pid for pid in waiting if not on_order.get(pid, (0, 0))[0]]
    suppliers = {s.product_id: s.supplier for s in suggestions if s.supplier}
    products = {
        pk: (sku, name)
        for pk, sku, name in Product.objects.filter(pk__in=out).values_list("pk", "sku", "name")
    }
    rows = [
        StockOutRow(
            sku=products[pid][0],
            name=products[pid][1],
            units_waiting=waiting[pid][0],
            orders_waiting=waiting[pid][1],
            waiting_since=waiting[pid][2],
            in_drafts=int(on_order.get(pid, (0, 0))[1]),
            supplier=suppliers.get(pid),
        )
        for pid in out
        if pid in products
    ]
    rows.sort(key=lambda r: (r.waiting_since, r.sku))
    return StockOuts(rows=rows)
