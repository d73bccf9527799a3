"""Placement writes its whole history, and the messages it causes, once (``events.collected``):
the history reads as before, in order, and a failure leaves nothing behind."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from notifications.models import OutboxMessage
from notifications.rendering import render  # the worker renders the text when it sends
from orders import events
from orders.models import EventType, OrderEvent, OrderStatus
from tests.factories import ProductFactory, WarehouseFactory, place, receive

pytestmark = pytest.mark.django_db


@pytest.fixture
def mug():
    product = ProductFactory(sku="MUG-BLUE", name="Blue mug", unit_price="9.90")
    receive(WarehouseFactory(code="LDS", country="GB"), {product: 3})
    return product


def _history(order):
    return [
        (e.type, e.from_status, e.to_status)
        for e in OrderEvent.objects.filter(order=order).order_by("pk")
    ]


def test_an_allocated_order_has_its_whole_history_in_order(mug):
    order = place({mug: 2})

    assert order.status == OrderStatus.ALLOCATED
    assert _history(order) == [
        (EventType.PLACED, "", OrderStatus.PLACED),
        (EventType.STATUS_CHANGED, OrderStatus.PLACED, OrderStatus.CONFIRMED),
        (EventType.ALLOCATED, "", ""),
        (EventType.STATUS_CHANGED, OrderStatus.CONFIRMED, OrderStatus.ALLOCATED),
        (EventType.SHIPMENT_CREATED, "", ""),
    ]
    [confirmation] = OutboxMessage.objects.filter(order=order)
    assert confirmation.purpose == "order_confirmed"
    assert "2 x Blue mug (MUG-BLUE) at 9.90 EUR" in render(confirmation).body_text
    assert confirmation.event.type == EventType.STATUS_CHANGED


def test_a_short_order_is_confirmed_and_told_it_waits(mug):
    order = place({mug: 5})

    assert order.status == OrderStatus.BACKORDERED
    assert [t for t, _, _ in _history(order)] == [
        EventType.PLACED,
        EventType.STATUS_CHANGED,
        EventType.ALLOCATED,
        EventType.BACKORDERED,
        EventType.STATUS_CHANGED,
    ]
    # One e-mail says both (issue 12): confirmed, and which lines wait.
    [message] = OutboxMessage.objects.filter(order=order)
    assert message.purpose == "order_confirmed"
    assert "2 x " in render(message).body_text.split("not in stock right now")[1]
    assert order.lines.get().quantity_allocated == 3


def test_a_second_order_of_the_customer_gets_its_own_messages(mug):
    first, second = place({mug: 1}), place({mug: 1})

    keys = set(OutboxMessage.objects.values_list("dedupe_key", flat=True))
    assert {f"email:{first.number}:confirmed", f"email:{second.number}:confirmed"} <= keys


def test_nothing_collected_is_written_when_the_block_fails(mug):
    """No surrounding atomic block here: were the collected history written on the way out,
    nothing would roll it back, and it would be counted below."""
    order = place({mug: 1})
    before = OrderEvent.objects.count()
    outbox_before = OutboxMessage.objects.count()

    with (
        CaptureQueriesContext(connection) as queries,
        pytest.raises(RuntimeError),
        events.collected(),
    ):
        events.event_write(order=order, type=EventType.NOTE, message="never written")
        events.status_changed(order=order, from_status=OrderStatus.PLACED)
        raise RuntimeError("boom")

    assert not [q for q in queries.captured_queries if "INSERT" in q["sql"].upper()]
    assert OrderEvent.objects.count() == before
    assert OutboxMessage.objects.count() == outbox_before


def test_nested_blocks_write_once_when_the_outer_one_ends(mug):
    order = place({mug: 1})
    before = OrderEvent.objects.count()

    with transaction.atomic(), events.collected():
        with events.collected():
            events.event_write(order=order, type=EventType.NOTE, message="inner")
        assert OrderEvent.objects.count() == before  # not yet
        events.event_write(order=order, type=EventType.NOTE, message="outer")

    notes = OrderEvent.objects.filter(order=order, type=EventType.NOTE).order_by("pk")
    assert [e.message for e in notes] == ["inner", "outer"]
