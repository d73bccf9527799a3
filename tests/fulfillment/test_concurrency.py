"""Real concurrency on PostgreSQL: the order row lock serialises the roll-up."""

import threading

import pytest
from django.db import connection

from fulfillment import services
from fulfillment.models import Shipment, ShipmentStatus
from inventory.models import StockLevel
from orders.models import EventType, Order, OrderEvent, OrderStatus

from .conftest import order_of, to_packed


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_shipping_both_parts_of_a_split_order_at_once_ends_shipped(split_stock, mug, tee, carriers):
    order = order_of({mug: 2, tee: 3})
    shipments = list(order.shipments.order_by("pk"))
    assert len(shipments) == 2
    for shipment in shipments:
        to_packed(shipment)

    barrier = threading.Barrier(2)
    errors = []

    def ship(shipment):
        try:
            barrier.wait(timeout=10)
            services.shipment_ship(data=services.ShipInput(shipment=shipment))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=ship, args=(s,)) for s in shipments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert set(Shipment.objects.values_list("status", flat=True)) == {ShipmentStatus.SHIPPED}
    order = Order.objects.get(pk=order.pk)
    assert order.status == OrderStatus.SHIPPED
    changes = list(
        OrderEvent.objects.filter(order=order, type=EventType.STATUS_CHANGED)
        .order_by("pk")
        .values_list("to_status", flat=True)
    )
    assert changes[-2:] == ["partially_shipped", "shipped"]
    levels = {(lv.product.sku): (lv.on_hand, lv.reserved) for lv in StockLevel.objects.all()}
    assert levels == {"MUG-BLUE": (8, 0), "TEE-M": (7, 0)}
