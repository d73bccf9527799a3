"""Row locks on stock, always taken in one order (by primary key) so that two transactions that
need the same rows wait for each other instead of deadlocking (Saleor's ``lock_objects.py``).

Callers lock every stock row they will touch in one call. Rows locked earlier in the same
transaction may be locked again; what must never happen is locking a lower id after a higher one.
On SQLite ``select_for_update`` is a no-op; the IMMEDIATE transaction mode serialises writers.

``no_key=True`` (PostgreSQL ``FOR NO KEY UPDATE``): we never change a stock row's key, and this
lock, unlike ``FOR UPDATE``, does not block the ``FOR KEY SHARE`` lock that PostgreSQL takes on
a referenced row when a row pointing to it is inserted (an allocation, a ledger row, a shipment
line). Without it, inserting a shipment line for a stock row held by another transaction waits
for that transaction, outside our id order — a deadlock.
"""

from collections.abc import Iterable

from .models import CycleCount, StockLevel


def stock_levels_for_update(*, ids: Iterable[int] | None = None, product_ids=None):
    qs = StockLevel.objects.all()
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    if product_ids is not None:
        qs = qs.filter(product_id__in=list(product_ids))
    return (
        qs.select_related("warehouse").order_by("pk").select_for_update(of=("self",), no_key=True)
    )


def cycle_count_for_update(cycle_count_id: int) -> CycleCount:
    """Lock one count sheet and return a fresh copy, warehouse loaded. A sheet is locked before
    anything else its posting touches (the orders holding reservations, then the stock rows):
    nothing that holds an order or stock lock ever locks a sheet (docs/decisions.md)."""
    return (
        CycleCount.objects.select_related("warehouse")
        .select_for_update(of=("self",), no_key=True)
        .get(pk=cycle_count_id)
    )
