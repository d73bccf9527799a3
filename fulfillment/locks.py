"""Row locks on shipments, always taken in one order (by primary key) so that two transactions
that need the same shipments wait for each other instead of deadlocking (Saleor's
``lock_objects.py``; stock rows: ``inventory.locks``).

The order of locks in every fulfillment action: the order row(s) first (the order locks live
with the orders app), then shipments by id, then stock levels by id. On SQLite
``select_for_update`` is a no-op; the IMMEDIATE transaction mode serialises writers.

Pick lists are not locked: a pick list is created in one transaction and its shipments carry
the state (a shipment moves to picking under its own lock).
"""

from collections.abc import Iterable

from django.db.models import QuerySet

from .models import Shipment


def shipment_for_update(*, pk: int) -> Shipment:
    """One shipment, locked, with its warehouse and carrier service (what every action reads)."""
    shipment: Shipment = (
        Shipment.objects.select_for_update(of=("self",))
        .select_related("warehouse", "carrier_service__carrier")
        .get(pk=pk)
    )
    return shipment


def shipments_for_update(
    *, ids: Iterable[int] | None = None, order_id: int | None = None
) -> QuerySet[Shipment]:
    """Shipments by id, or the shipments of one order, locked in id order (a lazy queryset:
    the rows are locked when it is evaluated)."""
    qs: QuerySet[Shipment] = Shipment.objects.all()
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    if order_id is not None:
        qs = qs.filter(order_id=order_id)
    locked: QuerySet[Shipment] = qs.order_by("pk").select_for_update(of=("self",))
    return locked
