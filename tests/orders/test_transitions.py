"""Every staff transition allowed and refused. A refused one leaves the order, its lines, its
reservations and its history untouched and says why."""

import pytest
from django.contrib.auth.models import Permission
from django.db import transaction
from django_fsm import ConcurrentTransition, has_transition_perm

from inventory.models import Allocation, StockLevel, StockMovement
from inventory.services import stock_consume
from orders.exceptions import OrderValidationError, TransitionNotAllowedNow
from orders.models import EventType, Order, OrderLine, OrderStatus
from orders.services import (
    available_transitions,
    order_cancel,
    order_confirm,
    order_hold,
    order_release,
    order_transition,
)
from tests.factories import UserFactory, place, receive

from .helpers import assert_invariants, fresh, snapshot

S = OrderStatus


def _ship_everything_of(order: Order, quantity: int | None = None) -> None:
    """What fulfillment does when a parcel leaves: consume the reservation, count it shipped."""
    for allocation in Allocation.objects.filter(order_line__order=order):
        qty = allocation.quantity if quantity is None else quantity
        line_id = allocation.order_line_id
        stock_consume(allocation=allocation, quantity=qty, reference=order.number)
        line = OrderLine.objects.get(pk=line_id)
        line.quantity_allocated -= qty
        line.quantity_shipped += qty
        line.save(update_fields=["quantity_allocated", "quantity_shipped"])


def make(state: str, product, warehouse) -> Order:
    """An order in ``state``, reached through the services where they exist and through the
    model's own transitions (what fulfillment's services call) for the warehouse states."""
    if state == S.PLACED:
        return fresh(place({product: 2}, channel_code="phone"))
    if state == S.BACKORDERED:
        return fresh(place({product: 2}))
    if state == S.CONFIRMED:
        order = fresh(place({product: 2}, channel_code="phone"))
        order.confirm()
        order.save()
        return fresh(order)
    receive(warehouse, {product: 10})
    order = fresh(place({product: 2}))
    assert order.status == S.ALLOCATED
    if state == S.ALLOCATED:
        return order
    if state == S.ON_HOLD:
        return fresh(order_hold(order=order, reason="customer called"))
    if state == S.CANCELLED:
        return fresh(order_cancel(order=order))
    order.start_processing()
    order.save()
    if state == S.PROCESSING:
        return fresh(order)
    if state == S.PARTIALLY_SHIPPED:
        _ship_everything_of(order, quantity=1)
        order.mark_partially_shipped()
        order.save()
        return fresh(order)
    _ship_everything_of(order)
    order.mark_shipped()
    order.save()
    if state == S.SHIPPED:
        return fresh(order)
    order.mark_delivered()
    order.save()
    return fresh(order)


ALL = list(S.values)
HOLDABLE = [S.PLACED, S.CONFIRMED, S.BACKORDERED, S.ALLOCATED, S.PROCESSING]
CANCELLABLE = [*HOLDABLE, S.ON_HOLD]


def assert_refused(service, order, *, says: str, **kwargs):
    before = snapshot(order)
    stock = list(StockLevel.objects.order_by("pk").values())
    with pytest.raises(TransitionNotAllowedNow) as exc:
        service(order=order, **kwargs)
    assert exc.value.status == order.status
    assert order.number in exc.value.message
    assert says in exc.value.message
    assert snapshot(order) == before
    assert list(StockLevel.objects.order_by("pk").values()) == stock


# --- confirm -------------------------------------------------------------------------------------
def test_confirm_placed_order_reserves_stock(leeds, product, staff_user):
    receive(leeds, {product: 10})
    order = make(S.PLACED, product, leeds)
    result = order_confirm(order=order, user=staff_user)
    assert result.status == S.ALLOCATED
    assert order.status == S.ALLOCATED  # the caller's instance is brought up to date
    assert fresh(order).confirmed_at is not None
    assert StockLevel.objects.get(product=product).reserved == 2
    confirmed = fresh(order).events.get(to_status=S.CONFIRMED)
    assert (confirmed.from_status, confirmed.user) == (S.PLACED, staff_user)


@pytest.mark.parametrize("state", [s for s in ALL if s != S.PLACED])
def test_confirm_refused(leeds, product, state):
    order = make(state, product, leeds)
    label = S(state).label.lower()
    assert_refused(order_confirm, order, says=f"cannot be confirmed while it is {label}")


# --- hold and release ----------------------------------------------------------------------------
@pytest.mark.parametrize("state", HOLDABLE)
def test_hold_and_release_return_to_the_state_held_from(leeds, product, staff_user, state):
    order = make(state, product, leeds)
    held = order_hold(order=order, user=staff_user, reason="address check")
    assert fresh(held).status == S.ON_HOLD
    assert fresh(held).held_from_status == state
    assert fresh(held).hold_reason == "address check"
    released = order_release(order=held, user=staff_user)
    assert released.status == state
    row = fresh(order)
    assert (row.status, row.held_from_status, row.hold_reason) == (state, "", "")
    history = list(
        row.events.filter(type=EventType.STATUS_CHANGED).values_list("from_status", "to_status")
    )[-2:]
    assert history == [(state, S.ON_HOLD), (S.ON_HOLD, state)]


@pytest.mark.parametrize("state", [s for s in ALL if s not in HOLDABLE])
def test_hold_refused(leeds, product, state):
    order = make(state, product, leeds)
    label = S(state).label.lower()
    assert_refused(order_hold, order, says=f"cannot be put on hold while it is {label}")


@pytest.mark.parametrize("state", [s for s in ALL if s != S.ON_HOLD])
def test_release_refused(leeds, product, state):
    order = make(state, product, leeds)
    label = S(state).label.lower()
    assert_refused(order_release, order, says=f"cannot be released while it is {label}")


def test_releasing_a_backordered_order_gives_it_the_stock_that_arrived(leeds, product):
    order = make(S.BACKORDERED, product, leeds)
    order_hold(order=order)
    receive(leeds, {product: 5})  # receipts fill backordered orders only; this one is on hold
    assert fresh(order).lines.get().quantity_allocated == 0
    order_release(order=order)
    assert fresh(order).status == S.ALLOCATED
    assert StockLevel.objects.get(product=product).reserved == 2
    assert_invariants()


# --- cancel --------------------------------------------------------------------------------------
@pytest.mark.parametrize("state", CANCELLABLE)
def test_cancel_allowed(leeds, product, staff_user, state):
    order = make(state, product, leeds)
    ledger = StockMovement.objects.count()
    result = order_cancel(order=order, user=staff_user, reason="customer changed mind")
    assert result.status == S.CANCELLED
    row = fresh(order)
    assert row.status == S.CANCELLED and row.cancelled_at is not None
    assert [(li.quantity_cancelled, li.quantity_allocated) for li in row.lines.all()] == [(2, 0)]
    assert not Allocation.objects.filter(order_line__order=order).exists()
    assert StockMovement.objects.count() == ledger  # releasing does not touch on_hand
    last = row.events.filter(type=EventType.STATUS_CHANGED).last()
    assert (last.from_status, last.to_status) == (state, S.CANCELLED)
    assert last.message == "customer changed mind"
    assert_invariants()


@pytest.mark.parametrize(
    ("state", "says"),
    [
        (S.CANCELLED, "cannot be cancelled while it is cancelled"),
        (S.PARTIALLY_SHIPPED, "units have already shipped"),
        (S.SHIPPED, "4 units have already shipped"),
        (S.DELIVERED, "units have already shipped"),
    ],
)
def test_cancel_refused(leeds, product, state, says):
    order = make(state, product, leeds) if state != S.SHIPPED else None
    if order is None:  # two lines of 2, to see the count in the message
        from tests.factories import ProductFactory

        other = ProductFactory(sku="OTHER")
        receive(leeds, {product: 10, other: 10})
        order = fresh(place({product: 2, other: 2}))
        order.start_processing()
        order.save()
        _ship_everything_of(order)
        order.mark_shipped()
        order.save()
        order = fresh(order)
    assert_refused(order_cancel, order, says=says)


def test_cancel_refused_once_anything_shipped_even_while_processing(leeds, product):
    order = make(S.PROCESSING, product, leeds)
    OrderLine.objects.filter(order=order).update(quantity_shipped=1, quantity_allocated=1)
    assert_refused(order_cancel, order, says="1 units have already shipped")


def test_cancellation_returns_stock_from_every_warehouse(leeds, product, other_product):
    from tests.factories import WarehouseFactory

    paris = WarehouseFactory(code="PAR", country="FR")
    receive(leeds, {product: 3})
    receive(paris, {other_product: 3})
    order = place({product: 2, other_product: 3})
    assert StockLevel.objects.get(warehouse=leeds).reserved == 2
    assert StockLevel.objects.get(warehouse=paris).reserved == 3
    order_cancel(order=order)
    assert StockLevel.objects.get(warehouse=leeds).reserved == 0
    assert StockLevel.objects.get(warehouse=paris).reserved == 0
    cancelled = fresh(order).events.get(to_status=S.CANCELLED)
    assert cancelled.details["units_released"] == 5
    # the units are sellable again
    again = place({product: 3, other_product: 3})
    assert fresh(again).status == S.ALLOCATED
    assert_invariants()


# --- one order, two editors ----------------------------------------------------------------------
def test_stale_instance_save_raises_concurrent_transition(leeds, product):
    order = make(S.ALLOCATED, product, leeds)
    mine, theirs = fresh(order), fresh(order)
    order_hold(order=mine, reason="fraud check")
    theirs.cancel()
    with pytest.raises(ConcurrentTransition), transaction.atomic():
        theirs.save()
    assert fresh(order).status == S.ON_HOLD
    stale = fresh(order)
    order_release(order=fresh(order))
    with pytest.raises(ConcurrentTransition), transaction.atomic():
        stale.save()
    assert fresh(order).status == S.ALLOCATED


def test_service_refuses_an_edit_decided_on_a_stale_view(leeds, product):
    order = make(S.ALLOCATED, product, leeds)
    seen_by_other = fresh(order)
    order_hold(order=order, reason="fraud check")
    with pytest.raises(TransitionNotAllowedNow) as exc:
        order_cancel(order=seen_by_other)
    assert "changed meanwhile" in exc.value.message
    assert exc.value.status == S.ON_HOLD
    assert fresh(order).status == S.ON_HOLD
    # the same caller instance can go on: services bring it up to date
    assert order.status == S.ON_HOLD
    order_release(order=order)
    order_cancel(order=order)
    assert order.status == S.CANCELLED


def test_a_receipt_filling_the_order_meanwhile_does_not_refuse_a_cancel(leeds, product):
    """Seen backordered, filled by a receipt before the cancel takes its lock: the cancel is
    decided again on the current state and cancels (the stock flow is no one's decision)."""
    order = place({product: 2})
    seen = fresh(order)
    assert seen.status == S.BACKORDERED
    receive(leeds, {product: 2})
    assert fresh(order).status == S.ALLOCATED
    order_cancel(order=seen, reason="customer changed their mind")
    assert fresh(order).status == S.CANCELLED
    assert StockLevel.objects.get(product=product).reserved == 0
    held = place({product: 1})
    seen = fresh(held)
    order_hold(order=fresh(held), reason="fraud check")
    with pytest.raises(TransitionNotAllowedNow, match="changed meanwhile"):
        order_cancel(order=seen)  # a person decided meanwhile: still refused
    assert_invariants()


def test_status_cannot_be_assigned(leeds, product):
    order = make(S.ALLOCATED, product, leeds)
    with pytest.raises(AttributeError):
        order.status = S.SHIPPED


# --- permissions and the one entry point ---------------------------------------------------------
def test_transitions_carry_permissions(leeds, product, superuser):
    order = make(S.ALLOCATED, product, leeds)
    clerk = UserFactory(username="clerk", is_staff=True)
    assert available_transitions(order) == ["hold", "cancel"]
    assert available_transitions(order, clerk) == []
    assert not has_transition_perm(order.hold, clerk)
    clerk.user_permissions.add(Permission.objects.get(codename="hold_order"))
    clerk = type(clerk).objects.get(pk=clerk.pk)  # permission cache
    assert available_transitions(order, clerk) == ["hold"]
    assert available_transitions(order, superuser) == ["hold", "cancel"]
    placed = make(S.PLACED, product, leeds)
    assert available_transitions(placed, superuser) == ["confirm", "hold", "cancel"]
    held = fresh(order_hold(order=order))
    assert available_transitions(held, superuser) == ["release", "cancel"]


def test_order_transition_entry_point(leeds, product):
    order = make(S.ALLOCATED, product, leeds)
    assert order_transition(order=order, name="hold", reason="x").status == S.ON_HOLD
    with pytest.raises(OrderValidationError) as exc:
        order_transition(order=order, name="ship")
    assert "Unknown transition 'ship'" in exc.value.message
