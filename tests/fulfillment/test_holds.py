"""An order on hold or cancelled is never packed or shipped: the guard in fulfillment's
services refuses, and nothing moves (stock, shipment, order)."""

import pytest

from fulfillment import services
from fulfillment.exceptions import ShipmentTransitionNotAllowed
from fulfillment.models import Shipment, ShipmentStatus
from inventory.models import StockLevel
from orders.models import Order, OrderStatus
from orders.services import order_cancel, order_hold, order_release

from .conftest import contents, order_of, pack, pick

pytestmark = pytest.mark.django_db


def _stock(product):
    level = StockLevel.objects.get(product=product)
    return level.on_hand, level.reserved


def test_a_held_order_is_not_packed_until_released(stocked, mug, carriers):
    order = order_of({mug: 2})
    shipment = order.shipments.get()
    pick(shipment)
    order_hold(order=Order.objects.get(pk=order.pk), reason="Customer asked us to wait")

    with pytest.raises(ShipmentTransitionNotAllowed) as refused:
        pack(Shipment.objects.get(pk=shipment.pk))

    assert f"its order {order.number} is on hold" in refused.value.message
    assert Shipment.objects.get(pk=shipment.pk).status == ShipmentStatus.PICKING
    order_release(order=Order.objects.get(pk=order.pk), reason="Customer is ready")
    packed = pack(Shipment.objects.get(pk=shipment.pk))
    assert packed.status == ShipmentStatus.PACKED


def test_a_held_order_is_not_shipped(stocked, mug, carriers):
    order = order_of({mug: 2})
    shipment = order.shipments.get()
    pick(shipment)
    pack(Shipment.objects.get(pk=shipment.pk))
    order_hold(order=Order.objects.get(pk=order.pk), reason="Address to be checked")
    before = _stock(mug)

    with pytest.raises(ShipmentTransitionNotAllowed) as refused:
        services.shipment_ship(
            data=services.ShipInput(shipment=Shipment.objects.get(pk=shipment.pk))
        )

    assert f"its order {order.number} is on hold" in refused.value.message
    assert Shipment.objects.get(pk=shipment.pk).status == ShipmentStatus.PACKED
    assert _stock(mug) == before == (100, 2)  # nothing left the shelf
    assert Order.objects.get(pk=order.pk).status == OrderStatus.ON_HOLD


def test_a_cancelled_order_is_neither_packed_nor_shipped(stocked, mug, tee, carriers):
    order = order_of({mug: 2, tee: 1})
    shipment = order.shipments.get()
    pick(shipment)
    packed = contents(shipment)
    order_cancel(order=Order.objects.get(pk=order.pk), reason="Customer changed their mind")

    with pytest.raises(ShipmentTransitionNotAllowed):
        services.shipment_pack(
            data=services.PackInput(
                shipment=Shipment.objects.get(pk=shipment.pk),
                lines=services.packed_lines(packed),
                weight_grams=500,
                length_cm=30,
                width_cm=20,
                height_cm=10,
            )
        )
    with pytest.raises(ShipmentTransitionNotAllowed):
        services.shipment_ship(
            data=services.ShipInput(shipment=Shipment.objects.get(pk=shipment.pk))
        )

    assert Shipment.objects.get(pk=shipment.pk).status == ShipmentStatus.CANCELLED
    assert _stock(mug) == (100, 0) and _stock(tee) == (100, 0)
