"""Pick lists: pending shipments of one warehouse batched into one walk."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from core.numbers import PICK_LIST_NUMBER
from inventory.models import Warehouse
from orders import events
from orders.models import EventType, Order, OrderStatus
from orders.services import BULK_MAX, BulkOutcome

from ..exceptions import ShipmentValidationError
from ..locks import shipments_for_update
from ..models import PickList, Shipment, ShipmentStatus
from ._common import _lock_orders
from .rollup import _rollup

if TYPE_CHECKING:
    # who acts: a staff user, or None (the system, a carrier, a customer's signed link)
    from django.contrib.auth.models import User

SS = ShipmentStatus
OS = OrderStatus
MAX_PICK_LIST_SIZE = 200


def picklist_create(
    *,
    warehouse: Warehouse,
    shipments: Iterable[Shipment] | None = None,
    count: int | None = None,
    user: User | None = None,
) -> PickList:
    """Batch pending shipments of one warehouse (the selected ones, or the ``count`` oldest)
    into one pick list; they move to picking and their orders to processing.

    Runs a constant number of queries whatever the number of shipments."""
    if (shipments is None) == (count is None):
        raise ShipmentValidationError(
            {"shipments": ["Select shipments or give how many of the oldest to pick (not both)."]}
        )
    if count is not None and not 1 <= count <= MAX_PICK_LIST_SIZE:
        raise ShipmentValidationError(
            {"count": [f"Give a whole number of shipments from 1 to {MAX_PICK_LIST_SIZE}."]}
        )
    with transaction.atomic():
        if count is not None:
            ids = list(
                Shipment.objects.filter(warehouse=warehouse, status=SS.PENDING)
                .exclude(order__status=OS.ON_HOLD)
                .order_by("created_at", "pk")
                .values_list("pk", flat=True)[:count]
            )
            if not ids:
                raise ShipmentValidationError(
                    {"count": [f"No pending shipments are waiting in {warehouse.code}."]}
                )
        else:
            ids = sorted({s.pk for s in shipments or ()})
            if not ids:
                raise ShipmentValidationError({"shipments": ["Select at least one shipment."]})
            if len(ids) > MAX_PICK_LIST_SIZE:
                raise ShipmentValidationError(
                    {"shipments": [f"A pick list takes at most {MAX_PICK_LIST_SIZE} shipments."]}
                )
        order_ids = set(Shipment.objects.filter(pk__in=ids).values_list("order_id", flat=True))
        orders = {order.pk: order for order in _lock_orders(order_ids)}
        locked = list(shipments_for_update(ids=ids).select_related("warehouse"))
        if count is not None:
            # Someone else may have picked some of them meanwhile: take what is still waiting.
            locked = [
                s
                for s in locked
                if s.status == SS.PENDING and orders[s.order_id].status != OS.ON_HOLD
            ]
            if not locked:
                raise ShipmentValidationError(
                    {"count": [f"No pending shipments are waiting in {warehouse.code}."]}
                )
        problems = []
        if len(locked) < len(ids) and count is None:
            problems.append("Some selected shipments no longer exist.")
        for shipment in locked:
            order = orders[shipment.order_id]
            if shipment.warehouse_id != warehouse.pk:
                problems.append(
                    f"Shipment {shipment.number} ships from {shipment.warehouse.code}, "
                    f"not {warehouse.code}."
                )
            elif shipment.status != SS.PENDING:
                problems.append(
                    f"Shipment {shipment.number} is {SS(shipment.status).label.lower()}, "
                    "not pending."
                )
            elif order.status not in (OS.ALLOCATED, OS.PROCESSING, OS.PARTIALLY_SHIPPED):
                problems.append(
                    f"Shipment {shipment.number}: order {order.number} is "
                    f"{OS(order.status).label.lower()}."
                )
        if problems:
            raise ShipmentValidationError({"shipments": problems})

        pick_list = PickList.objects.create(
            number=PICK_LIST_NUMBER.placeholder(uuid.uuid4().hex),
            warehouse=warehouse,
            created_by=user if user is not None and user.is_authenticated else None,
        )
        pick_list.number = PICK_LIST_NUMBER.for_pk(pick_list.pk)
        pick_list.save(update_fields=["number"])
        now = timezone.now()
        built = []
        for shipment in locked:
            shipment.start_picking(pick_list=pick_list, at=now)
            built.append(
                events.event_build(
                    order=orders[shipment.order_id],
                    type=EventType.PICKED,
                    user=user,
                    message=f"Shipment {shipment.number} is being picked ({pick_list.number}).",
                    shipment=shipment.number,
                    pick_list=pick_list.number,
                )
            )
        # Every shipment got the same values: one plain UPDATE (bulk_update is slow at 1,000).
        Shipment.objects.filter(pk__in=[s.pk for s in locked]).update(
            status=SS.PICKING, pick_list=pick_list, picked_at=now
        )
        involved = sorted({s.order_id for s in locked})
        _rollup([orders[pk] for pk in involved], user=user, extra_events=built)
    return pick_list


def picklists_for_orders(*, numbers: Sequence[str], user: User | None = None) -> BulkOutcome:
    """The order desk's "Create pick list" for the selected orders: their pending shipments,
    one pick list per warehouse (``picklist_create``, under its locks). Each order is reported:
    done with its pick list(s), or refused with the reason (no such order, on hold, nothing
    waiting to be picked, or the pick list's own refusal)."""
    wanted = list(dict.fromkeys(n.strip() for n in numbers if n.strip()))
    if not wanted:
        raise ShipmentValidationError({"orders": ["Select at least one order."]})
    if len(wanted) > BULK_MAX:
        raise ShipmentValidationError({"orders": [f"Select at most {BULK_MAX} orders at once."]})
    valid = [n for n in wanted if len(n) <= 32 and "\x00" not in n]
    orders = {o.number: o for o in Order.objects.filter(number__in=valid)}
    pending: dict[int, list[Shipment]] = defaultdict(list)  # warehouse id -> shipments
    for shipment in Shipment.objects.filter(
        order__in=orders.values(), status=SS.PENDING
    ).select_related("warehouse", "order"):
        pending[shipment.warehouse_id].append(shipment)
    with_pending = {s.order.number for group in pending.values() for s in group}
    lists: dict[str, list[str]] = defaultdict(list)  # order number -> pick list numbers
    refused: dict[str, str] = {}
    for group in pending.values():
        picked = [s for s in group if s.order.status != OS.ON_HOLD]
        for s in group:
            if s.order.status == OS.ON_HOLD:
                refused[s.order.number] = "on hold"
        if not picked:
            continue
        try:
            pick_list = picklist_create(warehouse=group[0].warehouse, shipments=picked, user=user)
        except ShipmentValidationError as exc:
            why = " ".join(m for ms in exc.errors.values() for m in ms)
            for s in picked:
                refused.setdefault(s.order.number, why)
        else:
            for s in picked:
                lists[s.order.number].append(pick_list.number)
    outcome = BulkOutcome()
    for number in wanted:
        if number not in orders:
            outcome.refused.append((number[:32], "no such order"))
        elif number in lists:
            outcome.done.append(f"{number} ({', '.join(dict.fromkeys(lists[number]))})")
        elif number in refused:
            outcome.refused.append((number, refused[number]))
        elif number not in with_pending:
            status = OS(orders[number].status).label.lower()
            outcome.refused.append((number, f"no shipment waiting to be picked ({status})"))
    return outcome
