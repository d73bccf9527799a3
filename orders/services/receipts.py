"""Receipts: stock booked in, and the backorders it fills, in one transaction."""

from collections.abc import Sequence

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction

from inventory.locks import stock_levels_for_update
from inventory.models import Product, StockMovement, Warehouse
from inventory.services import stock_receive

from ..locks import StockArrival, stock_arrival_lock
from ..models import Order
from .backorders import _fill


def stock_receipt_record(
    *,
    warehouse: Warehouse,
    lines: Sequence[tuple[Product, int]],
    user: User | AnonymousUser | None = None,
    reference: str = "",
) -> tuple[list[StockMovement], list[Order]]:
    """Receive stock into a warehouse and fill the backorders it allows, in one transaction.

    Returns (ledger movements, orders that got stock).
    """
    product_ids = {product.pk for product, _ in lines}
    with transaction.atomic():
        # The stock-arrival lock order: the waiting orders, then every stock row of the
        # received products in every warehouse (orders.locks).
        ensure = [(warehouse, [product for product, _ in lines])] if warehouse.is_active else []
        arrival = stock_arrival_lock(product_ids=product_ids, ensure=ensure)
        movements = stock_receive(warehouse=warehouse, lines=lines, user=user, reference=reference)
        filled = stock_arrival_fill(arrival=arrival, product_ids=product_ids, user=user)
    return movements, filled


def stock_arrival_fill(
    *,
    arrival: StockArrival,
    product_ids: set[int],
    user: User | AnonymousUser | None = None,
) -> list[Order]:
    """The stock of ``product_ids`` was booked in under ``arrival``'s locks (taken before it,
    ``orders.locks.stock_arrival_lock``): give it to the waiting orders, oldest first, in the
    same transaction. Returns the orders that got stock."""
    # Read again (already locked): the receipt changed on_hand.
    levels = list(stock_levels_for_update(product_ids=product_ids)) if arrival.orders else []
    return _fill(arrival.orders, levels, product_ids, user=user)
