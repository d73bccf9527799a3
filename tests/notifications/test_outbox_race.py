"""Two workers handed the same outbox message at the same instant (a redelivered task, or the
sweeper and the after-commit task together). A worker claims the row under a row lock
(``SELECT ... FOR UPDATE SKIP LOCKED`` of a pending row) before sending: exactly one sends, the
other skips. The e-mail goes out once."""

import pytest
from django.core import mail

from notifications import services as notifications
from notifications.models import OutboxAttempt, OutboxMessage, OutboxStatus
from notifications.tasks import outbox_send_task
from tests.concurrency import run_together
from tests.factories import place

from .conftest import celery_broker

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def queued_confirmations(mug, count: int) -> list[OutboxMessage]:
    """Orders placed while no worker runs: their confirmations wait in the outbox (published
    to an in-memory queue nobody reads)."""
    with celery_broker("memory://"):
        orders = [place({mug: 1}, email=f"c{i}@example.com") for i in range(count)]
    rows = [OutboxMessage.objects.get(dedupe_key=f"email:{o.number}:confirmed") for o in orders]
    assert all(row.status == OutboxStatus.PENDING and row.attempts == 0 for row in rows)
    assert mail.outbox == []
    return rows


def worker(message_id: int):
    """What a Celery worker runs for the task (in this thread, like a worker process would)."""
    # disable_sync_subtasks: Celery's "join would block" flag is process-wide, and the sweeper
    # in another thread raises it while it enqueues eagerly; a worker process has no such twin.
    return outbox_send_task.apply(args=[message_id], throw=True).get(disable_sync_subtasks=False)


def assert_sent_once(row: OutboxMessage, recipient: str) -> None:
    row.refresh_from_db()
    assert (row.status, row.attempts, row.claim_token != "") == (OutboxStatus.SENT, 1, True)
    assert OutboxAttempt.objects.filter(message=row).count() == 1
    to_them = [m for m in mail.outbox if m.to == [recipient]]
    assert len(to_them) == 1, [m.subject for m in to_them]
    assert to_them[0].subject == row.subject


def test_two_workers_sending_the_same_message_send_it_once(stocked, mug):
    rows = queued_confirmations(mug, 5)
    for i, row in enumerate(rows):
        results = run_together([lambda pk=row.pk: worker(pk)] * 2)
        assert sorted(results) == ["sent", "skipped"], (i, results)
        assert_sent_once(row, f"c{i}@example.com")
    assert len(mail.outbox) == 5
    assert sorted(m.subject for m in mail.outbox) == sorted(r.subject for r in rows)


def test_the_sweeper_and_a_worker_at_once_send_it_once(stocked, mug):
    rows = queued_confirmations(mug, 5)
    others = OutboxMessage.objects.filter(status=OutboxStatus.PENDING).count() - len(rows)
    results = run_together(
        [
            notifications.outbox_sweep,
            *(lambda pk=row.pk: worker(pk) for row in rows),
        ]
    )
    swept, *workers = results
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert set(workers) <= {"sent", "skipped"}, workers
    # Every message was sent by exactly one of them.
    assert workers.count("sent") + swept.get("sent", 0) == 5 + others, results
    for i, row in enumerate(rows):
        assert_sent_once(row, f"c{i}@example.com")
    assert len(mail.outbox) == 5 + others
