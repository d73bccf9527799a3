"""Delivery: a shipped parcel marked delivered (staff or carrier)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from orders import events
from orders.models import EventType, OrderStatus

from ..exceptions import ShipmentValidationError
from ..models import Shipment, ShipmentStatus
from ._common import _lock_shipment, _refuse
from .feedback import feedback_url
from .rollup import _rollup

if TYPE_CHECKING:
    # who acts: a staff user, or None (the system, a carrier, a customer's signed link)
    from django.contrib.auth.models import User

SS = ShipmentStatus
OS = OrderStatus


@dataclass(frozen=True)
class DeliveryResult:
    """The shipment after a delivery update, and whether the update changed anything (a
    repeated one does not)."""

    shipment: Shipment
    changed: bool


def _deliver(
    shipment: Shipment, *, user: User | None, occurred_at: datetime.datetime | None, source: str
) -> DeliveryResult:
    now = timezone.now()
    if occurred_at is not None:
        if timezone.is_naive(occurred_at):
            occurred_at = timezone.make_aware(occurred_at)
        if occurred_at > now + datetime.timedelta(minutes=10):
            raise ShipmentValidationError(
                {"occurred_at": [f"{occurred_at.isoformat()} lies in the future."]}
            )
    with transaction.atomic():
        order, shipment = _lock_shipment(shipment)
        if shipment.status == SS.DELIVERED:
            return DeliveryResult(shipment=shipment, changed=False)
        if shipment.status != SS.SHIPPED:
            raise _refuse(shipment, "delivered")
        if occurred_at is not None and shipment.shipped_at and occurred_at < shipment.shipped_at:
            raise ShipmentValidationError(
                {
                    "occurred_at": [
                        f"{occurred_at.isoformat()} is before the parcel was shipped "
                        f"({shipment.shipped_at.isoformat()})."
                    ]
                }
            )
        shipment.deliver(at=occurred_at or now)
        shipment.save(update_fields=["status", "delivered_at"])
        _rollup([order], user=user)
        order_delivered = order.status == OS.DELIVERED
        details: dict[str, object] = {
            "shipment": shipment.number,
            "order_delivered": order_delivered,
        }
        if order_delivered:
            details["feedback_url"] = feedback_url(order)
        events.event_write(
            order=order,
            type=EventType.DELIVERED,
            user=user,
            message=f"Shipment {shipment.number} delivered ({source}).",
            **details,
        )
    return DeliveryResult(shipment=shipment, changed=True)


def shipment_deliver(
    *, shipment: Shipment, user: User | None = None, occurred_at: datetime.datetime | None = None
) -> Shipment:
    """Mark a shipped parcel delivered (staff); repeating it changes nothing. When every
    shipment of the order is delivered, the order is delivered and feedback is invited."""
    return _deliver(
        shipment, user=user, occurred_at=occurred_at, source="confirmed by staff"
    ).shipment
