"""The outbox: rows survive a broker outage, are sent once, retried with backoff, given up."""

import datetime
import logging
import smtplib

import pytest
from django.contrib.admin.sites import AdminSite
from django.contrib.messages.storage.fallback import FallbackStorage
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.test import RequestFactory
from django.utils import timezone

from notifications import outbox
from notifications import services as notifications
from notifications.admin import OutboxMessageAdmin
from notifications.models import OutboxMessage, OutboxStatus
from notifications.tasks import outbox_send_task, outbox_sweep_task
from orders.models import Order, OrderStatus
from tests.factories import place

from .conftest import celery_broker, make_due

pytestmark = pytest.mark.django_db


class CustomerSmtpDown(LocmemBackend):
    """SMTP refuses mail to customers; staff alerts (ops@) still go through."""

    def send_messages(self, messages):
        if any("ops@acme.test" not in m.to for m in messages):
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)


def confirmation(order):
    return OutboxMessage.objects.get(dedupe_key=f"email:{order.number}:confirmed")


def test_broker_unreachable_order_commits_and_the_sweeper_sends_later(
    stocked, mug, django_capture_on_commit_callbacks, caplog
):
    caplog.set_level(logging.WARNING, logger="notifications.outbox")
    with (
        celery_broker("redis://127.0.0.1:1/0"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        order = place({mug: 1})
    assert Order.objects.get(pk=order.pk).status == OrderStatus.ALLOCATED
    row = confirmation(order)
    assert row.status == OutboxStatus.PENDING and row.attempts == 0
    assert mail.outbox == []
    assert "Could not enqueue outbox message" in caplog.text

    result = outbox_sweep_task.delay().get()
    assert result["sent"] >= 1
    row.refresh_from_db()
    assert row.status == OutboxStatus.SENT
    assert [m.subject for m in mail.outbox] == [f"Your order {order.number} is confirmed"]


def test_send_task_twice_sends_once(stocked, mug):
    order = place({mug: 1})  # no commit callbacks: nothing enqueued yet
    row = confirmation(order)
    assert outbox_send_task.delay(row.pk).get() == "sent"
    assert outbox_send_task.delay(row.pk).get() == "skipped"
    assert notifications.outbox_sweep() == {"in_doubt": 0}
    assert len(mail.outbox) == 1
    row.refresh_from_db()
    assert row.attempts == 1 and row.log.count() == 1


def test_crash_between_send_and_record_is_never_resent(
    stocked, mug, monkeypatch, django_capture_on_commit_callbacks
):
    order = place({mug: 1})
    row = confirmation(order)

    def worker_dies(*args, **kwargs):
        raise SystemExit("worker killed after the SMTP server accepted the message")

    monkeypatch.setattr(notifications, "_record", worker_dies)
    with pytest.raises(SystemExit):
        notifications.outbox_send(message_id=row.pk)
    monkeypatch.undo()
    assert len(mail.outbox) == 1
    row.refresh_from_db()
    assert row.status == OutboxStatus.SENDING and row.claim_token

    # The broker redelivers the task (acks late) and the sweeper runs: still one e-mail.
    assert outbox_send_task.delay(row.pk).get() == "skipped"
    notifications.outbox_sweep()
    assert len(mail.outbox) == 1

    # After the claim timeout the message is in doubt: failed, staff told, not resent.
    OutboxMessage.objects.filter(pk=row.pk).update(
        claimed_at=timezone.now() - datetime.timedelta(minutes=11)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert notifications.outbox_sweep()["in_doubt"] == 1
    row.refresh_from_db()
    assert row.status == OutboxStatus.FAILED and row.last_error.startswith("In doubt")
    customer = [m for m in mail.outbox if m.to == ["ada@example.com"]]
    assert len(customer) == 1
    [alert] = [m for m in mail.outbox if m.to == ["ops@acme.test"]]
    assert row.dedupe_key in alert.subject


def test_backoff_then_give_up_alerts_staff_and_retry_now_sends(
    stocked, mug, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "tests.notifications.test_outbox.CustomerSmtpDown"
    settings.OMS_OUTBOX_MAX_ATTEMPTS = 3
    with django_capture_on_commit_callbacks(execute=True):
        order = place({mug: 1})
    row = confirmation(order)
    row.refresh_from_db()
    assert row.status == OutboxStatus.PENDING and row.attempts == 1
    assert "SMTPServerDisconnected" in row.last_error
    wait = row.next_attempt_at - timezone.now()
    assert datetime.timedelta(seconds=55) < wait <= datetime.timedelta(seconds=60)

    # Not due yet: the sweeper leaves it alone.
    assert notifications.outbox_sweep() == {"in_doubt": 0}
    make_due(row)
    with django_capture_on_commit_callbacks(execute=True):
        assert notifications.outbox_sweep()["retry"] == 1
    row.refresh_from_db()
    assert row.attempts == 2
    wait = row.next_attempt_at - timezone.now()
    assert datetime.timedelta(seconds=115) < wait <= datetime.timedelta(seconds=120)

    make_due(row)
    with django_capture_on_commit_callbacks(execute=True):
        assert notifications.outbox_sweep()["failed"] == 1
    row.refresh_from_db()
    assert row.status == OutboxStatus.FAILED and row.attempts == 3
    assert [a.succeeded for a in row.log.all()] == [False, False, False]
    [alert] = mail.outbox
    assert alert.to == ["ops@acme.test"]
    assert alert.subject == f"[OMS] Message failed for good: email:{order.number}:confirmed"
    assert "gave up after 3 attempts" in alert.body

    # The SMTP server is fixed; staff use "Retry now" in the admin.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    request = RequestFactory().post("/admin/notifications/outboxmessage/")
    request.session = {}
    request._messages = FallbackStorage(request)
    model_admin = OutboxMessageAdmin(OutboxMessage, AdminSite())
    with django_capture_on_commit_callbacks(execute=True):
        model_admin.retry_now(request, OutboxMessage.objects.filter(pk=row.pk))
    row.refresh_from_db()
    assert row.status == OutboxStatus.SENT
    assert mail.outbox[-1].subject == f"Your order {order.number} is confirmed"
    assert row.log.count() == 4


def test_dedupe_key_is_unique_per_cause(stocked, mug):
    order = place({mug: 1})
    outbox.outbox_save(
        [
            outbox.email_build(
                purpose="order_cancelled",
                key=f"email:{order.number}:cancelled",
                to="ada@example.com",
                order=order,
            )
            for _ in range(2)
        ]
    )
    assert OutboxMessage.objects.filter(dedupe_key=f"email:{order.number}:cancelled").count() == 1


def test_a_message_whose_order_was_deleted_is_given_up_cleanly(stocked, mug):
    order = place({mug: 1})  # its confirmation waits in the outbox (not committed here)
    row = confirmation(order)
    # What deleting the order (lines, shipments and all) leaves: the links set to NULL.
    OutboxMessage.objects.filter(pk=row.pk).update(order=None, event=None)
    assert notifications.outbox_send(message_id=row.pk) == "failed"
    row.refresh_from_db()
    assert (row.status, row.attempts, row.order_id) == (OutboxStatus.FAILED, 1, None)
    assert "deleted" in row.last_error
    assert mail.outbox == []
    assert not OutboxMessage.objects.filter(purpose="staff_alert").exists()  # nothing to fix
