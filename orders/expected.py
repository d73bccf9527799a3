"""Expected dates of backordered lines: when the missing units should arrive.

The open purchase orders (``sent`` or ``partially_received``; what is outstanding on each line,
``quantity - quantity_received``) are walked per product in the order they are expected
(earliest date first), and their units are promised to the backordered lines oldest order
first — the order the backorder fill gives stock in (``orders.services.backorders._fill``:
placed_at, then id). A line's ``expected_at`` is the date of the purchase order that brings its
last missing unit, or None when the units on order do not reach it.

The fill is not bound to a warehouse (a backorder takes stock from any active warehouse, by the
allocation policy), so the units on order in every warehouse count (docs/decisions.md).

Two queries for any number of orders (none when no line waits): the open purchase order lines of
the products, and the older backordered lines that come first."""

import datetime
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db.models import F, Q
from django.utils import timezone

from purchasing.models import OPEN_STATUSES, PurchaseOrderLine

from .models import Order, OrderLine, OrderStatus


@dataclass(frozen=True)
class ExpectedDates:
    """Expected dates of the backordered lines looked at, by line id (None: not on order)."""

    by_line: dict[int, datetime.date | None] = field(default_factory=dict)

    def of(self, line: OrderLine) -> datetime.date | None:
        return self.by_line.get(line.pk)

    def arrivals(self, lines: Iterable[OrderLine]) -> list[datetime.date | None]:
        """The expected dates of the backordered ``lines`` (None where nothing is on order)."""
        return [self.by_line.get(line.pk) for line in lines if line.quantity_backordered > 0]


def waiting_lines(
    orders: Iterable[tuple[Order, Iterable[OrderLine]]],
) -> list[tuple[Order, OrderLine]]:
    """The lines that wait for stock: backordered units of backordered orders (the only ones the
    fill gives stock to)."""
    return [
        (order, line)
        for order, lines in orders
        if order.status == OrderStatus.BACKORDERED
        for line in lines
        if line.quantity_backordered > 0
    ]


def _open_arrivals(
    product_ids: Iterable[int],
) -> dict[int, deque[tuple[int, datetime.date]]]:
    """Per product: (units still to come, expected date) of the open purchase orders, earliest
    first."""
    supply: dict[int, deque[tuple[int, datetime.date]]] = defaultdict(deque)
    rows = (
        PurchaseOrderLine.objects.filter(
            product_id__in=sorted(set(product_ids)),
            purchase_order__status__in=OPEN_STATUSES,
            quantity__gt=F("quantity_received"),
        )
        .order_by("purchase_order__expected_at", "purchase_order_id", "pk")
        .values_list("product_id", "quantity", "quantity_received", "purchase_order__expected_at")
    )
    for product_id, quantity, received, expected_at in rows:
        supply[product_id].append((quantity - received, expected_at))
    return supply


def expected_dates(orders: Sequence[tuple[Order, Sequence[OrderLine]]]) -> ExpectedDates:
    """The expected date of every backordered line of ``orders`` (each with its lines, as they
    are now: in memory, maybe not yet written)."""
    waiting = waiting_lines(orders)
    if not waiting:
        return ExpectedDates()
    result: dict[int, datetime.date | None] = {line.pk: None for _, line in waiting}
    supply = _open_arrivals(line.product_id for _, line in waiting)
    if not supply:
        return ExpectedDates(result)

    now = timezone.now()
    given = {order.pk for order, _ in waiting}
    newest_at, newest_pk = max((order.placed_at or now, order.pk) for order, _ in waiting)
    # (placed_at, order id, line id, product id, units waiting, one of ours)
    demand: list[tuple[datetime.datetime, int, int, int, int, bool]] = [
        (
            order.placed_at or now,
            order.pk,
            line.pk,
            line.product_id,
            line.quantity_backordered,
            True,
        )
        for order, line in waiting
        if line.product_id in supply
    ]
    older = (
        OrderLine.objects.filter(
            order__status=OrderStatus.BACKORDERED,
            product_id__in=sorted(supply),
            quantity__gt=F("quantity_allocated") + F("quantity_shipped") + F("quantity_cancelled"),
        )
        .filter(
            Q(order__placed_at__lt=newest_at)
            | Q(order__placed_at=newest_at, order_id__lt=newest_pk)
        )
        .exclude(order_id__in=sorted(given))
        .values_list(
            "order__placed_at",
            "order_id",
            "pk",
            "product_id",
            "quantity",
            "quantity_allocated",
            "quantity_shipped",
            "quantity_cancelled",
        )
    )
    for placed_at, order_id, pk, product_id, qty, allocated, shipped, cancelled in older:
        demand.append(
            (placed_at, order_id, pk, product_id, qty - allocated - shipped - cancelled, False)
        )

    demand.sort(key=lambda d: (d[0], d[1], d[2]))
    for _placed, _order, line_pk, product_id, need, ours in demand:
        queue = supply[product_id]
        date: datetime.date | None = None
        while need > 0 and queue:
            units, arrives = queue[0]
            take = min(units, need)
            need -= take
            date = arrives
            if take == units:
                queue.popleft()
            else:
                queue[0] = (units - take, arrives)
        if ours:
            result[line_pk] = date if need == 0 else None
    return ExpectedDates(result)
