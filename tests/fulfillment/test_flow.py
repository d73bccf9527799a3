"""The whole flow through the services: allocation creates shipments, pick, pack, ship,
deliver; split orders, partial shipping, cancellation, stock and ledger."""

import pytest
from django.conf import settings

from fulfillment import services
from fulfillment.exceptions import ShipmentTransitionNotAllowed
from fulfillment.models import Shipment, ShipmentStatus
from inventory.models import Allocation, MovementKind, StockLevel, StockMovement
from orders.exceptions import TransitionNotAllowedNow
from orders.models import EventType, OrderEvent, OrderStatus
from orders.services import order_cancel

from .conftest import contents, order_of, pack, pick, to_packed, to_shipped

pytestmark = pytest.mark.django_db


def level(product, warehouse) -> StockLevel:
    return StockLevel.objects.get(product=product, warehouse=warehouse)


def status(order) -> str:
    order.refresh_from_db()
    return order.status


def test_single_warehouse_order_goes_all_the_way(stocked, mug, tee, carriers, warehouse_user):
    order = order_of({mug: 2, tee: 1})
    assert order.status == OrderStatus.ALLOCATED
    [shipment] = order.shipments.all()
    assert shipment.number == f"SH-{shipment.pk:06d}"
    assert shipment.status == ShipmentStatus.PENDING
    assert shipment.warehouse == stocked
    assert contents(shipment) == {"MUG-BLUE": 2, "TEE-M": 1}
    created = OrderEvent.objects.get(order=order, type=EventType.SHIPMENT_CREATED)
    assert created.details["shipment"] == shipment.number

    pick_list = pick(shipment, user=warehouse_user)
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.PICKING
    assert shipment.pick_list == pick_list
    assert pick_list.number == f"PL-{pick_list.pk:06d}"
    assert status(order) == OrderStatus.PROCESSING

    pack(shipment, user=warehouse_user)
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.PACKED
    assert shipment.carrier_service == carriers["standard"]  # cheapest that is on time
    assert status(order) == OrderStatus.PROCESSING

    services.shipment_ship(data=services.ShipInput(shipment=shipment), user=warehouse_user)
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.SHIPPED
    assert shipment.tracking_number.startswith("PCL")
    assert status(order) == OrderStatus.SHIPPED
    shipped = OrderEvent.objects.get(order=order, type=EventType.SHIPPED)
    assert shipped.details == {
        "shipment": shipment.number,
        "carrier": "Parcelo",
        "tracking_number": shipment.tracking_number,
        "tracking_url": f"https://track.example/{shipment.tracking_number}",
    }
    lines = {line.product.sku: line for line in order.lines.select_related("product")}
    assert lines["MUG-BLUE"].quantity_shipped == 2
    assert lines["MUG-BLUE"].quantity_allocated == 0

    services.shipment_deliver(shipment=shipment, user=warehouse_user)
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.DELIVERED
    assert status(order) == OrderStatus.DELIVERED
    delivered = OrderEvent.objects.get(order=order, type=EventType.DELIVERED)
    assert delivered.details["shipment"] == shipment.number
    assert delivered.details["order_delivered"] is True
    assert delivered.details["feedback_url"].startswith(
        f"{settings.OMS_SITE_URL}/fulfillment/feedback/"
    )

    history = list(
        OrderEvent.objects.filter(order=order, type=EventType.STATUS_CHANGED).values_list(
            "from_status", "to_status"
        )
    )
    assert history[-3:] == [
        ("allocated", "processing"),
        ("processing", "shipped"),
        ("shipped", "delivered"),
    ]


def test_shipping_consumes_stock_through_the_ledger(stocked, mug, tee, carriers):
    order = order_of({mug: 3, tee: 1})
    before = level(mug, stocked)
    assert (before.on_hand, before.reserved) == (100, 3)
    [shipment] = order.shipments.all()
    to_shipped(shipment)

    after = level(mug, stocked)
    assert (after.on_hand, after.reserved) == (97, 0)
    movement = StockMovement.objects.get(stock_level=after, kind=MovementKind.SHIPMENT)
    assert movement.quantity == -3
    assert movement.on_hand_after == 97
    assert movement.reference == shipment.number
    # The ledger still adds up to on_hand, and nothing is reserved for the order any more.
    assert sum(m.quantity for m in StockMovement.objects.filter(stock_level=after)) == 97
    assert not Allocation.objects.filter(order_line__order=order).exists()


def test_split_order_has_one_shipment_per_warehouse(split_stock, mug, tee, carriers):
    leeds, bristol = split_stock
    order = order_of({mug: 2, tee: 3})
    assert order.status == OrderStatus.ALLOCATED
    shipments = {s.warehouse.code: s for s in order.shipments.all()}
    assert set(shipments) == {"LDS", "BRS"}
    assert contents(shipments["LDS"]) == {"MUG-BLUE": 2}
    assert contents(shipments["BRS"]) == {"TEE-M": 3}

    to_shipped(shipments["LDS"])
    assert status(order) == OrderStatus.PARTIALLY_SHIPPED
    to_shipped(shipments["BRS"])
    assert status(order) == OrderStatus.SHIPPED

    services.shipment_deliver(shipment=shipments["LDS"])
    assert status(order) == OrderStatus.SHIPPED  # one parcel still travelling
    first = OrderEvent.objects.filter(order=order, type=EventType.DELIVERED).get()
    assert first.details["order_delivered"] is False
    assert "feedback_url" not in first.details
    services.shipment_deliver(shipment=shipments["BRS"])
    assert status(order) == OrderStatus.DELIVERED
    assert level(mug, leeds).on_hand == 8
    assert level(tee, bristol).on_hand == 7


def test_one_of_two_shipments_shipped_is_partially_shipped(split_stock, mug, tee, carriers):
    order = order_of({mug: 1, tee: 1})
    first, second = order.shipments.order_by("warehouse__code")
    to_shipped(first)
    assert status(order) == OrderStatus.PARTIALLY_SHIPPED
    to_packed(second)
    assert status(order) == OrderStatus.PARTIALLY_SHIPPED


def test_cancel_after_a_partial_ship_is_refused(split_stock, mug, tee, carriers):
    order = order_of({mug: 1, tee: 1})
    first, second = order.shipments.order_by("warehouse__code")
    to_shipped(first)
    order.refresh_from_db()
    with pytest.raises(TransitionNotAllowedNow, match="shipped"):
        order_cancel(order=order)
    assert status(order) == OrderStatus.PARTIALLY_SHIPPED
    second.refresh_from_db()
    assert second.status == ShipmentStatus.PENDING


def test_cancel_before_shipping_cancels_shipments_and_returns_stock(
    split_stock, mug, tee, carriers
):
    leeds, bristol = split_stock
    order = order_of({mug: 2, tee: 3})
    first, second = order.shipments.order_by("warehouse__code")
    to_packed(first)  # one parcel already packed, the other still pending
    assert level(tee, bristol).reserved == 3

    order.refresh_from_db()
    order_cancel(order=order)

    assert status(order) == OrderStatus.CANCELLED
    assert set(order.shipments.values_list("status", flat=True)) == {ShipmentStatus.CANCELLED}
    assert (level(mug, leeds).on_hand, level(mug, leeds).reserved) == (10, 0)
    assert (level(tee, bristol).on_hand, level(tee, bristol).reserved) == (10, 0)
    assert not StockMovement.objects.filter(kind=MovementKind.SHIPMENT).exists()


def test_a_shipped_shipment_cannot_be_cancelled(stocked, mug, carriers):
    order = order_of({mug: 1})
    [shipment] = order.shipments.all()
    to_shipped(shipment)
    with pytest.raises(ShipmentTransitionNotAllowed, match="already shipped"):
        services.shipment_cancel(shipment=shipment)
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.SHIPPED


def test_a_shipment_of_an_open_order_is_cancelled_with_its_order(stocked, mug):
    order = order_of({mug: 1})
    [shipment] = order.shipments.all()
    with pytest.raises(ShipmentTransitionNotAllowed, match="cancel the order"):
        services.shipment_cancel(shipment=shipment)
    assert Shipment.objects.get(pk=shipment.pk).status == ShipmentStatus.PENDING


def test_backordered_order_gets_its_shipment_when_stock_arrives(leeds, mug, carriers):
    from tests.factories import receive

    order = order_of({mug: 2})
    assert order.status == OrderStatus.BACKORDERED
    assert not order.shipments.exists()
    receive(leeds, {mug: 5})
    assert status(order) == OrderStatus.ALLOCATED
    [shipment] = order.shipments.all()
    assert contents(shipment) == {"MUG-BLUE": 2}


def test_steps_out_of_order_are_refused(stocked, mug, carriers):
    order = order_of({mug: 1})
    [shipment] = order.shipments.all()
    with pytest.raises(ShipmentTransitionNotAllowed, match="pending"):
        services.shipment_ship(data=services.ShipInput(shipment=shipment))
    with pytest.raises(ShipmentTransitionNotAllowed):
        pack(shipment)
    with pytest.raises(ShipmentTransitionNotAllowed):
        services.shipment_deliver(shipment=shipment)
    assert status(order) == OrderStatus.ALLOCATED


def test_rollup_is_idempotent_and_never_goes_back(stocked, mug, carriers):
    order = order_of({mug: 1})
    [shipment] = order.shipments.all()
    to_shipped(shipment)
    count = OrderEvent.objects.filter(order=order).count()
    services.order_status_rollup(order=order)
    services.order_status_rollup(order=order)
    assert status(order) == OrderStatus.SHIPPED
    assert OrderEvent.objects.filter(order=order).count() == count
