"""Backorders: filling waiting orders, oldest first, when stock is free."""

from collections import defaultdict
from collections.abc import Iterable

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from inventory.models import Product, StockLevel
from inventory.services import (
    Reservation,
    stock_reserve,
)

from .. import events
from ..locks import stock_arrival_lock
from ..models import (
    Order,
    OrderLine,
    OrderStatus,
)
from ..signals import orders_allocated
from .allocation import _allocation_sites, _levels_of, _lines_update_allocated, _plan_order, _settle


# --- backorders --------------------------------------------------------------------------------
def _fill(
    orders: list[Order], levels: list[StockLevel], product_ids: set[int], *, user
) -> list[Order]:
    """Fill backorders of ``product_ids``, oldest order first: ``orders`` and ``levels`` are
    the waiting orders and the stock rows, locked (``orders.locks.stock_arrival_lock``).

    Every order is planned in memory against the locked stock rows (the same policy as one
    order's allocation), then everything is written at once: one reservation, one update of
    lines per increment, one update of orders per outcome, one batched shipment creation, one
    events INSERT. The number of statements does not grow with the number of orders."""
    if not orders:
        return []
    candidates = [
        order
        for order in sorted(orders, key=lambda o: (o.placed_at, o.pk))
        if order.status == OrderStatus.BACKORDERED
    ]
    if not candidates or not any(level.available > 0 for level in levels):
        return []
    lines: dict[int, list[OrderLine]] = defaultdict(list)
    for line in OrderLine.objects.filter(order_id__in=[o.pk for o in candidates]).select_related(
        "product"
    ):
        lines[line.order_id].append(line)
    sites = _allocation_sites(o.pk for o in candidates)

    planned: list[tuple[Order, list[Reservation]]] = []
    held: dict[int, int] = defaultdict(int)
    for order in candidates:
        if not any(level.available > 0 for level in levels):
            break
        reservations = _plan_order(
            order, lines[order.pk], levels=levels, product_ids=product_ids, sites=sites[order.pk]
        )
        if not reservations:
            continue
        for r in reservations:  # the next orders see what this one took
            r.stock_level.reserved += r.quantity
            held[r.stock_level.pk] += r.quantity
        planned.append((order, reservations))
    if not planned:
        return []
    for level in levels:  # stock_reserve adds them again, checks and writes
        level.reserved -= held.get(level.pk, 0)
    every = [r for _, reservations in planned for r in reservations]
    stock_reserve(reservations=every)

    now = timezone.now()
    new_events, allocated = [], []
    by_outcome: dict[tuple, list[int]] = defaultdict(list)
    for order, reservations in planned:
        previous, _save, built, _reserved = _settle(
            order, lines[order.pk], reservations, user=user, sites=sites[order.pk]
        )
        new_events.extend(built)
        order.updated_at = now
        outcome = (order.status, order.promised_ship_date, order.estimated_delivery_date)
        by_outcome[outcome].append(order.pk)
        if order.status == OrderStatus.ALLOCATED and previous != OrderStatus.ALLOCATED:
            allocated.append(order)
    _lines_update_allocated(every)
    for (status, ship, delivery), pks in by_outcome.items():
        # Each has a new promise (_settle): its late flag is cleared.
        Order.objects.filter(pk__in=pks).update(
            status=status,
            promised_ship_date=ship,
            estimated_delivery_date=delivery,
            late_since=None,
            late_notified=False,
            updated_at=now,
        )
    for order, _ in planned:
        order._update_initial_state()
    with events.collected():  # the shipments' history goes into the same INSERT
        events.events_save(
            new_events,
            known=events.Known(reserved_levels={order.pk: _levels_of(rs) for order, rs in planned}),
        )
        if allocated:
            orders_allocated.send(sender=Order, orders=allocated, user=user)
    return [order for order, _ in planned]


def backorders_fill(*, products: Iterable[Product], user=None) -> list[Order]:
    """Give available stock of ``products`` to backordered orders, oldest first."""
    product_ids = {p.pk for p in products}
    with transaction.atomic():
        arrival = stock_arrival_lock(product_ids=product_ids)
        return _fill(arrival.orders, arrival.levels, product_ids, user=user)


def backorders_sweep(*, product_ids: Iterable[int] | None = None, user=None) -> list[Order]:
    """Fill backorders wherever stock is free: after a cancellation released units, an
    adjustment added some, or a receipt raced with a placement (runs after their commit), and
    every few minutes as a safety net. Only products with both a backordered order and free
    stock in an active warehouse are looked at."""
    waiting = OrderLine.objects.filter(
        order__status=OrderStatus.BACKORDERED,
        quantity__gt=F("quantity_allocated") + F("quantity_shipped") + F("quantity_cancelled"),
    )
    if product_ids is not None:
        waiting = waiting.filter(product_id__in=list(product_ids))
    free = StockLevel.objects.filter(
        on_hand__gt=F("reserved"),
        warehouse__is_active=True,
        product_id__in=waiting.values("product_id"),
    ).values_list("product_id", flat=True)
    products = list(Product.objects.filter(pk__in=set(free)))
    if not products:
        return []
    return backorders_fill(products=products, user=user)
