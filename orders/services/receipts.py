"""Receipts: stock booked in, and the backorders it fills, in one transaction."""

from collections.abc import Sequence

from django.db import transaction

from inventory.locks import stock_levels_for_update
from inventory.models import Product, Warehouse
from inventory.services import (
    stock_levels_ensure,
    stock_receive,
)

from ..models import (
    Order,
)
from .backorders import _backordered_order_ids, _fill


def stock_receipt_record(
    *, warehouse: Warehouse, lines: Sequence[tuple[Product, int]], user=None, reference: str = ""
):
    """Receive stock into a warehouse and fill the backorders it allows, in one transaction.

    Returns (ledger movements, orders that got stock).
    """
    product_ids = {product.pk for product, _ in lines}
    with transaction.atomic():
        order_ids = _backordered_order_ids(product_ids)
        # Lock order: the backordered orders first, then every stock row of the received
        # products in every warehouse, in id order, at once. stock_receive locks only this
        # warehouse's rows and _fill all warehouses' rows: taken one after the other, a lower
        # id could be locked after a higher one, and a concurrent order would deadlock with us.
        list(
            Order.objects.filter(pk__in=order_ids)
            .order_by("pk")
            .select_for_update(of=("self",), no_key=True)
        )
        if lines and warehouse.is_active:
            stock_levels_ensure(warehouse=warehouse, products=[product for product, _ in lines])
            list(stock_levels_for_update(product_ids=product_ids))
        movements = stock_receive(warehouse=warehouse, lines=lines, user=user, reference=reference)
        filled = _fill(order_ids, product_ids, user=user)
    return movements, filled
