"""Backorders: filled oldest first when stock is received; substitution; cancelling the
backordered part of a line."""

import datetime

import pytest
from django.utils import timezone

from inventory.models import Allocation, StockLevel
from orders.exceptions import OrderValidationError, TransitionNotAllowedNow
from orders.models import EventType, Order, OrderStatus
from orders.services import (
    backorders_fill,
    order_line_cancel_backorder,
    order_line_substitute,
    stock_receipt_record,
)
from tests.factories import ProductFactory, WarehouseFactory, place, receive

from .helpers import assert_invariants, fresh, snapshot

S = OrderStatus


def backordered(product, quantity, *, days_ago: int) -> Order:
    order = place({product: quantity})
    Order.objects.filter(pk=order.pk).update(
        placed_at=timezone.now() - datetime.timedelta(days=days_ago)
    )
    return fresh(order)


def test_receipt_fills_backorders_oldest_first(leeds, product):
    newest = backordered(product, 2, days_ago=1)
    oldest = backordered(product, 2, days_ago=3)
    middle = backordered(product, 2, days_ago=2)
    assert {o.status for o in (newest, oldest, middle)} == {S.BACKORDERED}

    movements, filled = stock_receipt_record(
        warehouse=leeds, lines=[(product, 5)], reference="PO-9"
    )
    assert [o.pk for o in filled] == [oldest.pk, middle.pk, newest.pk]  # all got stock
    assert len(movements) == 1 and movements[0].quantity == 5
    assert fresh(oldest).status == S.ALLOCATED
    assert fresh(middle).status == S.ALLOCATED
    newest = fresh(newest)
    assert newest.status == S.BACKORDERED
    assert newest.lines.get().quantity_allocated == 1  # the last unit goes to the next in line
    level = StockLevel.objects.get(product=product)
    assert (level.on_hand, level.reserved) == (5, 5)
    assert fresh(oldest).events.filter(type=EventType.ALLOCATED).exists()
    assert_invariants()

    receive(leeds, {product: 1})  # tops up the allocation the newest order already has
    assert fresh(newest).status == S.ALLOCATED
    assert Allocation.objects.get(order_line__order=newest).quantity == 2
    assert_invariants()


def test_receipt_in_another_warehouse_fills_backorders(leeds, product):
    order = place({product: 2})
    paris = WarehouseFactory(code="PAR", country="FR")
    receive(paris, {product: 2})
    assert fresh(order).status == S.ALLOCATED
    assert StockLevel.objects.get(warehouse=paris).reserved == 2
    assert StockLevel.objects.filter(warehouse=leeds).count() == 0
    assert_invariants()


def test_receipt_fills_only_the_received_products(leeds, product, other_product):
    order = place({product: 1, other_product: 1})
    receive(leeds, {product: 5})
    order = fresh(order)
    assert order.status == S.BACKORDERED
    lines = {li.product.sku: li for li in order.lines.all()}
    assert lines["MUG-BLUE"].quantity_allocated == 1
    assert lines["TEE-M"].quantity_backordered == 1
    receive(leeds, {other_product: 5})
    assert fresh(order).status == S.ALLOCATED
    assert_invariants()


def test_orders_on_hold_or_cancelled_are_skipped(leeds, product):
    from orders.services import order_cancel, order_hold

    held = backordered(product, 1, days_ago=3)
    cancelled = backordered(product, 1, days_ago=2)
    waiting = backordered(product, 1, days_ago=1)
    order_hold(order=held)
    order_cancel(order=cancelled)
    _movements, filled = stock_receipt_record(warehouse=leeds, lines=[(product, 1)])
    assert [o.pk for o in filled] == [waiting.pk]
    assert fresh(held).lines.get().quantity_allocated == 0
    assert fresh(cancelled).lines.get().quantity_allocated == 0


def test_backorders_fill_gives_existing_stock(leeds, product):
    order = place({product: 2})
    # stock that arrived without the receipt service (e.g. an adjustment after a count)
    from inventory.services import stock_adjust, stock_levels_ensure

    stock_levels_ensure(warehouse=leeds, products=[product])
    stock_adjust(stock_level=StockLevel.objects.get(product=product), quantity=3, reason="count")
    assert [o.pk for o in backorders_fill(products=[product])] == [order.pk]
    assert fresh(order).status == S.ALLOCATED
    assert_invariants()


# --- substitution --------------------------------------------------------------------------------
def test_substitute_backordered_line(leeds, product, other_product, staff_user):
    receive(leeds, {product: 1, other_product: 5})
    order = place({product: 3})
    line = order.lines.get()
    assert line.quantity_backordered == 2
    new_line = order_line_substitute(
        line=line, product=other_product, user=staff_user, reason="customer agreed"
    )
    order = fresh(order)
    assert order.status == S.ALLOCATED
    line.refresh_from_db()
    assert (line.quantity_allocated, line.quantity_cancelled) == (1, 2)
    new_line.refresh_from_db()
    assert new_line.product == other_product
    assert (new_line.quantity, new_line.quantity_allocated) == (2, 2)
    assert new_line.unit_price == line.unit_price  # 9.90, the lower of 9.90 and 15.00
    assert new_line.substituted_from == line
    event = order.events.get(type=EventType.LINE_SUBSTITUTED)
    assert event.user == staff_user
    assert event.details["original_sku"] == "MUG-BLUE"
    assert event.details["substitute_sku"] == "TEE-M"
    assert event.details["quantity"] == 2
    assert event.details["unit_price_charged"] == "9.90"
    assert_invariants()


def test_substitute_without_stock_is_refused(leeds, product, other_product):
    order = place({product: 2})
    before = snapshot(order)
    with pytest.raises(OrderValidationError) as exc:
        order_line_substitute(line=order.lines.get(), product=other_product)
    assert "would be backordered too" in " ".join(exc.value.errors["product"])
    assert snapshot(order) == before
    assert fresh(order).status == S.BACKORDERED


@pytest.mark.parametrize(
    ("case", "field", "text"),
    [
        ("same", "product", "different product"),
        ("inactive", "product", "no longer sold"),
        ("on_order", "product", "is already on order"),
        ("currency", "product", "priced in USD"),
        ("nothing_backordered", "line", "nothing backordered to substitute"),
    ],
)
def test_substitute_refused(leeds, product, other_product, case, field, text):
    substitute = {
        "same": product,
        "inactive": ProductFactory(sku="OLD", is_active=False),
        "on_order": other_product,
        "currency": ProductFactory(sku="USD-1", currency="USD"),
        "nothing_backordered": ProductFactory(sku="ANY"),
    }[case]
    receive(leeds, {other_product: 5})
    order = place({product: 2, other_product: 1})
    line = order.lines.get(product=other_product if case == "nothing_backordered" else product)
    before = snapshot(order)
    with pytest.raises(OrderValidationError) as exc:
        order_line_substitute(line=line, product=substitute)
    assert text in " ".join(exc.value.errors[field])
    assert snapshot(order) == before


def test_substitute_refused_when_order_is_not_backordered(leeds, product, other_product):
    receive(leeds, {product: 5})
    order = place({product: 2})
    before = snapshot(order)
    with pytest.raises(TransitionNotAllowedNow) as exc:
        order_line_substitute(line=order.lines.get(), product=other_product)
    assert "cannot be changed while it is allocated" in exc.value.message
    assert snapshot(order) == before


# --- cancelling the backordered part -------------------------------------------------------------
def test_cancel_backordered_part_allocates_the_rest(leeds, product, other_product):
    receive(leeds, {product: 1, other_product: 5})
    order = place({product: 3, other_product: 1})
    assert fresh(order).total == 3 * product.unit_price + other_product.unit_price
    order_line_cancel_backorder(line=order.lines.get(product=product), reason="won't wait")
    order = fresh(order)
    assert order.status == S.ALLOCATED
    line = order.lines.get(product=product)
    assert (line.quantity_allocated, line.quantity_cancelled, line.quantity_backordered) == (
        1,
        2,
        0,
    )
    assert order.total == product.unit_price + other_product.unit_price
    assert order.events.filter(type=EventType.LINE_CANCELLED).get().details["quantity"] == 2
    assert_invariants()


def test_cancel_every_backordered_line_cancels_the_order(leeds, product):
    order = place({product: 2})
    result = order_line_cancel_backorder(line=order.lines.get())
    assert result.status == S.CANCELLED
    assert fresh(order).status == S.CANCELLED


def test_cancel_backorder_refused(leeds, product, other_product):
    receive(leeds, {product: 5})
    order = place({product: 2})
    before = snapshot(order)
    with pytest.raises(TransitionNotAllowedNow):
        order_line_cancel_backorder(line=order.lines.get())
    assert snapshot(order) == before
    waiting = place({product: 2, other_product: 1})
    before = snapshot(waiting)
    with pytest.raises(OrderValidationError) as exc:
        order_line_cancel_backorder(line=waiting.lines.get(product=product))
    assert "nothing backordered to cancel" in exc.value.message
    assert snapshot(waiting) == before


# --- units freed by other actions reach backordered orders (after commit) -----------------------
@pytest.mark.django_db
def test_cancelling_an_order_gives_its_units_to_a_backordered_order(
    django_capture_on_commit_callbacks,
):
    from orders.services import order_cancel

    warehouse = WarehouseFactory(code="FRE")
    tee = ProductFactory(sku="TEE-FREE")
    receive(warehouse, {tee: 3})
    first = place({tee: 3})
    waiting = place({tee: 3}, email="second@example.com")
    assert (first.status, waiting.status) == (S.ALLOCATED, S.BACKORDERED)
    with django_capture_on_commit_callbacks(execute=True):
        order_cancel(order=first, reason="customer changed mind")
    assert fresh(waiting).status == S.ALLOCATED
    level = StockLevel.objects.get(product=tee)
    assert (level.on_hand, level.reserved) == (3, 3)
    assert_invariants()


@pytest.mark.django_db
def test_adjusting_stock_up_fills_backorders(django_capture_on_commit_callbacks):
    from inventory.services import stock_adjust

    warehouse = WarehouseFactory(code="ADJ")
    cup = ProductFactory(sku="CUP-ADJ")
    receive(warehouse, {cup: 1})
    waiting = place({cup: 2})
    assert waiting.status == S.BACKORDERED
    level = StockLevel.objects.get(product=cup)
    with django_capture_on_commit_callbacks(execute=True):
        stock_adjust(stock_level=level, quantity=1, reason="found one in the count")
    assert fresh(waiting).status == S.ALLOCATED
    assert_invariants()


@pytest.mark.django_db
def test_sweep_fills_only_what_free_stock_allows():
    from orders.services import backorders_sweep, order_cancel

    warehouse = WarehouseFactory(code="SWP")
    pen = ProductFactory(sku="PEN-SWP")
    receive(warehouse, {pen: 1})
    holder = place({pen: 1})
    older = backordered(pen, 1, days_ago=2)
    newer = backordered(pen, 1, days_ago=1)
    # The cancellation frees a unit; its after-commit task never ran (a worker was down).
    order_cancel(order=holder, reason="duplicate")
    assert fresh(older).status == S.BACKORDERED
    assert backorders_sweep() == [fresh(older)]  # the older order first: it takes the unit
    assert fresh(newer).status == S.BACKORDERED
    assert backorders_sweep() == []  # nothing free any more: nothing to do
    assert_invariants()
