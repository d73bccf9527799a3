"""Fixtures of the returns tests.

Orders are placed and stocked through the real services (``tests.factories``) and shipped and
delivered through fulfillment's services (pick list, pack, ship, deliver), so the return window
starts at the shipments' ``delivered_at``.
"""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db.models import Sum
from django.utils import timezone

from inventory.models import StockLevel
from orders.models import Order, OrderStatus
from tests.factories import ProductFactory, UserFactory, WarehouseFactory, place, receive


def _carrier_service():
    from fulfillment.models import Carrier, CarrierService

    carrier, _ = Carrier.objects.get_or_create(code="test-post", defaults={"name": "Test Post"})
    service, _ = CarrierService.objects.get_or_create(
        carrier=carrier,
        code="standard",
        defaults={"name": "Standard", "price_per_parcel": Decimal("4.00"), "transit_days": 2},
    )
    return service


def ship(order: Order, user=None) -> Order:
    """Hand every reserved unit of ``order`` to the carrier through fulfillment's services."""
    return _ship_through_fulfillment(order, user=user)


def _ship_through_fulfillment(order: Order, user=None) -> Order:
    from fulfillment.models import Shipment, ShipmentStatus
    from fulfillment.services import (
        PackInput,
        ShipInput,
        packed_lines,
        picklist_create,
        shipment_pack,
        shipment_ship,
    )

    service = _carrier_service()
    for shipment in Shipment.objects.filter(order=order, status=ShipmentStatus.PENDING):
        picklist_create(warehouse=shipment.warehouse, shipments=[shipment], user=user)
        packed: dict[str, int] = {}
        for sl in shipment.lines.select_related("order_line__product"):
            sku = sl.order_line.product.sku
            packed[sku] = packed.get(sku, 0) + sl.quantity
        shipment = Shipment.objects.get(pk=shipment.pk)
        shipment_pack(
            data=PackInput(
                shipment=shipment,
                lines=packed_lines(packed),
                weight_grams=500,
                length_cm=20,
                width_cm=20,
                height_cm=10,
                carrier_service=service,
            ),
            user=user,
        )
        shipment_ship(data=ShipInput(shipment=Shipment.objects.get(pk=shipment.pk)), user=user)
    return Order.objects.get(pk=order.pk)


def deliver(order: Order, *, at: datetime.datetime | None = None, user=None) -> Order:
    """Mark the order delivered, optionally in the past (``at``)."""
    from fulfillment.models import Shipment, ShipmentStatus
    from fulfillment.services import shipment_deliver

    shipped = Shipment.objects.filter(order=order, status=ShipmentStatus.SHIPPED)
    if at is not None:  # an old order: it shipped a day before it arrived
        shipped.update(shipped_at=at - datetime.timedelta(days=1))
    for shipment in shipped:
        shipment_deliver(shipment=shipment, occurred_at=at, user=user)
    order = Order.objects.get(pk=order.pk)
    assert order.status == OrderStatus.DELIVERED
    return order


def days_ago(days: int) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=days)


def assert_ledger_consistent():
    """Sum of ledger movements == on_hand and sum of allocations == reserved, everywhere."""
    for level in StockLevel.objects.annotate(
        moved=Sum("movements__quantity", default=0)
    ).select_related("product", "warehouse"):
        reserved = level.allocations.aggregate(total=Sum("quantity", default=0))["total"]
        assert level.moved == level.on_hand, f"{level}: ledger {level.moved} != {level.on_hand}"
        assert reserved == level.reserved, f"{level}: allocations {reserved} != {level.reserved}"
        assert 0 <= level.reserved <= level.on_hand


@pytest.fixture
def warehouse(db):
    return WarehouseFactory(code="LDS", name="Leeds", country="GB")


@pytest.fixture
def mug(db):
    return ProductFactory(sku="MUG-BLUE", name="Blue mug")


@pytest.fixture
def plate(db):
    return ProductFactory(sku="PLATE-WHITE", name="White plate")


@pytest.fixture
def delivered_order(warehouse, mug, plate):
    """Delivered today: 2 × MUG-BLUE and 1 × PLATE-WHITE at 10.00 each; nothing left in stock."""
    receive(warehouse, {mug: 2, plate: 1})
    order = place({mug: 2, plate: 1})
    ship(order)
    return deliver(order)


@pytest.fixture
def manager(db):
    user = UserFactory(username="manager", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="returns"),
    )
    return user


def stock(warehouse, product) -> StockLevel:
    return StockLevel.objects.get(warehouse=warehouse, product=product)


def fresh(obj):
    """Re-read a row (FSM-protected fields cannot be refreshed in place)."""
    return type(obj).objects.get(pk=obj.pk)


@pytest.fixture(autouse=True)
def auto_approving_policy(db):
    """These tests run with a policy that approves transit damage, wrong items and defects at
    once (the default approves nothing: every return waits for staff)."""
    from returns.models import ReturnPolicy, ReturnReason

    policy = ReturnPolicy.load()
    policy.auto_approve_reasons = [
        ReturnReason.DAMAGED_IN_TRANSIT.value,
        ReturnReason.WRONG_ITEM.value,
        ReturnReason.DEFECTIVE.value,
    ]
    policy.save()
    return policy
