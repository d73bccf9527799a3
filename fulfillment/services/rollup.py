"""The order's status derived from its shipments and lines (one function, ``_rollup``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from orders import events
from orders.models import (
    LATE_FIELDS,
    OPEN_STATUSES,
    EventType,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
)

from ..models import Shipment, ShipmentStatus
from ._common import _lock_order

if TYPE_CHECKING:
    # who acts: a staff user, or None (the system, a carrier, a customer's signed link)
    from django.contrib.auth.models import User

SS = ShipmentStatus
OS = OrderStatus


_PATH: list[str] = [OS.ALLOCATED, OS.PROCESSING, OS.PARTIALLY_SHIPPED, OS.SHIPPED, OS.DELIVERED]
_RANK: dict[str, int] = {status: rank for rank, status in enumerate(_PATH)}
_STEP: dict[str, str] = {
    OS.PROCESSING: "start_processing",
    OS.PARTIALLY_SHIPPED: "mark_partially_shipped",
    OS.SHIPPED: "mark_shipped",
    OS.DELIVERED: "mark_delivered",
}


def _target_status(shipments: Sequence[Shipment], lines: Sequence[OrderLine]) -> str:
    live = [s for s in shipments if s.status != SS.CANCELLED]
    shipped_units = sum(line.quantity_shipped for line in lines)
    open_units = sum(
        line.quantity - line.quantity_cancelled - line.quantity_shipped for line in lines
    )
    if shipped_units and open_units == 0:
        if live and all(s.status == SS.DELIVERED for s in live):
            return OS.DELIVERED
        return OS.SHIPPED
    if shipped_units:
        return OS.PARTIALLY_SHIPPED
    if any(s.status != SS.PENDING for s in live):
        return OS.PROCESSING
    return OS.ALLOCATED


def _advance(order: Order, target: str, *, user: User | None) -> list[OrderEvent]:
    """Walk the order forward to ``target`` through its own transitions; never backwards."""
    if order.status not in _RANK or _RANK[target] <= _RANK[order.status]:
        return []
    steps = [
        status
        for status in _PATH[_RANK[order.status] + 1 : _RANK[target] + 1]
        if not (status == OS.PARTIALLY_SHIPPED and target in (OS.SHIPPED, OS.DELIVERED))
    ]
    built = []
    for status in steps:
        previous = order.status
        getattr(order, _STEP[status])()
        built.append(
            events.event_build(
                order=order,
                type=EventType.STATUS_CHANGED,
                user=user,
                from_status=previous,
                to_status=order.status,
            )
        )
    return built


def _rollup(
    orders: Sequence[Order], *, user: User | None, extra_events: Sequence[OrderEvent] = ()
) -> list[Order]:
    """Derive the status of locked ``orders`` from their shipments and lines (constant number
    of queries whatever the number of orders); save the changed ones and the history."""
    ids = [order.pk for order in orders]
    shipments: dict[int, list[Shipment]] = defaultdict(list)
    for shipment in Shipment.objects.filter(order_id__in=ids).only("pk", "order_id", "status"):
        shipments[shipment.order_id].append(shipment)
    lines: dict[int, list[OrderLine]] = defaultdict(list)
    for line in OrderLine.objects.filter(order_id__in=ids):
        lines[line.order_id].append(line)
    built = list(extra_events)
    changed = []
    now = timezone.now()
    for order in orders:
        target = _target_status(shipments[order.pk], lines[order.pk])
        steps = _advance(order, target, user=user)
        if steps:
            order.updated_at = now
            changed.append(order)
            built.extend(steps)
    # Shipped in full: ``mark_shipped`` cleared the late flag (a late order is no longer late).
    if len(changed) == 1:
        changed[0].save(update_fields=["status", *LATE_FIELDS, "updated_at"])
    elif changed:
        # One UPDATE per target status: bulk_update's CASE per row costs seconds for a pick list
        # of 1,000 orders (docs/benchmarks.md).
        by_status: dict[str, list[int]] = defaultdict(list)
        for order in changed:
            by_status[order.status].append(order.pk)
        for status, pks in by_status.items():
            cleared = {}
            if status not in OPEN_STATUSES:
                cleared = {"late_since": None, "late_notified": False}
            Order.objects.filter(pk__in=pks).update(status=status, updated_at=now, **cleared)
    if built:
        events.events_save(built)
    return changed


def order_status_rollup(*, order: Order, user: User | None = None) -> Order:
    """Bring the order's status in line with its shipments (processing, partially shipped,
    shipped, delivered). Safe to call at any time; it never moves an order backwards."""
    with transaction.atomic():
        locked = _lock_order(order.pk)
        _rollup([locked], user=user)
    return locked
