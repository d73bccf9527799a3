"""Stock counts (orders.stock_counts): a count is a fact. Below what is reserved, the newest
orders' reservations go back to backorders, with history and a staff alert."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from fulfillment.models import Shipment, ShipmentStatus
from fulfillment.services import picklist_create
from inventory.models import Allocation, MovementKind, StockLevel, StockMovement
from notifications.models import OutboxMessage
from notifications.rendering import render
from orders.exceptions import OrderValidationError
from orders.models import EventType, OrderEvent, OrderStatus
from orders.services import order_hold, order_release
from orders.stock_counts import stock_count_record
from tests.factories import ProductFactory, UserFactory, WarehouseFactory, place, receive
from tests.orders.helpers import assert_invariants, fresh, snapshot

pytestmark = pytest.mark.django_db

S = OrderStatus


@pytest.fixture(autouse=True)
def _alerts(settings):
    settings.OMS_STAFF_ALERT_EMAIL = "ops@example.com"


@pytest.fixture
def leeds(db):
    return WarehouseFactory(code="LDS", name="Leeds", country="GB")


@pytest.fixture
def mug(db):
    return ProductFactory(sku="MUG-BLUE", name="Blue mug")


def level(product, warehouse) -> StockLevel:
    return StockLevel.objects.get(product=product, warehouse=warehouse)


def allocated(order) -> int:
    return sum(line.quantity_allocated for line in order.lines.all())


@pytest.fixture
def three_orders(leeds, mug):
    """10 mugs in Leeds, all reserved: oldest 4, then 3, newest 3."""
    receive(leeds, {mug: 10})
    orders = [
        place({mug: 4}, email="first@example.com"),
        place({mug: 3}, email="second@example.com"),
        place({mug: 3}, email="third@example.com"),
    ]
    assert [fresh(o).status for o in orders] == [S.ALLOCATED] * 3
    return orders


def test_a_count_below_reserved_backorders_the_newest_reservations(three_orders, leeds, mug):
    first, second, third = three_orders
    clerk = UserFactory(username="counter", is_staff=True)

    result = stock_count_record(
        warehouse=leeds, sku="mug-blue", counted=5, user=clerk, reason="Shelf count"
    )

    stock = level(mug, leeds)
    assert (stock.on_hand, stock.reserved) == (5, 5)
    assert (result.previous_on_hand, result.counted, result.difference) == (10, 5, -5)
    assert result.backordered == {third.number: {"MUG-BLUE": 3}, second.number: {"MUG-BLUE": 2}}
    assert result.units_backordered == 5
    # The newest order lost all its units, the next one two; the oldest keeps its stock.
    assert [allocated(o) for o in (first, second, third)] == [4, 1, 0]
    assert [fresh(o).status for o in (first, second, third)] == [
        S.ALLOCATED,
        S.BACKORDERED,
        S.BACKORDERED,
    ]
    line = third.lines.get()
    assert line.quantity_backordered == 3
    # The ledger shows the count; on_hand equals the ledger, reserved the allocations.
    movement = StockMovement.objects.filter(stock_level=stock).order_by("pk").last()
    assert (movement.kind, movement.quantity, movement.on_hand_after) == (
        MovementKind.ADJUSTMENT,
        -5,
        5,
    )
    assert movement.reason == "Shelf count" and movement.created_by == clerk
    assert result.movement == movement
    assert_invariants()
    # History on each order that lost units, none on the oldest.
    lost = OrderEvent.objects.get(order=third, type=EventType.BACKORDERED, details__stock_count=5)
    assert lost.message == (
        "A stock count found 5 × MUG-BLUE in LDS: 3 × MUG-BLUE no longer reserved, waiting for "
        "stock."
    )
    assert lost.user == clerk
    assert OrderEvent.objects.filter(
        order=second,
        type=EventType.STATUS_CHANGED,
        from_status=S.ALLOCATED,
        to_status=S.BACKORDERED,
    ).exists()
    assert not OrderEvent.objects.filter(order=first, details__stock_count=5).exists()
    # Their pending shipments are cancelled; the oldest order's stays.
    assert set(
        Shipment.objects.filter(order__in=[second, third]).values_list("status", flat=True)
    ) == {ShipmentStatus.CANCELLED}
    assert Shipment.objects.get(order=first).status == ShipmentStatus.PENDING
    # Their customers hear that the units are waiting for stock.
    told = OutboxMessage.objects.get(order=third, purpose="order_backordered")
    assert told.recipient == "third@example.com"
    # One staff alert naming the orders.
    alert = render(OutboxMessage.objects.get(purpose="staff_alert"))  # as the worker sends it
    assert "5 × MUG-BLUE at LDS went back to backorders" in alert.subject
    assert f"{third.number}: 3 × MUG-BLUE" in alert.body_text
    assert f"{second.number}: 2 × MUG-BLUE" in alert.body_text

    # Stock arriving fills them again, oldest first, with new shipments.
    receive(leeds, {mug: 3})
    assert [fresh(o).status for o in (second, third)] == [S.ALLOCATED, S.BACKORDERED]
    assert Shipment.objects.filter(order=second, status=ShipmentStatus.PENDING).count() == 1
    assert_invariants()


def test_a_count_above_or_equal_changes_no_order(three_orders, leeds, mug):
    result = stock_count_record(warehouse=leeds, sku=mug, counted=12)
    assert (result.difference, result.backordered) == (2, {})
    assert level(mug, leeds).on_hand == 12
    assert result.movement.quantity == 2 and result.movement.reason == "Stock count"

    same = stock_count_record(warehouse=leeds, sku=mug, counted=12)
    assert same.movement is None and same.difference == 0
    assert [fresh(o).status for o in three_orders] == [S.ALLOCATED] * 3
    assert not OutboxMessage.objects.filter(purpose="staff_alert").exists()
    assert_invariants()


def test_a_count_of_an_unstocked_product_creates_its_row(leeds, mug):
    stock_count_record(warehouse=leeds, sku="MUG-BLUE", counted=7)
    assert level(mug, leeds).on_hand == 7
    assert_invariants()


def test_an_order_on_hold_goes_back_to_waiting_for_stock(three_orders, leeds, mug):
    third = three_orders[2]
    order_hold(order=third, reason="Customer called")

    stock_count_record(warehouse=leeds, sku=mug, counted=7)

    held = fresh(third)
    assert (held.status, held.held_from_status) == (S.ON_HOLD, S.BACKORDERED)
    assert Shipment.objects.get(order=third).status == ShipmentStatus.CANCELLED
    receive(leeds, {mug: 3})  # receipts fill only backordered orders, not held ones
    assert allocated(third) == 0
    released = order_release(order=fresh(third))
    assert released.status == S.ALLOCATED and allocated(third) == 3
    assert_invariants()


def test_units_of_orders_being_picked_are_not_taken(leeds, mug):
    receive(leeds, {mug: 5})
    picking = place({mug: 3})
    waiting = place({mug: 2})
    picklist_create(warehouse=leeds, shipments=list(Shipment.objects.filter(order=picking)))
    assert fresh(picking).status == S.PROCESSING

    # 2 units can come from the newer order's reservation.
    stock_count_record(warehouse=leeds, sku=mug, counted=3)
    assert allocated(waiting) == 0 and allocated(picking) == 3
    before = snapshot(picking)

    with pytest.raises(OrderValidationError) as refused:
        stock_count_record(warehouse=leeds, sku=mug, counted=2)

    assert refused.value.errors["counted"] == [
        f"MUG-BLUE @ LDS: 2 counted, but 3 units are reserved for orders already being picked "
        f"or shipped ({picking.number}); they may be off the shelf: count them too."
    ]
    assert snapshot(picking) == before
    assert level(mug, leeds).on_hand == 3
    assert_invariants()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"counted": -1}, "counted"),
        ({"counted": "5"}, "counted"),
        ({"counted": True}, "counted"),
        ({"sku": "NOPE"}, "sku"),
        ({"sku": "  "}, "sku"),
        ({"counted": 2_000_000}, "counted"),
        ({"warehouse": None}, "warehouse"),
    ],
)
def test_bad_input_is_named_and_changes_nothing(three_orders, leeds, mug, kwargs, field):
    arguments = {"warehouse": leeds, "sku": "MUG-BLUE", "counted": 1, **kwargs}
    with pytest.raises(OrderValidationError) as refused:
        stock_count_record(**arguments)
    assert field in refused.value.errors
    stock = level(mug, leeds)
    assert (stock.on_hand, stock.reserved) == (10, 10)
    assert Allocation.objects.count() == 3


# --- the page ----------------------------------------------------------------------------------
@pytest.fixture
def storekeeper(client, db):
    user = UserFactory(username="store", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_stocklevel", "change_stocklevel", "view_stockmovement"]
        )
    )
    client.force_login(user)
    return user


def test_the_adjust_page_records_a_count_below_reserved(
    client, storekeeper, three_orders, leeds, mug
):
    stock = level(mug, leeds)
    page = client.get(reverse("inventory:adjust", args=[stock.pk])).content.decode()
    assert reverse("stock_count", args=[stock.pk]) in page
    assert "Record a count" in page

    response = client.post(
        reverse("stock_count", args=[stock.pk]),
        {"counted": "5", "reason": "Cycle count"},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == reverse("inventory:ledger", args=["MUG-BLUE"])
    text = response.content.decode()
    assert "counted 5 (was 10)" in text
    assert f"5 reserved units went back to backorders: {three_orders[2].number}" in text
    assert (level(mug, leeds).on_hand, level(mug, leeds).reserved) == (5, 5)


def test_the_count_form_shows_errors(client, storekeeper, three_orders, leeds, mug):
    stock = level(mug, leeds)
    response = client.post(reverse("stock_count", args=[stock.pk]), {"counted": "-3"})
    assert response.status_code == 400
    assert "greater than or equal to 0" in response.content.decode()
    assert level(mug, leeds).on_hand == 10


def test_the_adjust_error_points_to_a_count(client, storekeeper, three_orders, leeds, mug):
    stock = level(mug, leeds)
    response = client.post(
        reverse("inventory:adjust", args=[stock.pk]), {"quantity": "-5", "reason": "count"}
    )
    assert "record the count instead" in response.content.decode()


def test_a_count_that_takes_a_late_orders_stock_clears_its_late_flag(three_orders, leeds, mug):
    """The new promise is saved with a cleared flag, so missing it tells the customer again."""
    import datetime

    from django.utils import timezone

    from orders.models import Order

    third = three_orders[2]
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    Order.objects.filter(pk=third.pk).update(
        promised_ship_date=yesterday, late_since=timezone.now(), late_notified=True
    )

    stock_count_record(warehouse=leeds, sku="MUG-BLUE", counted=7, reason="Cycle count")

    third = fresh(third)
    assert third.status == S.BACKORDERED
    assert third.promised_ship_date > timezone.localdate()
    assert (third.late_since, third.late_notified) == (None, False)
