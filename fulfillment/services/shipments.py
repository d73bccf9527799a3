"""Shipments made from an order's reservations, and cancelled with the order."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Case, CharField, Value, When
from django.db.models.functions import Cast, Concat, LPad
from django.utils import timezone

from core.numbers import SHIPMENT_NUMBER
from inventory.models import Allocation
from orders import events
from orders.models import EventType, Order, OrderStatus

from ..locks import shipments_for_update
from ..models import OPEN_SHIPMENT_STATUSES, Shipment, ShipmentLine, ShipmentStatus
from ._common import _lock_shipment, _refuse

if TYPE_CHECKING:
    # who acts: a staff user, or None (the system, a carrier, a customer's signed link)
    from django.contrib.auth.models import User

SS = ShipmentStatus
OS = OrderStatus


def _numbers_from_ids(shipments: list[Shipment]) -> None:
    """Give inserted shipments their number (derived from the id) in one UPDATE."""
    for shipment in shipments:
        shipment.number = SHIPMENT_NUMBER.for_pk(shipment.pk)
    if len(shipments) == 1:
        shipments[0].save(update_fields=["number"])
        return
    width = SHIPMENT_NUMBER.width
    digits = Cast("pk", CharField())
    Shipment.objects.filter(pk__in=[s.pk for s in shipments]).update(
        number=Concat(
            Value(f"{SHIPMENT_NUMBER.prefix}-"),
            Case(
                When(pk__lt=10**width, then=LPad(digits, width, Value("0"))),
                default=digits,
                output_field=CharField(),
            ),
            output_field=CharField(),
        )
    )


def shipments_create_for_orders(
    *,
    orders: Sequence[Order],
    user: User | None = None,
    new_allocations: Sequence[Allocation] | None = None,
) -> list[Shipment]:
    """One pending shipment per warehouse holding reservations of each locked order that no open
    shipment covers yet (called when orders become allocated), for many orders at once in a
    constant number of statements (a receipt filling thousands of backorders).

    ``new_allocations``: every reservation of a single order created in this transaction
    (placement; with their stock levels, warehouses, lines and products loaded): such an order
    has no shipment yet, so nothing is read."""
    by_id = {order.pk: order for order in orders}
    if not by_id:
        return []
    covered: dict[tuple[int, int], int] = defaultdict(int)
    with transaction.atomic(savepoint=False):
        # (order, warehouse code, line, warehouse, stock level, quantity, SKU): plain values, as
        # a receipt may read tens of thousands of reservations here.
        if new_allocations is not None and len(by_id) == 1:
            rows = sorted(
                (
                    a.order_line.order_id,
                    a.stock_level.warehouse.code,
                    a.order_line_id,
                    a.stock_level.warehouse_id,
                    a.stock_level_id,
                    a.quantity,
                    a.order_line.product.sku,
                )
                for a in new_allocations
            )
        else:
            rows = list(
                Allocation.objects.filter(order_line__order_id__in=list(by_id))
                .order_by("order_line__order_id", "stock_level__warehouse__code", "order_line_id")
                .values_list(
                    "order_line__order_id",
                    "stock_level__warehouse__code",
                    "order_line_id",
                    "stock_level__warehouse_id",
                    "stock_level_id",
                    "quantity",
                    "order_line__product__sku",
                )
            )
            for line in ShipmentLine.objects.filter(
                shipment__order_id__in=list(by_id), shipment__status__in=OPEN_SHIPMENT_STATUSES
            ).values_list("order_line_id", "stock_level_id", "quantity"):
                covered[line[:2]] += line[2]
        # per (order, warehouse): [(line, stock level, quantity, SKU)]
        parts_of: dict[tuple[int, int], list[tuple[int, int, int, str]]] = defaultdict(list)
        codes: dict[int, str] = {}
        for order_id, code, line_id, warehouse_id, level_id, reserved, sku in rows:
            quantity = reserved - covered.get((line_id, level_id), 0)
            if quantity > 0:
                codes[warehouse_id] = code
                parts_of[(order_id, warehouse_id)].append((line_id, level_id, quantity, sku))
        if not parts_of:
            return []
        # Warehouses already in memory (a new order's reservations) go on the shipments too.
        warehouses = (
            {a.stock_level.warehouse_id: a.stock_level.warehouse for a in new_allocations}
            if new_allocations is not None
            else {}
        )
        created: list[Shipment] = Shipment.objects.bulk_create(
            [
                Shipment(
                    number=SHIPMENT_NUMBER.placeholder(uuid.uuid4().hex),
                    order_id=order_id,
                    warehouse_id=warehouse_id,
                )
                for order_id, warehouse_id in parts_of
            ]
        )
        for shipment in created:
            if shipment.warehouse_id in warehouses:
                shipment.warehouse = warehouses[shipment.warehouse_id]
        _numbers_from_ids(created)
        for shipment in created:
            shipment._update_initial_state()
        ShipmentLine.objects.bulk_create(
            [
                ShipmentLine(
                    shipment=shipment,
                    order_line_id=line_id,
                    stock_level_id=level_id,
                    quantity=quantity,
                )
                for shipment, parts in zip(created, parts_of.values(), strict=True)
                for line_id, level_id, quantity, _sku in parts
            ]
        )
        built = []
        for shipment, ((order_id, warehouse_id), parts) in zip(
            created, parts_of.items(), strict=True
        ):
            code = codes[warehouse_id]
            skus = {sku: quantity for _line, _level, quantity, sku in parts}
            built.append(
                events.event_build(
                    order=by_id[order_id],
                    type=EventType.SHIPMENT_CREATED,
                    user=user,
                    message=f"Shipment {shipment.number} from {code}: "
                    + ", ".join(f"{q} × {s}" for s, q in skus.items()),
                    shipment=shipment.number,
                    warehouse=code,
                    lines=skus,
                )
            )
        events.events_save(built)
    return created


def shipments_cancel_for_order(
    *, order: Order, user: User | None = None, reason: str = ""
) -> list[Shipment]:
    """Cancel the open shipments of a cancelled order (its reservations are already released
    by ``orders.services.order_cancel``). Shipped shipments are left alone."""
    with transaction.atomic():
        shipments = list(
            shipments_for_update(order_id=order.pk).filter(status__in=OPEN_SHIPMENT_STATUSES)
        )
        now = timezone.now()
        built = []
        for shipment in shipments:
            previous = shipment.status
            shipment.cancel(at=now)
            shipment.save(update_fields=["status", "cancelled_at"])
            built.append(
                events.event_build(
                    order=order,
                    type=EventType.NOTE,
                    user=user,
                    message=f"Shipment {shipment.number} cancelled. {reason}".strip(),
                    shipment=shipment.number,
                    previous_status=previous,
                    shipment_status=SS.CANCELLED.value,
                )
            )
        if built:
            events.events_save(built)
    return shipments


def shipment_cancel(*, shipment: Shipment, user: User | None = None, reason: str = "") -> Shipment:
    """Cancel one shipment. Only the shipments of a cancelled order are cancelled: a shipment
    of an open order is cancelled by cancelling the order (which returns the stock)."""
    with transaction.atomic():
        order, shipment = _lock_shipment(shipment)
        if shipment.status in (SS.SHIPPED, SS.DELIVERED):
            raise _refuse(
                shipment,
                "cancelled",
                f"Shipment {shipment.number} has already shipped; it cannot be cancelled "
                "(open a return instead).",
            )
        if shipment.status == SS.CANCELLED:
            return shipment
        if order.status != OS.CANCELLED:
            raise _refuse(
                shipment,
                "cancelled",
                f"Shipment {shipment.number} belongs to open order {order.number}: cancel the "
                "order to cancel its shipments and return their stock.",
            )
        shipments_cancel_for_order(order=order, user=user, reason=reason)
        shipment.refresh_from_db()
    return shipment
