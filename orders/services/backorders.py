"""Backorders: filling waiting orders, oldest first, when stock is free."""

from collections import defaultdict
from collections.abc import Iterable

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.db.models import F

from inventory.models import Product, StockLevel

from ..locks import stock_arrival_lock
from ..models import (
    Order,
    OrderLine,
    OrderStatus,
)
from .allocation import AllocationPlan, _allocation_sites, apply, plan


# --- backorders --------------------------------------------------------------------------------
def _fill(
    orders: list[Order],
    levels: list[StockLevel],
    product_ids: set[int],
    *,
    user: User | AnonymousUser | None,
) -> list[Order]:
    """Fill backorders of ``product_ids``, oldest order first: ``orders`` and ``levels`` are
    the waiting orders and the stock rows, locked (``orders.locks.stock_arrival_lock``).

    Every order is planned in memory against the locked stock rows (the same policy as one
    order's allocation), then everything is written at once (``allocation.apply``): one
    reservation, one update of lines per increment, one update of orders per outcome, one
    batched shipment creation, one events INSERT. The number of statements does not grow with
    the number of orders."""
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
    allocation_plan = plan(
        orders=[(order, lines[order.pk]) for order in candidates],
        levels=levels,
        sites=sites,
        product_ids=product_ids,
    )
    # Only the orders that get stock are written (the others stay as they are).
    filling = AllocationPlan(
        [planned for planned in allocation_plan.orders if planned.reservations]
    )
    if not filling.orders:
        return []
    return apply(filling, user=user).filled


def backorders_fill(
    *, products: Iterable[Product], user: User | AnonymousUser | None = None
) -> list[Order]:
    """Give available stock of ``products`` to backordered orders, oldest first."""
    product_ids = {p.pk for p in products}
    with transaction.atomic():
        arrival = stock_arrival_lock(product_ids=product_ids)
        return _fill(arrival.orders, arrival.levels, product_ids, user=user)


def backorders_sweep(
    *, product_ids: Iterable[int] | None = None, user: User | AnonymousUser | None = None
) -> list[Order]:
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
