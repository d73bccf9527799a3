"""Row locks on purchase orders and their lines: the one place for both (Saleor's
``lock_objects.py``).

Lock order: purchase orders (by id), then their lines (by id), then what receiving touches —
the orders waiting for the products (``orders.locks.stock_arrival_lock``, reached through
``inventory.signals.stock_arriving``) and the stock rows (by id). Purchase orders come before
orders: purchasing sits below orders and nothing that holds an order lock ever locks a
purchase order (docs/decisions.md).

``no_key=True`` (PostgreSQL ``FOR NO KEY UPDATE``): a purchase order's key never changes, and
this lock does not block the ``FOR KEY SHARE`` lock that inserting a row pointing to it (an
event) takes. On SQLite ``select_for_update`` is a no-op; IMMEDIATE transactions serialise
writers.
"""

from collections.abc import Sequence

from .models import PurchaseOrder, PurchaseOrderLine


def purchase_order_for_update(
    purchase_order_id: int, *, related: Sequence[str] = ("supplier", "warehouse")
) -> PurchaseOrder:
    """Lock one purchase order and return a fresh copy of it, with ``related`` loaded."""
    qs = PurchaseOrder.objects.select_for_update(of=("self",), no_key=True)
    if related:
        qs = qs.select_related(*related)
    purchase_order: PurchaseOrder = qs.get(pk=purchase_order_id)
    return purchase_order


def purchase_order_lines_for_update(purchase_order_id: int) -> list[PurchaseOrderLine]:
    """Lock the lines of one purchase order (by id) and return them, products loaded. Take
    the purchase order's lock first."""
    return list(
        PurchaseOrderLine.objects.filter(purchase_order_id=purchase_order_id)
        .select_related("product")
        .order_by("pk")
        .select_for_update(of=("self",), no_key=True)
    )
