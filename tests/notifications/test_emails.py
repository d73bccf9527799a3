"""Each customer e-mail, for a real order placed through the services."""

import datetime

import pytest
from django.core import mail

from notifications.models import OutboxMessage, OutboxStatus
from notifications.services import message_id_for
from orders import events
from orders.models import EventType, OrderStatus
from orders.services import order_cancel
from tests.factories import place

pytestmark = pytest.mark.django_db


def customer_mails(to="ada@example.com"):
    return [m for m in mail.outbox if m.to == [to]]


def html_of(message):
    return next(body for body, kind in message.alternatives if kind == "text/html")


def test_confirmation_email(stocked, mug, tee, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        order = place({mug: 2, tee: 1})
    order.refresh_from_db()
    assert order.status == OrderStatus.ALLOCATED
    [message] = customer_mails()
    assert message.subject == f"Your order {order.number} is confirmed"
    assert message.from_email == "orders@acme.test"
    body = message.body
    assert "Hello Ada Park" in body
    assert f"Your order {order.number} is confirmed." in body
    assert "2 x Blue mug (MUG-BLUE) at 9.90 EUR" in body
    assert "1 x T-shirt M (TEE-M) at 15.00 EUR" in body
    assert "Total: 34.80 EUR" in body
    assert f"Estimated delivery: {order.estimated_delivery_date:%A %-d %B %Y}" in body
    assert "help@acme.test" in body and "Acme Parcels Ltd" in body
    html = html_of(message)
    assert f"<strong>{order.number}</strong>" in html and "Blue mug (MUG-BLUE)" in html
    assert 'href="mailto:help@acme.test"' in html
    assert message.extra_headers["Message-ID"] == message_id_for(f"email:{order.number}:confirmed")
    row = OutboxMessage.objects.get(dedupe_key=f"email:{order.number}:confirmed")
    assert row.status == OutboxStatus.SENT and row.attempts == 1 and row.sent_at is not None
    assert row.log.get().succeeded


def test_backorder_notice_lists_waiting_lines_new_estimate_and_options(
    warehouse, mug, tee, django_capture_on_commit_callbacks
):
    from tests.factories import receive

    with django_capture_on_commit_callbacks(execute=True):
        receive(warehouse, {mug: 1})
        order = place({mug: 3, tee: 1})
    order.refresh_from_db()
    assert order.status == OrderStatus.BACKORDERED
    # One e-mail that says both: confirmed, which lines wait, and the estimate with them.
    [notice] = customer_mails()
    assert notice.subject == f"Your order {order.number} is confirmed (some items follow later)"
    assert f"Your order {order.number} is confirmed." in notice.body
    waiting = notice.body.split("Some items are not in stock right now")[1].split("Estimated")[0]
    assert "2 x Blue mug (MUG-BLUE)" in waiting
    assert "1 x T-shirt M (TEE-M)" in waiting
    estimate = f"{order.estimated_delivery_date:%A %-d %B %Y}"
    assert f"Estimated delivery, with these items: {estimate}." in notice.body
    assert notice.body.count("Estimated delivery") == 1  # one date, not two
    for option in ("- substitute:", "- cancel the line:"):
        assert option in notice.body
    assert "<strong>cancel the line</strong>" in html_of(notice)
    assert "3 x Blue mug (MUG-BLUE) at 9.90 EUR" in notice.body  # the summary too


def test_a_line_backordered_later_still_sends_the_delay_notice(
    warehouse, mug, tee, django_capture_on_commit_callbacks
):
    """A phone order confirmed by staff and found short: one e-mail. Stock lost later (a line
    backordered again after the confirmation): the delay notice."""
    from orders.services import order_confirm
    from tests.factories import receive

    with django_capture_on_commit_callbacks(execute=True):
        receive(warehouse, {mug: 1, tee: 1})
        order = place({mug: 3}, channel_code="phone")
    assert customer_mails() == []  # waits for staff review
    with django_capture_on_commit_callbacks(execute=True):
        order_confirm(order=order)
    [confirmation] = customer_mails()
    assert "(some items follow later)" in confirmation.subject
    assert "2 x Blue mug (MUG-BLUE)" in confirmation.body
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        events.event_write(
            order=order,
            type=EventType.BACKORDERED,
            message="Waiting for stock: 1 × MUG-BLUE",
            lines={"MUG-BLUE": 1},
        )
    [notice] = customer_mails()
    assert notice.subject == f"Your order {order.number} is delayed"
    assert "1 x Blue mug (MUG-BLUE)" in notice.body
    for option in ("- wait:", "- substitute:", "- cancel the line:"):
        assert option in notice.body


def test_shipped_email_has_tracking_link(stocked, mug, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        order = place({mug: 1})
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        events.event_write(
            order=order,
            type=EventType.SHIPPED,
            message="Shipped",
            shipment="SH-000001",
            carrier="DPD",
            tracking_number="TRK123",
            tracking_url="https://track.example.com/TRK123",
        )
    [message] = customer_mails()
    assert message.subject == f"Your order {order.number} is on its way"
    assert "Carrier: DPD" in message.body and "Tracking number: TRK123" in message.body
    assert "Track your parcel: https://track.example.com/TRK123" in message.body
    assert '<a href="https://track.example.com/TRK123">Track your parcel</a>' in html_of(message)


def test_delivered_email_has_feedback_link_only_when_whole_order_delivered(
    stocked, mug, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        order = place({mug: 1})
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        events.event_write(order=order, type=EventType.DELIVERED, order_delivered=False)
    assert customer_mails() == []
    with django_capture_on_commit_callbacks(execute=True):
        events.event_write(
            order=order,
            type=EventType.DELIVERED,
            order_delivered=True,
            feedback_url="https://oms.example.com/feedback/abc",
        )
    [message] = customer_mails()
    assert message.subject == f"Your order {order.number} has been delivered"
    assert "Rate your delivery: https://oms.example.com/feedback/abc" in message.body
    assert 'href="https://oms.example.com/feedback/abc"' in html_of(message)


def test_cancellation_email(stocked, mug, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        order = place({mug: 2})
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        order_cancel(order=order, reason="Customer changed their mind")
    [message] = customer_mails()
    assert message.subject == f"Your order {order.number} has been cancelled"
    assert "Reason: Customer changed their mind" in message.body
    assert "19.80 EUR" in message.body


@pytest.mark.parametrize(
    ("event_type", "title"),
    [
        (EventType.RETURN_UPDATED, "next steps"),
        (EventType.REFUNDED, "refund issued"),
        (EventType.EXCHANGED, "exchange on its way"),
    ],
)
def test_return_step_emails(stocked, mug, django_capture_on_commit_callbacks, event_type, title):
    with django_capture_on_commit_callbacks(execute=True):
        order = place({mug: 1})
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        events.event_write(
            order=order,
            type=event_type,
            message="Print the label and drop the parcel off.",
            **{"return": "RMA-000009"},
        )
    [message] = customer_mails()
    assert message.subject == f"Your return for order {order.number}: {title}"
    assert "RMA-000009" in message.body
    assert "Print the label and drop the parcel off." in message.body


def test_events_of_no_interest_write_no_message(stocked, mug, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        order = place({mug: 1})
    before = OutboxMessage.objects.count()
    events.event_write(order=order, type=EventType.NOTE, message="Called the customer")
    assert OutboxMessage.objects.count() == before


def test_many_events_of_one_order_cost_a_fixed_number_of_queries(
    stocked, mug, django_assert_max_num_queries
):
    order = place({mug: 1})

    def build(n):
        return [
            events.event_build(
                order=order, type=EventType.SHIPPED, shipment=f"SH-{i}", tracking_url="https://t/x"
            )
            for i in range(n)
        ]

    with django_assert_max_num_queries(8):
        events.events_save(build(2))
    with django_assert_max_num_queries(8):
        events.events_save(build(20))
    assert OutboxMessage.objects.filter(purpose="order_shipped").count() == 22


def test_the_row_is_written_in_the_business_transaction(stocked, mug):
    """Without a commit nothing is sent, but the outbox row is there with the order."""
    order = place({mug: 1})
    row = OutboxMessage.objects.get(dedupe_key=f"email:{order.number}:confirmed")
    assert row.status == OutboxStatus.PENDING
    assert row.next_attempt_at <= row.created_at + datetime.timedelta(seconds=1)
    assert mail.outbox == []
