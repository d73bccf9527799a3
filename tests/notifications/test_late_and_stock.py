"""Late orders are detected once; low stock alerts staff once a day."""

import datetime

import pytest
from django.core import mail
from django.utils import timezone

from inventory.models import StockLevel
from notifications.tasks import low_stock_task
from orders.models import EventType, Order, OrderStatus
from orders.tasks import late_orders_task
from tests.factories import place

pytestmark = pytest.mark.django_db


def test_late_order_is_flagged_and_the_customer_told_once(
    stocked, mug, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        late = place({mug: 1})
        on_time = place({mug: 1}, email="bo@example.com")
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    Order.objects.filter(pk=late.pk).update(promised_ship_date=yesterday)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        assert late_orders_task.delay().get() == 1
    late.refresh_from_db()
    assert late.late_since is not None and late.late_notified
    assert late.estimated_delivery_date > timezone.localdate()
    event = late.events.get(type=EventType.LATE)
    assert event.details["promised_ship_date"] == yesterday.isoformat()
    [customer] = [m for m in mail.outbox if m.to == ["ada@example.com"]]
    assert customer.subject == f"Your order {late.number} is running late"
    assert f"New estimated delivery: {late.estimated_delivery_date:%A %-d %B %Y}" in customer.body
    [staff] = [m for m in mail.outbox if m.to == ["ops@acme.test"]]
    assert late.number in staff.body
    on_time.refresh_from_db()
    assert on_time.late_since is None

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert late_orders_task.delay().get() == 0
    assert mail.outbox == []
    assert late.events.filter(type=EventType.LATE).count() == 1


def test_shipped_or_cancelled_orders_are_not_late(stocked, mug):
    from orders.services import order_cancel

    order = place({mug: 1})
    order_cancel(order=order)
    Order.objects.filter(pk=order.pk).update(
        promised_ship_date=timezone.localdate() - datetime.timedelta(days=3)
    )
    assert late_orders_task.delay().get() == 0
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CANCELLED


def test_reserving_below_the_reorder_point_alerts_staff_once_a_day(
    stocked, mug, django_capture_on_commit_callbacks
):
    StockLevel.objects.filter(product=mug).update(reorder_point=7)
    with django_capture_on_commit_callbacks(execute=True):
        place({mug: 2})  # available 8: above the reorder point
    assert [m for m in mail.outbox if m.to == ["ops@acme.test"]] == []
    with django_capture_on_commit_callbacks(execute=True):
        place({mug: 2})  # available 6
        place({mug: 1})  # available 5: same stock level, same day
    [alert] = [m for m in mail.outbox if m.to == ["ops@acme.test"]]
    assert alert.subject == "[OMS] Low stock: MUG-BLUE at LDS"
    assert "available 6 (on hand 10, reserved 4), reorder point 7" in alert.body
    with django_capture_on_commit_callbacks(execute=True):
        low_stock_task.delay().get()
    assert len([m for m in mail.outbox if m.to == ["ops@acme.test"]]) == 1


def test_periodic_low_stock_check(stocked, mug, tee, django_capture_on_commit_callbacks):
    StockLevel.objects.filter(product=tee).update(reorder_point=10)
    with django_capture_on_commit_callbacks(execute=True):
        low_stock_task.delay().get()
    [alert] = mail.outbox
    assert alert.subject == "[OMS] Low stock: TEE-M at LDS"
