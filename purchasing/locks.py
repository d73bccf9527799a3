"""Row locks on purchase orders, transfers and their lines: the one place for them (Saleor's
``lock_objects.py``).

Transfers keep the same order: the transfer, then its lines, then the stock rows (shipping:
the source's rows, by id) or what receiving touches (the waiting orders, then every stock row of
the products, through ``inventory.signals.stock_arriving``, as a purchase order receipt). Nothing
that holds an order or stock lock ever locks a transfer.

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

from .models import PurchaseOrder, PurchaseOrderLine, Transfer, TransferLine


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


def transfer_for_update(
    transfer_id: int, *, related: Sequence[str] = ("source", "destination")
) -> Transfer:
    """Lock one transfer and return a fresh copy of it, with ``related`` loaded."""
    qs = Transfer.objects.select_for_update(of=("self",), no_key=True)
    if related:
        qs = qs.select_related(*related)
    transfer: Transfer = qs.get(pk=transfer_id)
    return transfer


def transfer_lines_for_update(transfer_id: int) -> list[TransferLine]:
    """Lock the lines of one transfer (by id) and return them, products loaded. Take the
    transfer's lock first."""
    return list(
        TransferLine.objects.filter(transfer_id=transfer_id)
        .select_related("product")
        .order_by("pk")
        .select_for_update(of=("self",), no_key=True)
    )
