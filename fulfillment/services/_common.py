"""What every fulfillment action shares: the locks in their fixed order, the refusals."""

from collections.abc import Iterable

from orders.locks import order_for_update, orders_for_update
from orders.models import Order, OrderStatus

from ..exceptions import ShipmentTransitionNotAllowed
from ..locks import shipment_for_update
from ..models import Shipment, ShipmentStatus

SS = ShipmentStatus
OS = OrderStatus


def _lock_order(order_id: int) -> Order:
    return order_for_update(order_id)


def _lock_orders(order_ids: Iterable[int]) -> list[Order]:
    return orders_for_update(ids=order_ids, related=("customer",))


def _lock_shipment(shipment: Shipment) -> tuple[Order, Shipment]:
    """Lock the shipment's order, then the shipment; return fresh copies of both."""
    order = _lock_order(shipment.order_id)
    locked = shipment_for_update(pk=shipment.pk)
    locked.order = order
    return order, locked


def _refuse(shipment: Shipment, action: str, why: str = "") -> ShipmentTransitionNotAllowed:
    label = SS(shipment.status).label.lower()
    message = why or f"Shipment {shipment.number} cannot be {action} while it is {label}."
    return ShipmentTransitionNotAllowed(message, status=shipment.status)


def _order_must_be_active(order: Order, shipment: Shipment, action: str) -> None:
    if order.status not in (OS.ALLOCATED, OS.PROCESSING, OS.PARTIALLY_SHIPPED):
        label = OS(order.status).label.lower()
        raise ShipmentTransitionNotAllowed(
            f"Shipment {shipment.number} cannot be {action}: its order {order.number} is {label}.",
            status=shipment.status,
        )
