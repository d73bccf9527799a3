"""Selectors of the managers' dashboard: one ``kpi_<name>(*, start, end, ...)`` function per figure.

Conventions shared by every function:

- ``start`` and ``end`` are dates, both **inclusive**, read in the site's time zone
  (``settings.TIME_ZONE``): the range covers ``start 00:00`` up to (not including)
  ``end + 1 day 00:00`` local time.
- Every figure is aggregated in the database. Each function runs a **constant number of
  queries** whatever the number of orders (documented per function); Python only loops over
  the grouped rows (days, channels, reasons, stock levels), never over orders.
- Rates are fractions between 0 and 1, or ``None`` when the denominator is zero
  (nothing to measure), never a division error.
- Each function returns a frozen dataclass of numbers, dates and rows (``KpiResult``), nothing
  written for people: the definitions, the table headers and the formatted cells of the page
  and of the CSV export are ``reports.formatting``'s (``DEFINITIONS``, ``table(result)``).
- The SQL is portable (SQLite and PostgreSQL); where PostgreSQL has something better
  (``percentile_cont``, ``jsonb_each_text``) it is used, with an equivalent SQLite form.

Percentiles (cycle time): on PostgreSQL ``percentile_cont(p) WITHIN GROUP (ORDER BY d)`` in
the same aggregate query as the counts (1 query); elsewhere the count comes first, then each
percentile reads the two sorted durations around position ``p × (n − 1)`` with
``ORDER BY d LIMIT 2 OFFSET k`` and interpolates linearly (1 + 2 queries) — the same
definition as ``percentile_cont``, so both databases give the same answer.

Speed (issue 7: the whole dashboard for 90 days under 1 s with 1,000,000 orders; figures in
docs/benchmarks.md, ``bench/scale.py``): ranges filter the column itself (``bounds()``), not
a function of it; the orders concerned are found through indexes on what the range is about
(``shipment_delivered_order``, ``order_promised_ship``, ``order_open_promised``) and bounded
below by the lowest order id concerned, so older orders are never read; per-order facts
(cancelled line, backorder event, claim, late shipment) are read once as a set and joined or
probed (``IN``), not looked up by one subquery per order.
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import (
    Aggregate,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    FilteredRelation,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import TruncDate
from django.utils import timezone

from fulfillment.models import Shipment
from inventory.models import MovementKind, StockLevel, StockMovement
from orders.models import EventType, Order, OrderEvent, OrderLine, OrderStatus
from returns.models import VOID_STATUSES, ReturnLine, ReturnReason

MAX_RANGE_DAYS = 366
# Return reasons that make an order imperfect (our fault, not the customer's choice).
CLAIM_REASONS = (
    ReturnReason.DAMAGED_IN_TRANSIT,
    ReturnReason.WRONG_ITEM,
    ReturnReason.DEFECTIVE,
)
CYCLE_BUCKETS = (  # (label, upper bound in days, exclusive); None = no upper bound
    ("< 1 day", 1),
    ("1–2 days", 2),
    ("2–3 days", 3),
    ("3–5 days", 5),
    ("5–7 days", 7),
    ("7–14 days", 14),
    ("14 days or more", None),
)


# --- helpers -------------------------------------------------------------------------------
def bounds(start: datetime.date, end: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """Aware datetimes ``[start 00:00, end + 1 day 00:00)`` in the current time zone."""
    tz = timezone.get_current_timezone()
    first = datetime.datetime.combine(start, datetime.time.min)
    after = datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time.min)
    return timezone.make_aware(first, tz), timezone.make_aware(after, tz)


def days_between(start: datetime.date, end: datetime.date) -> list[datetime.date]:
    return [start + datetime.timedelta(days=i) for i in range((end - start).days + 1)]


def ratio(part: float | Decimal | None, whole: float | Decimal | None) -> float | None:
    """``part / whole`` or ``None`` when ``whole`` is zero or unknown."""
    if not whole:
        return None
    return float(part or 0) / float(whole)


def _as_date(value: object) -> datetime.date:
    # TruncDate gives dates on PostgreSQL and on SQLite; keep strings safe anyway.
    return value if isinstance(value, datetime.date) else datetime.date.fromisoformat(str(value))


class PercentileCont(Aggregate):
    """PostgreSQL's ``percentile_cont(fraction) WITHIN GROUP (ORDER BY expression)``."""

    function = "percentile_cont"
    name = "PercentileCont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    allow_distinct = False

    def __init__(self, expression: Any, *, fraction: float, **extra: Any) -> None:
        if not 0 <= fraction <= 1:
            raise ValueError("fraction must lie between 0 and 1")
        super().__init__(expression, fraction=repr(float(fraction)), **extra)


def _interpolate(values: list[Any], position: float) -> Any:
    lower = math.floor(position)
    frac = position - lower
    if len(values) == 1 or frac == 0:
        return values[0]
    return values[0] + (values[1] - values[0]) * frac


def _percentile_by_offset(ordered_values: QuerySet[Any, Any], n: int, fraction: float) -> Any:
    """percentile_cont over an ordered values queryset of ``n`` rows: one LIMIT 2 OFFSET k query."""
    position = fraction * (n - 1)
    lower = math.floor(position)
    return _interpolate(list(ordered_values[lower : lower + 2]), position)


def _delivered_orders(
    start: datetime.date, end: datetime.date
) -> tuple[QuerySet[Order], int | None]:
    """Orders delivered (every shipment delivered) whose last delivery lies in the range,
    annotated with ``delivered`` (that last ``Shipment.delivered_at``), and the lowest id
    among them (``None`` when nothing was delivered in the range: the queryset is then empty
    and runs no query). 1 query (that lowest id), then the queryset.

    "The last delivery lies in ``[first, after)``" is read as "a shipment was delivered in the
    range and none on or after ``after``" — the same orders — so the query starts from the
    shipments delivered in the range (index ``shipment_delivered_order``), and the maximum over
    those shipments is the order's last delivery. Those orders all have an id at least the
    lowest ``order_id`` of those shipments: that bound lets the database read the orders (and
    their lines, events, returns) by id range instead of every delivered order ever."""
    first, after = bounds(start, end)
    in_range = Q(delivered_at__gte=first, delivered_at__lt=after)
    # With the count beside it, PostgreSQL reads MIN from the delivered_at index range; a lone
    # MIN would walk the order_id index filtering on delivered_at (most of the table).
    found = Shipment.objects.filter(in_range).aggregate(lowest=Min("order_id"), n=Count("pk"))
    later = Shipment.objects.filter(order=OuterRef("pk"), delivered_at__gte=after)
    orders = (
        Order.objects.filter(
            status=OrderStatus.DELIVERED,
            shipments__delivered_at__gte=first,
            shipments__delivered_at__lt=after,
        )
        .filter(~Exists(later))
        .annotate(delivered=Max("shipments__delivered_at"))
    )
    if not found["n"]:
        return orders.none(), None
    return orders.filter(pk__gte=found["lowest"]), found["lowest"]


def _checked_orders(start: datetime.date, end: datetime.date) -> QuerySet[Any]:
    """Orders placed in the range that had an inventory check (an ALLOCATED or BACKORDERED
    event), annotated with ``was_backordered`` (a BACKORDERED event exists)."""
    first, after = bounds(start, end)
    events = OrderEvent.objects.filter(order=OuterRef("pk"))
    checked: QuerySet[Any] = (
        Order.objects.filter(placed_at__gte=first, placed_at__lt=after)
        .filter(Exists(events.filter(type__in=[EventType.ALLOCATED, EventType.BACKORDERED])))
        .annotate(was_backordered=Exists(events.filter(type=EventType.BACKORDERED)))
    )
    return checked


# --- orders per day by channel ------------------------------------------------------------
@dataclass(frozen=True)
class OrdersPerDay:
    days: list[datetime.date]
    channels: list[str]
    counts: dict[tuple[datetime.date, str], int]
    total: int

    def series(self) -> list[tuple[str, list[int]]]:
        return [(ch, [self.counts.get((d, ch), 0) for d in self.days]) for ch in self.channels]


def kpi_orders_per_day(*, start: datetime.date, end: datetime.date) -> OrdersPerDay:
    """Orders placed per day and channel (``Order.placed_at`` in the range, grouped by its
    local date and ``Order.channel``). 1 query."""
    first, after = bounds(start, end)
    rows = (
        Order.objects.filter(placed_at__gte=first, placed_at__lt=after)
        .annotate(day=TruncDate("placed_at"))
        .values("day", "channel__name")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts: dict[tuple[datetime.date, str], int] = {}
    for row in rows:
        key = (_as_date(row["day"]), row["channel__name"])
        counts[key] = counts.get(key, 0) + row["n"]
    channels = sorted({ch for _d, ch in counts})
    return OrdersPerDay(
        days=days_between(start, end),
        channels=channels,
        counts=counts,
        total=sum(counts.values()),
    )


# --- order cycle time -----------------------------------------------------------------------
@dataclass(frozen=True)
class CycleTime:
    orders: int
    median: datetime.timedelta | None
    p90: datetime.timedelta | None
    buckets: list[tuple[str, int]] = field(default_factory=list)


def _cycle_durations(start: datetime.date, end: datetime.date) -> QuerySet[Any]:
    orders, _lowest = _delivered_orders(start, end)
    return orders.annotate(
        duration=ExpressionWrapper(F("delivered") - F("placed_at"), output_field=DurationField())
    )


def kpi_cycle_time(*, start: datetime.date, end: datetime.date) -> CycleTime:
    """Placed → delivered durations of the orders delivered in the range: count, median,
    90th percentile and a histogram. 2 queries on PostgreSQL, 4 elsewhere (see module doc and
    ``_delivered_orders``); 1 when nothing was delivered in the range."""
    qs = _cycle_durations(start, end)
    aggregates: dict[str, Aggregate] = {"n": Count("pk")}
    lower = datetime.timedelta(0)
    for i, (_label, upper) in enumerate(CYCLE_BUCKETS):
        cond = Q(duration__gte=lower)
        if upper is not None:
            cond &= Q(duration__lt=datetime.timedelta(days=upper))
            lower = datetime.timedelta(days=upper)
        aggregates[f"b{i}"] = Count("pk", filter=cond)
    postgres = connection.vendor == "postgresql"
    if postgres:
        aggregates["p50"] = PercentileCont("duration", fraction=0.5, output_field=DurationField())
        aggregates["p90"] = PercentileCont("duration", fraction=0.9, output_field=DurationField())
    result = qs.aggregate(**aggregates)
    n = result["n"]
    buckets = [(label, result[f"b{i}"]) for i, (label, _u) in enumerate(CYCLE_BUCKETS)]
    if not n:
        return CycleTime(orders=0, median=None, p90=None, buckets=buckets)
    if postgres:
        median, p90 = result["p50"], result["p90"]
    else:
        ordered = qs.order_by("duration", "pk").values_list("duration", flat=True)
        median, p90 = (_percentile_by_offset(ordered, n, p) for p in (0.5, 0.9))
    return CycleTime(orders=n, median=median, p90=p90, buckets=buckets)


# --- on-time shipment ------------------------------------------------------------------------
SHIPPED_STATUSES = [OrderStatus.SHIPPED, OrderStatus.DELIVERED]


@dataclass(frozen=True)
class OnTimeShipment:
    orders: int
    on_time: int
    days: list[tuple[datetime.date, int, int]]  # (promised date, orders, on time)

    @property
    def rate(self) -> float | None:
        return ratio(self.on_time, self.orders)


def kpi_on_time_shipment(
    *, start: datetime.date, end: datetime.date, today: datetime.date | None = None
) -> OnTimeShipment:
    """On-time shipment rate by promised ship date (``Order.promised_ship_date`` in the
    range; shipments' ``shipped_at`` compared by local date). ``today`` defaults to the local
    date. 2 queries (1 when no order is promised in the range).

    The late shipments are joined (``LEFT JOIN`` on the order's shipments handed over after
    its promised date) rather than looked up order by order; the join only reads shipments
    from the lowest id of the orders promised in the range on (index
    ``shipment_order_shipped``, read alone). An order without a late shipment has one row,
    whose joined ``shipped_at`` is null; one with several late shipments has several rows,
    hence the distinct count (it is not on time, so ``ok`` never counts it)."""
    today = today or timezone.localdate()
    promised = Order.objects.filter(promised_ship_date__gte=start, promised_ship_date__lte=end)
    # With the count beside it, PostgreSQL reads MIN from the promised_ship_date index range.
    found = promised.aggregate(lowest=Min("pk"), n=Count("pk"))
    if not found["n"]:
        return OnTimeShipment(orders=0, on_time=0, days=[])
    late_shipments = FilteredRelation(
        "shipments",
        condition=Q(
            shipments__order_id__gte=found["lowest"],
            shipments__shipped_at__isnull=False,
            shipments__shipped_at__date__gt=F("promised_ship_date"),
        ),
    )
    shipped = Q(status__in=SHIPPED_STATUSES)
    rows = (
        promised.exclude(status=OrderStatus.CANCELLED)
        .filter(shipped | Q(promised_ship_date__lt=today))
        .annotate(late_shipment=late_shipments)
        .values("promised_ship_date")
        .annotate(
            n=Count("pk", distinct=True),
            ok=Count("pk", filter=shipped & Q(late_shipment__shipped_at__isnull=True)),
        )
        .order_by("promised_ship_date")
    )
    days = [(_as_date(r["promised_ship_date"]), r["n"], r["ok"]) for r in rows]
    return OnTimeShipment(
        orders=sum(n for _d, n, _ok in days), on_time=sum(ok for _d, _n, ok in days), days=days
    )


# --- fill rate at first inventory check, backorder rate ---------------------------------------
def _units_short_sql() -> str:
    """SQL summing the values of the ``lines`` object ({sku: units short}) of an event row."""
    table = OrderEvent._meta.db_table
    if connection.vendor == "postgresql":
        return (
            "(SELECT COALESCE(SUM((j.value)::integer), 0) "
            f'FROM jsonb_each_text("{table}"."details" -> \'lines\') AS j)'
        )
    return (
        "(SELECT COALESCE(SUM(CAST(j.value AS INTEGER)), 0) "
        f'FROM json_each("{table}"."details", \'$.lines\') AS j)'
    )


@dataclass(frozen=True)
class FillRate:
    channels: list[tuple[str, int, int, int, int]]  # (channel, orders, filled, units, short)

    @property
    def orders(self) -> int:
        return sum(c[1] for c in self.channels)

    @property
    def orders_filled(self) -> int:
        return sum(c[2] for c in self.channels)

    @property
    def units(self) -> int:
        return sum(c[3] for c in self.channels)

    @property
    def units_short(self) -> int:
        return sum(c[4] for c in self.channels)

    @property
    def order_fill_rate(self) -> float | None:
        return ratio(self.orders_filled, self.orders)

    @property
    def unit_fill_rate(self) -> float | None:
        r = ratio(self.units_short, self.units)
        return None if r is None else 1 - r


def kpi_fill_rate(*, start: datetime.date, end: datetime.date) -> FillRate:
    """Order and unit fill rate at the first inventory check, per channel, for orders placed
    in the range (defined in ``reports.formatting.DEFINITIONS``). An order fully reserved at
    its first check never becomes backordered later (``Order.mark_backordered`` only leaves
    confirmed or backordered), so "no BACKORDERED event" means "filled at the first check".
    3 queries."""
    checked = _checked_orders(start, end)
    per_channel = (
        checked.values("channel__name")
        .annotate(n=Count("pk"), filled=Count("pk", filter=Q(was_backordered=False)))
        .order_by("channel__name")
    )
    units = dict(
        OrderLine.objects.filter(order__in=checked.values("pk"), substituted_from__isnull=True)
        .values("order__channel__name")
        .annotate(units=Sum("quantity"))
        .values_list("order__channel__name", "units")
        .order_by()
    )
    earlier = OrderEvent.objects.filter(
        order=OuterRef("order"), type=EventType.BACKORDERED, pk__lt=OuterRef("pk")
    )
    short = dict(
        OrderEvent.objects.filter(type=EventType.BACKORDERED, order__in=checked.values("pk"))
        .filter(~Exists(earlier))
        .annotate(short=RawSQL(_units_short_sql(), [], output_field=IntegerField()))
        .values("order__channel__name")
        .annotate(units=Sum("short"))
        .values_list("order__channel__name", "units")
        .order_by()
    )
    channels = [
        (
            r["channel__name"],
            r["n"],
            r["filled"],
            units.get(r["channel__name"]) or 0,
            short.get(r["channel__name"]) or 0,
        )
        for r in per_channel
    ]
    return FillRate(channels=channels)


@dataclass(frozen=True)
class BackorderRate:
    days: list[tuple[datetime.date, int, int]]  # (day placed, orders checked, backordered)
    units_waiting: int

    @property
    def orders(self) -> int:
        return sum(n for _d, n, _b in self.days)

    @property
    def backordered(self) -> int:
        return sum(b for _d, _n, b in self.days)

    @property
    def rate(self) -> float | None:
        return ratio(self.backordered, self.orders)


def kpi_backorder_rate(*, start: datetime.date, end: datetime.date) -> BackorderRate:
    """Backorder rate of the orders placed in the range, per day placed, and the units of
    those orders still waiting for stock. 2 queries."""
    checked = _checked_orders(start, end)
    rows = (
        checked.annotate(day=TruncDate("placed_at"))
        .values("day")
        .annotate(n=Count("pk"), b=Count("pk", filter=Q(was_backordered=True)))
        .order_by("day")
    )
    found = {_as_date(r["day"]): (r["n"], r["b"]) for r in rows}
    days = [(d, *found[d]) for d in days_between(start, end) if d in found]
    waiting = OrderLine.objects.filter(
        order__in=checked.filter(was_backordered=True).values("pk")
    ).aggregate(
        units=Sum(
            F("quantity")
            - F("quantity_allocated")
            - F("quantity_shipped")
            - F("quantity_cancelled")
        )
    )["units"]
    return BackorderRate(days=days, units_waiting=waiting or 0)


# --- perfect order rate ----------------------------------------------------------------------
@dataclass(frozen=True)
class PerfectOrders:
    orders: int
    perfect: int
    late: int
    incomplete: int
    claimed: int

    @property
    def rate(self) -> float | None:
        return ratio(self.perfect, self.orders)


def kpi_perfect_orders(*, start: datetime.date, end: datetime.date) -> PerfectOrders:
    """Perfect order rate of the orders delivered in the range, with the count failing each
    test (defined in ``reports.formatting.DEFINITIONS``). 2 queries (1 when nothing was
    delivered)."""
    orders, lowest = _delivered_orders(start, end)
    # The orders with a cancelled line, a BACKORDERED event, a claim: each set read once (from
    # the lowest delivered order id on) and probed per order, not one subquery per order.
    recent = {"order_id__gte": lowest or 0}
    cancelled_line = OrderLine.objects.filter(quantity_cancelled__gt=0, **recent)
    backordered = OrderEvent.objects.filter(type=EventType.BACKORDERED, **recent)
    claim = ReturnLine.objects.filter(
        return_request__order_id__gte=lowest or 0, reason__in=CLAIM_REASONS
    ).exclude(return_request__status__in=VOID_STATUSES)
    # Every shipment delivered by the estimated date <=> the last delivery (``delivered``)
    # was; a shipment's delivered_at is set only when it is delivered.
    qs = orders.annotate(
        delivered_day=TruncDate("delivered"),
        delivered_late=Q(delivered_day__gt=F("estimated_delivery_date")),
        no_estimate=Q(estimated_delivery_date__isnull=True),
        has_cancelled=Q(pk__in=cancelled_line.values("order_id")),
        was_backordered=Q(pk__in=backordered.values("order_id")),
        has_claim=Q(pk__in=claim.values("return_request__order_id")),
    )
    late_q = Q(delivered_late=True) | Q(no_estimate=True)
    incomplete_q = Q(has_cancelled=True) | Q(was_backordered=True)
    claim_q = Q(has_claim=True)
    result = qs.aggregate(
        n=Count("pk"),
        late=Count("pk", filter=late_q),
        incomplete=Count("pk", filter=incomplete_q),
        claimed=Count("pk", filter=claim_q),
        perfect=Count("pk", filter=~late_q & ~incomplete_q & ~claim_q),
    )
    return PerfectOrders(
        orders=result["n"],
        perfect=result["perfect"],
        late=result["late"],
        incomplete=result["incomplete"],
        claimed=result["claimed"],
    )


# --- return rate by reason -------------------------------------------------------------------
@dataclass(frozen=True)
class ReturnRate:
    reasons: list[tuple[str, str, int, int]]  # (reason code, label, units, returns)
    units_shipped: int

    @property
    def units(self) -> int:
        return sum(r[2] for r in self.reasons)

    @property
    def rate(self) -> float | None:
        return ratio(self.units, self.units_shipped)


def kpi_return_rate(*, start: datetime.date, end: datetime.date) -> ReturnRate:
    """Return rate by reason: ``ReturnLine.quantity`` of returns created in the range, per
    ``reason``, over units shipped in the range. Every reason is listed (zero when none).
    2 queries."""
    first, after = bounds(start, end)
    rows = (
        ReturnLine.objects.filter(
            return_request__created_at__gte=first, return_request__created_at__lt=after
        )
        .exclude(return_request__status__in=VOID_STATUSES)
        .values("reason")
        .annotate(units=Sum("quantity"), returns=Count("return_request", distinct=True))
        .order_by()
    )
    found = {r["reason"]: (r["units"], r["returns"]) for r in rows}
    shipped = StockMovement.objects.filter(
        kind=MovementKind.SHIPMENT, created_at__gte=first, created_at__lt=after
    ).aggregate(units=Sum("quantity"))["units"]
    reasons = [(code, label, *found.get(code, (0, 0))) for code, label in ReturnReason.choices]
    return ReturnRate(reasons=reasons, units_shipped=-(shipped or 0))


# --- inventory turnover and days of inventory --------------------------------------------------
@dataclass(frozen=True)
class StockTurn:
    product_sku: str
    product_name: str
    warehouse: str
    on_hand_start: int
    on_hand_end: int
    cost_price: Decimal
    units_shipped: int
    days: int

    @property
    def cogs(self) -> Decimal:
        return self.units_shipped * self.cost_price

    @property
    def average_value(self) -> Decimal:
        return (self.on_hand_start + self.on_hand_end) * self.cost_price / 2

    @property
    def turnover(self) -> float | None:
        return ratio(self.cogs, self.average_value)

    @property
    def days_of_inventory(self) -> float | None:
        if not self.cogs:
            return None
        return float(self.average_value) / (float(self.cogs) / self.days)


@dataclass(frozen=True)
class InventoryTurnover:
    rows: list[StockTurn]
    days: int

    @property
    def cogs(self) -> Decimal:
        return sum((r.cogs for r in self.rows), Decimal("0"))

    @property
    def average_value(self) -> Decimal:
        return sum((r.average_value for r in self.rows), Decimal("0"))

    @property
    def turnover(self) -> float | None:
        return ratio(self.cogs, self.average_value)

    @property
    def days_of_inventory(self) -> float | None:
        if not self.cogs:
            return None
        return float(self.average_value) / (float(self.cogs) / self.days)

    def warehouses(self) -> list[tuple[str, Decimal, Decimal, float | None, float | None]]:
        """(warehouse, COGS, average value, turnover, days of inventory) per warehouse."""
        totals: dict[str, list[Decimal]] = {}
        for r in self.rows:
            t = totals.setdefault(r.warehouse, [Decimal("0"), Decimal("0")])
            t[0] += r.cogs
            t[1] += r.average_value
        out = []
        for code, (cogs, value) in sorted(totals.items()):
            doi = float(value) / (float(cogs) / self.days) if cogs else None
            out.append((code, cogs, value, ratio(cogs, value), doi))
        return out


def kpi_inventory_turnover(*, start: datetime.date, end: datetime.date) -> InventoryTurnover:
    """Inventory turnover and days of inventory per product and warehouse (see
    ``reports.formatting.DEFINITIONS``). On hand at the start = on hand now − movements
    since the start; at the end = on hand now − movements after the end. Stock rows with
    nothing on hand and nothing shipped in the range are left out. Rows are sorted by COGS,
    highest first. 2 queries (stock levels; ledger movements since the start, grouped by stock
    level)."""
    first, after = bounds(start, end)
    moved = {
        r["stock_level"]: r
        for r in StockMovement.objects.filter(created_at__gte=first)
        .values("stock_level")
        .annotate(
            since_start=Sum("quantity"),
            after_end=Sum("quantity", filter=Q(created_at__gte=after), default=0),
            shipped=Sum(
                "quantity",
                filter=Q(kind=MovementKind.SHIPMENT, created_at__lt=after),
                default=0,
            ),
        )
        .order_by()
    }
    days = (end - start).days + 1
    rows = []
    levels = StockLevel.objects.values_list(
        "pk", "on_hand", "product__sku", "product__name", "product__cost_price", "warehouse__code"
    ).order_by()
    for pk, on_hand, sku, name, cost, warehouse in levels:
        m = moved.get(pk)
        start_units = on_hand - (m["since_start"] if m else 0)
        end_units = on_hand - (m["after_end"] if m else 0)
        shipped = -(m["shipped"] if m else 0)
        if not (start_units or end_units or shipped):
            continue
        rows.append(StockTurn(sku, name, warehouse, start_units, end_units, cost, shipped, days))
    rows.sort(key=lambda r: (-r.cogs, -r.average_value, r.product_sku, r.warehouse))
    return InventoryTurnover(rows=rows, days=days)


# --- late orders now -----------------------------------------------------------------------------
@dataclass(frozen=True)
class LateOrders:
    count: int
    by_status: list[tuple[str, int]]  # (status label, orders)
    orders: list[dict[str, Any]]
    today: datetime.date


def kpi_late_orders(
    *,
    start: datetime.date | None = None,
    end: datetime.date | None = None,
    today: datetime.date | None = None,
    limit: int | None = 100,
) -> LateOrders:
    """Open orders past their promised ship date, now. ``start`` and ``end`` are accepted for
    a uniform signature and ignored. ``limit`` caps the listed orders (oldest promise first;
    ``None`` = all, for the CSV export); the count and the per-status figures cover every
    late order (``Order.objects.late()``: the order desk's "Late only" counts the same
    orders). 2 queries."""
    today = today or timezone.localdate()
    late = Order.objects.late(today=today)
    by_status = dict(
        late.values("status").annotate(n=Count("pk")).values_list("status", "n").order_by()
    )
    listed = late.order_by("promised_ship_date", "placed_at", "pk").values(
        "pk",
        "number",
        "channel__name",
        "status",
        "placed_at",
        "promised_ship_date",
        "late_since",
    )
    if limit is not None:
        listed = listed[:limit]
    orders = []
    for o in listed:
        o["days_late"] = (today - o["promised_ship_date"]).days
        orders.append(o)
    return LateOrders(
        count=sum(by_status.values()),
        by_status=[(st.label, by_status[st]) for st in OrderStatus if st in by_status],
        orders=orders,
        today=today,
    )


# What every ``kpi_<name>`` function returns; ``reports.formatting`` writes it for people.
KpiResult = (
    OrdersPerDay
    | CycleTime
    | OnTimeShipment
    | FillRate
    | BackorderRate
    | PerfectOrders
    | ReturnRate
    | InventoryTurnover
    | LateOrders
)
