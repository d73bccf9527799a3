from decimal import Decimal

import pytest

from inventory.models import MovementKind, StockLevel, StockMovement
from orders.exceptions import OrderValidationError, TransitionNotAllowedNow
from orders.models import EventType, Order, OrderLine, OrderStatus
from orders.services import order_confirm
from returns.models import (
    Disposition,
    Refund,
    RefundMethod,
    ReturnPolicy,
    ReturnRequest,
    ReturnStatus,
)
from returns.selectors import return_default_warehouse
from returns.services import (
    NOTHING_RECEIVED,
    available_transitions,
    refund_quote,
    return_approve,
    return_cancel,
    return_close,
    return_exchange,
    return_receive,
    return_refund,
    return_reject,
)
from tests.factories import (
    UserFactory,
    WarehouseFactory,
    place,
    receive,
    return_inspect,
    return_request_create,
)
from tests.returns.conftest import (
    assert_ledger_consistent,
    days_ago,
    deliver,
    fresh,
    ship,
    stock,
)

pytestmark = pytest.mark.django_db


def line(sku="MUG-BLUE", quantity=1, reason="defective", **extra):
    return {"sku": sku, "quantity": quantity, "reason": reason, **extra}


def errors_of(excinfo):
    return excinfo.value.errors


def order_line(order, sku):
    return OrderLine.objects.get(order=order, product__sku=sku)


def return_events(order):
    return list(
        order.events.filter(
            type__in=[
                EventType.RETURN_REQUESTED,
                EventType.RETURN_UPDATED,
                EventType.REFUNDED,
                EventType.EXCHANGED,
            ]
        )
    )


# --- the full refund flow ---------------------------------------------------------------------
def test_full_refund_flow(delivered_order, warehouse, mug, staff_user):
    rma = return_request_create(
        order=delivered_order, lines=[line(quantity=2, note="Handle came off")], user=staff_user
    )
    assert rma.number == f"RMA-{rma.pk:06d}"
    # defective is auto-approved by the default policy
    assert fresh(rma).status == ReturnStatus.APPROVED

    return_receive(return_request=rma, user=staff_user)
    assert fresh(rma).status == ReturnStatus.RECEIVED
    assert stock(warehouse, mug).on_hand == 0

    return_inspect(
        return_request=rma,
        lines={"MUG-BLUE": {"sellable": 2, "damaged": 0, "condition": "As new"}},
        warehouse=warehouse,
        user=staff_user,
    )
    level = stock(warehouse, mug)
    assert (level.on_hand, level.reserved) == (2, 0)
    movement = StockMovement.objects.filter(stock_level=level).first()
    assert (movement.kind, movement.quantity, movement.reference) == (
        MovementKind.RETURN_RESTOCK,
        2,
        rma.number,
    )
    rl = fresh(rma).lines.get()
    assert (rl.quantity_sellable, rl.disposition, rl.condition) == (
        2,
        Disposition.RESTOCKED,
        "As new",
    )

    refund = return_refund(
        return_request=rma, user=staff_user, method=RefundMethod.STORE_CREDIT, reference="SC-1"
    )
    assert refund.amount == Decimal("20.00")
    assert refund.restocking_fee == Decimal("0")
    assert refund.currency == "EUR"
    assert fresh(rma).status == ReturnStatus.REFUNDED
    assert order_line(delivered_order, "MUG-BLUE").quantity_returned == 2

    return_close(return_request=rma, user=staff_user)
    assert fresh(rma).status == ReturnStatus.CLOSED

    history = return_events(delivered_order)
    assert [e.type for e in history] == [
        EventType.RETURN_REQUESTED,
        EventType.RETURN_UPDATED,  # approved
        EventType.RETURN_UPDATED,  # received
        EventType.RETURN_UPDATED,  # inspected
        EventType.REFUNDED,
        EventType.RETURN_UPDATED,  # closed
    ]
    assert all(e.details["return"] == rma.number for e in history)
    assert [e.details["status"] for e in history] == [
        "requested",
        "approved",
        "received",
        "inspected",
        "refunded",
        "closed",
    ]
    assert "write " + rma.number in history[1].details["message"]
    assert "20.00 EUR" in history[4].details["message"]
    assert history[0].user == staff_user
    assert_ledger_consistent()


def test_wrong_step_is_refused_with_409_error(delivered_order, staff_user):
    rma = return_request_create(order=delivered_order, lines=[line(reason="changed_mind")])
    assert fresh(rma).status == ReturnStatus.REQUESTED
    with pytest.raises(TransitionNotAllowedNow, match="cannot be refunded while it is requested"):
        return_refund(return_request=rma)
    with pytest.raises(TransitionNotAllowedNow):
        return_receive(return_request=rma)
    assert available_transitions(fresh(rma)) == ["approve", "reject", "cancel"]
    # staff without the permissions see no buttons
    assert available_transitions(fresh(rma), user=staff_user) == []


# --- approval, rejection, cancellation --------------------------------------------------------
def test_rejection_frees_the_units_for_another_return(delivered_order, staff_user):
    rma = return_request_create(
        order=delivered_order, lines=[line(quantity=2, reason="changed_mind")]
    )
    assert fresh(rma).status == ReturnStatus.REQUESTED
    with pytest.raises(OrderValidationError) as excinfo:
        return_reject(return_request=rma, reason="  ", user=staff_user)
    assert "reason" in errors_of(excinfo)

    return_reject(return_request=rma, reason="Used and washed.", user=staff_user)
    rejected = fresh(rma)
    assert rejected.status == ReturnStatus.REJECTED
    assert rejected.rejection_reason == "Used and washed."
    last = return_events(delivered_order)[-1]
    assert last.details["status"] == "rejected"
    assert "Used and washed." in last.details["message"]
    with pytest.raises(TransitionNotAllowedNow):
        return_approve(return_request=rma)

    again = return_request_create(order=delivered_order, lines=[line(quantity=2)])
    assert fresh(again).status == ReturnStatus.APPROVED


def test_staff_approval_of_a_change_of_mind(delivered_order, staff_user):
    rma = return_request_create(order=delivered_order, lines=[line(reason="changed_mind")])
    return_approve(return_request=rma, user=staff_user)
    assert fresh(rma).status == ReturnStatus.APPROVED
    assert fresh(rma).approved_at is not None


def test_cancelled_return_frees_its_units(delivered_order):
    rma = return_request_create(order=delivered_order, lines=[line(quantity=2)])
    return_cancel(return_request=rma, reason="Customer keeps them.")
    assert fresh(rma).status == ReturnStatus.CANCELLED
    again = return_request_create(order=delivered_order, lines=[line(quantity=2)])
    assert fresh(again).status == ReturnStatus.APPROVED  # defective: approved at once
    assert [(li.order_line.product.sku, li.quantity) for li in again.lines.all()] == [
        ("MUG-BLUE", 2)
    ]


def test_policy_decides_which_reasons_are_auto_approved(delivered_order):
    policy = ReturnPolicy.load()
    policy.auto_approve_reasons = ["changed_mind"]
    policy.save()
    assert (
        fresh(
            return_request_create(order=delivered_order, lines=[line(reason="changed_mind")])
        ).status
        == ReturnStatus.APPROVED
    )
    mixed = return_request_create(
        order=delivered_order, lines=[line(reason="changed_mind"), line("PLATE-WHITE")]
    )
    assert fresh(mixed).status == ReturnStatus.REQUESTED


# --- validation -------------------------------------------------------------------------------
def test_over_return_is_refused_counting_open_returns(delivered_order):
    return_request_create(order=delivered_order, lines=[line(quantity=1)])
    with pytest.raises(OrderValidationError) as excinfo:
        return_request_create(order=delivered_order, lines=[line(quantity=2)])
    assert errors_of(excinfo) == {
        "lines": [
            "Line 1 (MUG-BLUE): 2 requested but only 1 can be returned (2 shipped, 1 already "
            "returned or in an open return)."
        ]
    }
    return_request_create(order=delivered_order, lines=[line(quantity=1)])
    with pytest.raises(OrderValidationError, match="only 0 can be returned"):
        return_request_create(order=delivered_order, lines=[line(quantity=1)])


def test_units_missing_at_inspection_can_be_returned_later(delivered_order, warehouse):
    rma = return_request_create(order=delivered_order, lines=[line(quantity=2)])
    return_receive(return_request=rma)
    return_inspect(
        return_request=rma, lines={"MUG-BLUE": {"sellable": 1, "damaged": 0}}, warehouse=warehouse
    )
    inspected = fresh(rma).lines.get()
    assert (inspected.quantity, inspected.quantity_sellable, inspected.quantity_damaged) == (
        2,
        1,
        0,
    )
    # The unit that never arrived is still the customer's to return, and only that one.
    with pytest.raises(OrderValidationError, match="only 1 can be returned"):
        return_request_create(order=delivered_order, lines=[line(quantity=2)])
    later = return_request_create(order=delivered_order, lines=[line(quantity=1)])
    assert later.lines.get().quantity == 1


def test_sku_not_on_order_and_bad_lines_are_named(delivered_order, db):
    with pytest.raises(OrderValidationError) as excinfo:
        return_request_create(order=delivered_order, lines=[line("LAMP-RED")])
    assert errors_of(excinfo) == {
        "lines": [f"Line 1 (LAMP-RED): SKU LAMP-RED is not on order {delivered_order.number}."]
    }
    with pytest.raises(OrderValidationError) as excinfo:
        return_request_create(
            order=delivered_order,
            lines=[line(quantity=0), line("PLATE-WHITE", reason="bored"), "x", line(quantity=1)],
        )
    problems = errors_of(excinfo)["lines"]
    assert problems[0] == "Line 1 (MUG-BLUE): quantity must be a positive whole number, not 0."
    assert problems[1].startswith("Line 2 (PLATE-WHITE): reason must be one of damaged_in_transit")
    assert problems[2] == "Line 3: give an object with sku, quantity and reason."
    assert problems[3].startswith("Line 4 (MUG-BLUE): SKU MUG-BLUE is already on line 1")
    with pytest.raises(OrderValidationError) as excinfo:
        return_request_create(order=delivered_order, lines=[])
    assert list(errors_of(excinfo)) == ["lines"]
    assert not delivered_order.returns.exists()


def test_non_returnable_product_is_refused(delivered_order, plate):
    ReturnPolicy.load().non_returnable_products.add(plate)
    with pytest.raises(OrderValidationError) as excinfo:
        return_request_create(order=delivered_order, lines=[line(), line("PLATE-WHITE")])
    assert errors_of(excinfo) == {
        "lines": ["Line 2 (PLATE-WHITE): White plate cannot be returned (policy)."]
    }


def test_nothing_shipped_cannot_be_returned(warehouse, mug):
    receive(warehouse, {mug: 1})
    order = place({mug: 1})
    with pytest.raises(OrderValidationError) as excinfo:
        return_request_create(order=order, lines=[line()])
    assert "has shipped yet" in errors_of(excinfo)["order"][0]


def test_shipped_but_not_yet_delivered_can_be_returned(warehouse, mug):
    receive(warehouse, {mug: 1})
    order = ship(place({mug: 1}))
    rma = return_request_create(order=order, lines=[line(reason="damaged_in_transit")])
    assert fresh(rma).status == ReturnStatus.APPROVED


# --- the return window and the manager override -------------------------------------------------
@pytest.fixture
def late_order(warehouse, mug):
    receive(warehouse, {mug: 1})
    order = ship(place({mug: 1}))
    return deliver(order, at=days_ago(31))


def test_window_closed_is_refused(late_order):
    with pytest.raises(OrderValidationError) as excinfo:
        return_request_create(order=late_order, lines=[line()])
    message = errors_of(excinfo)["order"][0]
    assert message.startswith("The return window of 30 days after delivery closed on ")


def test_inside_window_is_accepted(warehouse, mug):
    receive(warehouse, {mug: 1})
    order = deliver(ship(place({mug: 1})), at=days_ago(29))
    rma = return_request_create(order=order, lines=[line()])
    assert fresh(rma).status == ReturnStatus.APPROVED
    assert rma.order_id == order.pk and rma.lines.get().quantity == 1


def test_window_follows_the_policy(late_order):
    policy = ReturnPolicy.load()
    policy.window_days = 45
    policy.save()
    rma = return_request_create(order=late_order, lines=[line()])  # 31 days: refused at 30
    assert rma.order_id == late_order.pk and rma.lines.get().quantity == 1


def test_window_override_needs_the_manager_permission(late_order, staff_user, manager):
    with pytest.raises(OrderValidationError) as excinfo:
        return_request_create(
            order=late_order, lines=[line()], user=staff_user, override_reason="Good customer"
        )
    assert "returns.override_return_window" in errors_of(excinfo)["override_reason"][0]
    with pytest.raises(OrderValidationError) as excinfo:
        return_request_create(
            order=late_order,
            lines=[line()],
            user=manager,
            source="api",
            override_reason="Good customer",
        )
    assert "override_reason" in errors_of(excinfo)

    rma = return_request_create(
        order=late_order, lines=[line()], user=manager, override_reason="Good customer"
    )
    rma = fresh(rma)
    assert rma.window_overridden and rma.override_reason == "Good customer"
    event = late_order.events.get(type=EventType.RETURN_REQUESTED)
    assert event.details["window_overridden"] == "Good customer"
    assert event.user == manager


# --- restocking fee, damaged goods, backorders ----------------------------------------------------
def _to_inspected(order, warehouse, lines, counts):
    rma = return_request_create(order=order, lines=lines)
    if fresh(rma).status == ReturnStatus.REQUESTED:
        return_approve(return_request=rma)
    return_receive(return_request=rma)
    return_inspect(return_request=rma, lines=counts, warehouse=warehouse)
    return rma


def test_restocking_fee_only_on_change_of_mind(delivered_order, warehouse):
    policy = ReturnPolicy.load()
    policy.restocking_fee_percent = Decimal("15")
    policy.save()
    rma = _to_inspected(
        delivered_order,
        warehouse,
        [line(quantity=2, reason="changed_mind"), line("PLATE-WHITE", reason="defective")],
        {"MUG-BLUE": {"sellable": 2, "damaged": 0}, "PLATE-WHITE": {"sellable": 0, "damaged": 1}},
    )
    refund = return_refund(return_request=rma)
    # 2 × 10.00 with 15 % kept + 1 × 10.00 in full
    assert refund.restocking_fee == Decimal("3.00")
    assert refund.amount == Decimal("27.00")
    assert "restocking fee of 3.00 EUR" in return_events(delivered_order)[-1].details["message"]


def test_damaged_goods_are_never_restocked(delivered_order, warehouse, mug, plate):
    rma = _to_inspected(
        delivered_order,
        warehouse,
        [line(quantity=2), line("PLATE-WHITE")],
        {
            "MUG-BLUE": {"sellable": 1, "damaged": 1, "condition": "one chipped"},
            "PLATE-WHITE": {"sellable": 0, "damaged": 1},
        },
    )
    mug_level, plate_level = stock(warehouse, mug), stock(warehouse, plate)
    assert (mug_level.on_hand, mug_level.available) == (1, 1)
    assert (plate_level.on_hand, plate_level.available) == (0, 0)
    # The ledger shows the damaged units coming back and written off, net zero.
    plate_moves = StockMovement.objects.filter(stock_level=plate_level, reference=rma.number)
    assert sorted((m.kind, m.quantity) for m in plate_moves) == [
        ("return_restock", 1),
        ("scrap", -1),
    ]
    mug_moves = StockMovement.objects.filter(stock_level=mug_level, reference=rma.number)
    assert sorted((m.kind, m.quantity) for m in mug_moves) == [
        ("return_restock", 2),
        ("scrap", -1),
    ]
    dispositions = {
        rl.order_line.product.sku: (rl.quantity_sellable, rl.quantity_damaged, rl.disposition)
        for rl in fresh(rma).lines.select_related("order_line__product")
    }
    assert dispositions == {
        "MUG-BLUE": (1, 1, Disposition.PARTLY_RESTOCKED),
        "PLATE-WHITE": (0, 1, Disposition.SCRAPPED),
    }
    # damaged goods are still refunded, and count as returned
    assert return_refund(return_request=rma).amount == Decimal("30.00")
    assert order_line(delivered_order, "PLATE-WHITE").quantity_returned == 1
    assert_ledger_consistent()


def test_inspection_errors_are_named(delivered_order, warehouse):
    rma = return_request_create(order=delivered_order, lines=[line(quantity=2)])
    return_receive(return_request=rma)
    with pytest.raises(OrderValidationError) as excinfo:
        return_inspect(
            return_request=rma,
            lines={"MUG-BLUE": {"sellable": 2, "damaged": 1}, "LAMP": {"sellable": 1}},
            warehouse=warehouse,
        )
    assert errors_of(excinfo)["lines"] == [
        "MUG-BLUE: 2 sellable + 1 damaged is more than the 2 units on the return.",
        "SKU LAMP is not on this return.",
    ]
    warehouse.is_active = False
    warehouse.save()
    with pytest.raises(OrderValidationError) as excinfo:
        return_inspect(
            return_request=rma, lines={"MUG-BLUE": {"sellable": -1}}, warehouse=warehouse
        )
    assert set(errors_of(excinfo)) == {"warehouse", "lines"}
    assert fresh(rma).status == ReturnStatus.RECEIVED


def test_restocked_units_fill_backorders(delivered_order, warehouse, mug):
    waiting = place({mug: 1}, email="bo@example.com")
    assert fresh(waiting).status == OrderStatus.BACKORDERED
    _to_inspected(delivered_order, warehouse, [line()], {"MUG-BLUE": {"sellable": 1, "damaged": 0}})
    assert fresh(waiting).status == OrderStatus.ALLOCATED
    level = stock(warehouse, mug)
    assert (level.on_hand, level.reserved) == (1, 1)
    assert_ledger_consistent()


# --- exchange ---
def test_exchange_with_a_backordered_replacement(delivered_order, warehouse, mug):
    rma = _to_inspected(
        delivered_order, warehouse, [line()], {"MUG-BLUE": {"sellable": 0, "damaged": 1}}
    )
    replacement = return_exchange(return_request=rma)
    replacement = fresh(replacement)
    assert replacement.status == OrderStatus.BACKORDERED  # the damaged mug was not restocked
    assert replacement.channel == delivered_order.channel
    assert replacement.customer == delivered_order.customer
    assert replacement.shipping_postal_code == delivered_order.shipping_postal_code
    assert replacement.total == Decimal("0")
    assert [(rl.product.sku, rl.quantity, rl.unit_price) for rl in replacement.lines.all()] == [
        ("MUG-BLUE", 1, Decimal("0"))
    ]
    rma = fresh(rma)
    assert rma.status == ReturnStatus.EXCHANGED
    assert rma.replacement_order == replacement
    assert replacement.replacement_for == rma
    assert order_line(delivered_order, "MUG-BLUE").quantity_returned == 1
    exchanged = delivered_order.events.get(type=EventType.EXCHANGED)
    assert replacement.number in exchanged.details["message"]
    # The customer's confirmation of the replacement shows what it costs them: nothing.
    from notifications.models import OutboxMessage
    from notifications.rendering import render  # the text the worker sends

    row = OutboxMessage.objects.get(order=replacement, purpose="order_confirmed")
    confirmation = render(row)
    assert "10.00" not in confirmation.body_text
    assert "0.00" in confirmation.body_text

    receive(warehouse, {mug: 1})
    assert fresh(replacement).status == OrderStatus.ALLOCATED
    assert fresh(replacement).total == Decimal("0")
    assert_ledger_consistent()


def test_exchange_on_a_channel_without_auto_confirm_is_confirmed(warehouse, mug, staff_user):
    receive(warehouse, {mug: 2})
    order = place({mug: 1}, channel_code="phone")
    order_confirm(order=order, user=staff_user)
    order = deliver(ship(order))
    rma = _to_inspected(order, warehouse, [line()], {"MUG-BLUE": {"sellable": 1, "damaged": 0}})
    replacement = fresh(return_exchange(return_request=rma, user=staff_user))
    assert replacement.channel.code == "phone"
    assert replacement.status == OrderStatus.ALLOCATED
    assert replacement.total == Decimal("0")
    level = stock(warehouse, mug)
    assert (level.on_hand, level.reserved) == (2, 1)
    assert_ledger_consistent()


def test_an_inspection_that_counts_nothing_is_refused(delivered_order, warehouse, mug):
    # Every unit that came back is sellable or damaged: 0 + 0 on every line means nothing
    # arrived, which would allow a 0.00 refund and an exchange of nothing.
    rma = return_request_create(
        order=delivered_order, lines=[line(quantity=2), line("PLATE-WHITE", quantity=1)]
    )
    return_receive(return_request=rma)
    with pytest.raises(OrderValidationError) as excinfo:
        return_inspect(
            return_request=rma,
            lines={"MUG-BLUE": {"sellable": 0, "damaged": 0}, "PLATE-WHITE": {}},
            warehouse=warehouse,
        )
    assert errors_of(excinfo) == {"lines": [NOTHING_RECEIVED]}
    rma = fresh(rma)
    assert rma.status == ReturnStatus.RECEIVED
    assert set(rma.lines.values_list("disposition", flat=True)) == {Disposition.PENDING}
    assert not StockMovement.objects.filter(reference=rma.number).exists()
    # An empty parcel is cancelled, freeing the units for a later return.
    return_cancel(return_request=rma, reason="The parcel was empty.")
    assert fresh(rma).status == ReturnStatus.CANCELLED
    again = return_request_create(order=delivered_order, lines=[line(quantity=2)])
    assert fresh(again).status == ReturnStatus.APPROVED  # defective: approved at once
    assert [(li.order_line.product.sku, li.quantity) for li in again.lines.all()] == [
        ("MUG-BLUE", 2)
    ]


def test_a_short_line_is_accepted_when_something_came_back(delivered_order, warehouse):
    rma = _to_inspected(
        delivered_order,
        warehouse,
        [line(quantity=2), line("PLATE-WHITE", quantity=1)],
        {"MUG-BLUE": {"sellable": 0, "damaged": 0}, "PLATE-WHITE": {"sellable": 1}},
    )
    lines = {rl.order_line.product.sku: rl for rl in fresh(rma).lines.all()}
    assert lines["MUG-BLUE"].disposition == Disposition.NOT_RECEIVED
    assert lines["PLATE-WHITE"].disposition == Disposition.RESTOCKED
    assert return_refund(return_request=rma).amount == Decimal("10.00")


def test_refund_and_exchange_of_nothing_received_are_refused(delivered_order, warehouse):
    # A return inspected with nothing received before that was refused.
    rma = return_request_create(order=delivered_order, lines=[line()])
    ReturnRequest.objects.filter(pk=rma.pk).update(status=ReturnStatus.INSPECTED)
    with pytest.raises(OrderValidationError, match="nothing to replace"):
        return_exchange(return_request=rma)
    with pytest.raises(OrderValidationError, match="nothing to refund"):
        return_refund(return_request=rma)
    assert fresh(rma).status == ReturnStatus.INSPECTED
    assert not Order.objects.exclude(pk=delivered_order.pk).exists()
    assert not Refund.objects.exists()


def test_inspection_defaults_to_the_warehouse_the_goods_shipped_from(mug, warehouse):
    york = WarehouseFactory(code="YRK", name="York", country="GB", priority=200)
    receive(york, {mug: 1})  # only York has mugs: the order ships from there
    order = deliver(ship(place({mug: 1})))
    rma = return_request_create(order=order, lines=[line()])
    return_receive(return_request=rma)

    assert return_default_warehouse(return_request=rma) == york
    return_inspect(return_request=rma, lines={"MUG-BLUE": {"sellable": 1}})

    rma = fresh(rma)
    assert rma.warehouse == york
    assert stock(york, mug).on_hand == 1
    assert not StockLevel.objects.filter(warehouse=warehouse, product=mug, on_hand__gt=0).exists()
    assert_ledger_consistent()


def test_refund_quote_is_what_the_refund_records(delivered_order, warehouse):
    rma = _to_inspected(
        delivered_order,
        warehouse,
        [line(quantity=2, reason="changed_mind"), line("PLATE-WHITE", quantity=1)],
        {"MUG-BLUE": {"sellable": 2}, "PLATE-WHITE": {"damaged": 1}},
    )
    quote = refund_quote(return_request=fresh(rma))
    assert (quote.amount, quote.restocking_fee, quote.currency, quote.units) == (
        Decimal("28.00"),
        Decimal("2.00"),
        "EUR",
        3,
    )
    refund = return_refund(return_request=rma)
    assert (refund.amount, refund.restocking_fee) == (quote.amount, quote.restocking_fee)


def test_permissions_follow_the_transitions(delivered_order, manager):
    rma = return_request_create(order=delivered_order, lines=[line(reason="changed_mind")])
    clerk = UserFactory(username="clerk", is_staff=True)
    assert available_transitions(fresh(rma), user=manager) == ["approve", "reject", "cancel"]
    assert available_transitions(fresh(rma), user=clerk) == []
