"""Sending in batches: one task per transaction carries all its message ids; a worker that fell
behind tops its batch up with other pending e-mails; one bad message in a batch does not stop
the others, and every message's attempts are recorded on their own."""

import datetime
import smtplib
import time

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.utils import timezone

from notifications import services as notifications
from notifications.models import OutboxAttempt, OutboxKind, OutboxMessage, OutboxStatus
from notifications.tasks import outbox_send_batch_task
from tests.factories import place

from .conftest import make_due

pytestmark = pytest.mark.django_db


class BouncesForBob(LocmemBackend):
    """The mail server refuses one recipient and takes the others."""

    def send_messages(self, messages):
        if any("bob@example.com" in m.to for m in messages):
            raise smtplib.SMTPRecipientsRefused({"bob@example.com": (550, b"No such user")})
        return super().send_messages(messages)


def confirmation(order):
    return OutboxMessage.objects.get(dedupe_key=f"email:{order.number}:confirmed")


def test_one_task_is_published_per_transaction_with_all_its_ids(
    stocked, mug, tee, monkeypatch, django_capture_on_commit_callbacks
):
    published = []
    monkeypatch.setattr(
        outbox_send_batch_task,
        "apply_async",
        lambda args, **options: published.append(list(args[0])),
    )
    with django_capture_on_commit_callbacks(execute=True):
        order = place({mug: 1, tee: 1})
    rows = list(OutboxMessage.objects.filter(order=order).values_list("pk", flat=True))
    assert published == [sorted(rows)]
    assert OutboxMessage.objects.filter(pk__in=rows, status=OutboxStatus.PENDING).count() == len(
        rows
    )


def test_a_batch_sends_each_message_once_and_records_one_attempt_each(stocked, mug):
    orders = [place({mug: 1}, email=f"customer{i}@example.com") for i in range(3)]
    rows = [confirmation(o) for o in orders]

    results = notifications.outbox_send_many(message_ids=[r.pk for r in rows])

    assert results == {r.pk: "sent" for r in rows}
    assert sorted(m.to[0] for m in mail.outbox) == [f"customer{i}@example.com" for i in range(3)]
    for row in rows:
        row.refresh_from_db()
        assert row.status == OutboxStatus.SENT and row.attempts == 1
        assert row.subject.startswith("Your order ") and row.body_text
        assert list(row.log.values_list("number", "succeeded")) == [(1, True)]
    # Sent already: a second batch of the same ids does nothing.
    assert notifications.outbox_send_many(message_ids=[r.pk for r in rows]) == {}
    assert len(mail.outbox) == 3


def test_a_worker_that_fell_behind_sends_other_pending_emails_in_its_batch(stocked, mug):
    waiting = [place({mug: 1}, email=f"early{i}@example.com") for i in range(3)]
    later = place({mug: 1}, email="late@example.com")
    not_due = confirmation(waiting[2])
    OutboxMessage.objects.filter(pk=not_due.pk).update(
        next_attempt_at=timezone.now() + datetime.timedelta(minutes=5)
    )

    # A worker that keeps up (its message is fresh) sends its own message only.
    assert notifications.outbox_send_many(message_ids=[confirmation(later).pk], catch_up=3) == {
        confirmation(later).pk: "sent"
    }
    assert [m.to[0] for m in mail.outbox] == ["late@example.com"]
    mail.outbox.clear()
    # Behind: the task's own message waited longer than OMS_OUTBOX_CATCH_UP_AFTER_SECONDS.
    later = place({mug: 1}, email="late@example.com")
    OutboxMessage.objects.filter(pk=confirmation(later).pk).update(
        created_at=timezone.now() - datetime.timedelta(seconds=10)
    )

    results = notifications.outbox_send_many(message_ids=[confirmation(later).pk], catch_up=3)

    # Its own message, then the oldest pending, due e-mails up to the batch size; not the one
    # whose retry is not due yet.
    assert set(results) == {confirmation(o).pk for o in (later, waiting[0], waiting[1])}
    assert sorted(m.to[0] for m in mail.outbox) == [
        "early0@example.com",
        "early1@example.com",
        "late@example.com",
    ]
    assert confirmation(waiting[2]).status == OutboxStatus.PENDING
    # Their own tasks arrive later and find them sent.
    assert notifications.outbox_send(message_id=confirmation(waiting[0]).pk) == "skipped"
    assert len(mail.outbox) == 3


def test_catching_up_leaves_webhooks_to_their_own_tasks(stocked, mug):
    order = place({mug: 1})
    hook = OutboxMessage.objects.create(
        kind=OutboxKind.WEBHOOK,
        purpose="order.created",
        dedupe_key="webhook:test",
        recipient="https://erp.example.com/hooks",
        order=order,
        next_attempt_at=timezone.now(),
    )
    other = place({mug: 1}, email="other@example.com")
    OutboxMessage.objects.filter(pk=confirmation(other).pk).update(
        created_at=timezone.now() - datetime.timedelta(seconds=10)
    )

    results = notifications.outbox_send_many(message_ids=[confirmation(other).pk], catch_up=50)

    # The worker was behind: the first order's e-mail went with the batch, its webhook did not.
    assert confirmation(order).pk in results
    assert hook.pk not in results
    hook.refresh_from_db()
    assert hook.status == OutboxStatus.PENDING and hook.attempts == 0


def test_a_refused_recipient_is_retried_alone_and_the_rest_of_the_batch_is_sent(
    stocked, mug, settings
):
    settings.EMAIL_BACKEND = "tests.notifications.test_outbox_batch.BouncesForBob"
    ada = confirmation(place({mug: 1}, email="ada@example.com"))
    bob = confirmation(place({mug: 1}, email="bob@example.com"))
    cy = confirmation(place({mug: 1}, email="cy@example.com"))

    results = notifications.outbox_send_many(message_ids=[ada.pk, bob.pk, cy.pk])

    assert results == {ada.pk: "sent", bob.pk: "retry", cy.pk: "sent"}
    assert sorted(m.to[0] for m in mail.outbox) == ["ada@example.com", "cy@example.com"]
    bob.refresh_from_db()
    assert bob.status == OutboxStatus.PENDING and bob.claim_token == ""
    assert bob.next_attempt_at > timezone.now()
    assert "SMTPRecipientsRefused" in bob.last_error
    [attempt] = OutboxAttempt.objects.filter(message=bob)
    assert attempt.number == 1 and not attempt.succeeded

    # The next try, once due, is attempt 2 and is refused again: the numbering goes on.
    make_due(bob)
    assert notifications.outbox_send(message_id=bob.pk) == "retry"
    assert list(bob.log.order_by("number").values_list("number", flat=True)) == [1, 2]


def test_the_sweeper_sends_what_is_due_in_batches(stocked, mug, settings):
    settings.OMS_OUTBOX_BATCH_SIZE = 2
    rows = [confirmation(place({mug: 1}, email=f"c{i}@example.com")) for i in range(5)]

    counts = notifications.outbox_sweep()

    assert counts["sent"] == 5
    assert len(mail.outbox) == 5
    assert all(OutboxMessage.objects.get(pk=r.pk).status == OutboxStatus.SENT for r in rows)


def test_a_batch_out_of_time_hands_the_rest_back_unattempted(stocked, mug, monkeypatch):
    rows = [confirmation(place({mug: 1}, email=f"c{i}@example.com")) for i in range(3)]
    sent_so_far = []
    real = notifications._deliver

    def slow_server(outcome, connection):
        real(outcome, connection)
        sent_so_far.append(outcome.message.pk)
        if len(sent_so_far) == 2:  # the mail server took the rest of the batch's time
            time.sleep(1.2)

    monkeypatch.setattr(notifications, "BATCH_SECONDS", 1)
    monkeypatch.setattr(notifications, "_deliver", slow_server)
    results = notifications.outbox_send_many(message_ids=[r.pk for r in rows])

    assert results == {rows[0].pk: "sent", rows[1].pk: "sent"}
    last = OutboxMessage.objects.get(pk=rows[2].pk)
    assert last.status == OutboxStatus.PENDING and last.attempts == 0 and last.claim_token == ""
    assert not last.log.exists()
    monkeypatch.undo()
    assert notifications.outbox_send(message_id=last.pk) == "sent"
    assert len(mail.outbox) == 3


def test_a_transaction_with_many_messages_is_enqueued_in_tasks_of_the_batch_size(
    monkeypatch, settings
):
    from notifications.outbox import enqueue

    settings.OMS_OUTBOX_BATCH_SIZE = 50
    published = []
    monkeypatch.setattr(
        outbox_send_batch_task,
        "apply_async",
        lambda args, **options: published.append(list(args[0])),
    )
    enqueue(range(1, 121))
    assert [len(batch) for batch in published] == [50, 50, 20]
    assert [pk for batch in published for pk in batch] == list(range(1, 121))
