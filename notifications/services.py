"""Sending the outbox: claims, delivery, attempts, retries with backoff, staff alerts.

Every message (customer e-mail, staff alert, partner webhook) is an ``OutboxMessage`` row written
in the same transaction as the change that caused it (notifications.builders, .outbox), with a
``dedupe_key`` unique per cause. After commit its id is handed to Celery; a beat task
(``outbox_sweep``) every minute sends what is pending and due, so nothing is lost while Redis or
the worker is down.

The worker renders the message (notifications.rendering) the first time it sends it and keeps
the text on the row, so a retry sends the same text. A message whose order was deleted is given
up at once (failed, no retry, no alert): there is nothing to say any more.

Sending once: a sender locks the row (``select_for_update(skip_locked=True)``), marks it
``sending`` with a claim token and time and commits *before* it talks to the SMTP server or the
partner; it records ``sent`` only if its claim still holds. A second task for the same message
(a duplicate enqueue, a late-acked redelivery) finds the row ``sending`` or ``sent`` and does
nothing. If a worker dies between sending and recording, the row stays ``sending``: after
``OMS_OUTBOX_CLAIM_TIMEOUT_MINUTES`` the sweeper treats it as *in doubt*. We chose at-most-once
there: an in-doubt message is marked ``failed`` ("in doubt") and staff are alerted instead of being
resent automatically, because a duplicate e-mail to a customer is worse than a message a person
checks. "Retry now" in the admin resends it with the same ``Message-ID`` header (derived from the
dedupe key) for e-mail and the same ``X-OMS-Delivery`` id for webhooks, so a resend is recognisable
(mail clients thread it as the same message; partners can drop deliveries they already have).

Batches: the messages of one transaction travel in one task and are sent as a batch (claimed in
one transaction, rendered, e-mails delivered over one mail connection and recorded in one
transaction; each webhook delivered and recorded on its own, after the e-mails). A worker that
falls behind tops each batch up with other pending, due e-mails, oldest first, up to
``OMS_OUTBOX_BATCH_SIZE``; their own tasks then find them claimed. The price: a worker that dies
in the middle of a batch leaves the whole batch in doubt, not one message. A batch stops after
``BATCH_SECONDS`` and hands back what it had no time for.

Webhooks are posted by ``webhook_http.post``: no redirects, no loopback/private/link-local
addresses (checked on the address actually connected to), https only with DEBUG off. A refused
delivery is a failed attempt like any other (recorded, retried, staff alerted at the end).
"""

import datetime
import hashlib
import hmac
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import Count, F
from django.utils import timezone

from inventory.models import StockLevel
from purchasing.replenishment import reorder_points

from . import webhook_http
from .models import OutboxAttempt, OutboxKind, OutboxMessage, OutboxStatus
from .outbox import STAFF_ALERT, enqueue, low_stock_alerts_for, outbox_save, staff_alert_build
from .rendering import NothingToRender, attachments, render

logger = logging.getLogger(__name__)

# A batch stops delivering after this long and hands the rest back (well inside the send task's
# soft time limit of notifications.tasks, so a slow mail server or partner never leaves a batch
# half sent and in doubt).
BATCH_SECONDS = 60

# A failed attempt (recorded and retried); ``webhook_http.WebhookRefused`` is one whose URL or
# address is not allowed (see notifications/webhook_http.py): nothing was sent.
DeliveryError = webhook_http.WebhookDeliveryError


# --- settings ---------------------------------------------------------------------------------
def _max_attempts() -> int:
    return int(settings.OMS_OUTBOX_MAX_ATTEMPTS)


def _backoff(attempts: int) -> datetime.timedelta:
    """Exponential backoff after the ``attempts``-th failed try: base, 2×base, 4×base … capped."""
    base = settings.OMS_OUTBOX_BACKOFF_SECONDS
    cap = settings.OMS_OUTBOX_BACKOFF_MAX_SECONDS
    return datetime.timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


def batch_size() -> int:
    return max(1, int(settings.OMS_OUTBOX_BATCH_SIZE))


def _catch_up_after() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.OMS_OUTBOX_CATCH_UP_AFTER_SECONDS)


def _claim_timeout() -> datetime.timedelta:
    return datetime.timedelta(minutes=settings.OMS_OUTBOX_CLAIM_TIMEOUT_MINUTES)


def message_id_for(dedupe_key: str) -> str:
    """A stable RFC 5322 Message-ID: a resend of the same message carries the same id."""
    digest = hashlib.sha256(dedupe_key.encode()).hexdigest()[:40]
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip(" >") or "oms.invalid"
    return f"<oms.{digest}@{domain}>"


def webhook_signature(secret: str, timestamp: str, body: str) -> str:
    """Hex HMAC-SHA256 of ``"{timestamp}.{body}"`` with the endpoint's secret."""
    return hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()


# --- sending --------------------------------------------------------------------------------------
def _deliver_email(message: OutboxMessage, connection: Any = None) -> None:
    email = EmailMultiAlternatives(
        connection=connection,
        subject=message.subject,
        body=message.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.recipient],
        headers={"Message-ID": message_id_for(message.dedupe_key)},
    )
    if message.body_html:
        email.attach_alternative(message.body_html, "text/html")
    for attachment in attachments(message):
        email.attach(attachment.filename, attachment.content, attachment.mimetype)
    email.send(fail_silently=False)


def _deliver_webhook(message: OutboxMessage) -> int:
    endpoint = message.endpoint
    if endpoint is None:
        raise DeliveryError("The webhook endpoint was deleted.")
    timestamp = str(int(time.time()))
    body = message.body_text
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "OMS-Webhooks/1.0",
        "X-OMS-Timestamp": timestamp,
        "X-OMS-Signature": webhook_signature(endpoint.secret, timestamp, body),
        "X-OMS-Delivery": message.dedupe_key,
        "X-OMS-Event": message.purpose,
    }
    timeout = settings.OMS_WEBHOOK_TIMEOUT_SECONDS
    return webhook_http.post(endpoint.url, body=body.encode(), headers=headers, timeout=timeout)


@dataclass
class _Outcome:
    message: OutboxMessage
    started: float
    error: str = ""
    status_code: int | None = None
    given_up: bool = False
    duration: int = 0

    def done(self) -> None:
        self.duration = int((time.monotonic() - self.started) * 1000)


def _claim(message_ids: Sequence[int], *, catch_up: int = 0) -> tuple[list[_Outcome], str]:
    """Claim the pending, due messages among ``message_ids`` in one transaction, and, when the
    worker fell behind (its own messages are older than ``OMS_OUTBOX_CATCH_UP_AFTER_SECONDS``, or
    another batch already took them), up to ``catch_up`` more pending, due e-mails, oldest first:
    their own tasks then find them claimed and do nothing. A worker that keeps up sends each
    task's own messages only, and leaves no task to run for nothing. Rows another worker holds are
    skipped. Webhooks are claimed by their own ids only: a slow partner never holds up e-mails
    that were not its business.

    A message sent for the first time is rendered here and its text written with its claim (one
    UPDATE), before anything is delivered: a retry sends the same text and the admin shows it.
    A message with nothing left to say is given up; one whose template fails is a failed
    attempt. (A database error while rendering rolls the claim back: the rows stay pending.)"""
    now = timezone.now()
    token = uuid.uuid4().hex
    claim = {
        "status": OutboxStatus.SENDING,
        "claim_token": token,
        "claimed_at": now,
        "attempts": F("attempts") + 1,
        "updated_at": now,
    }
    outcomes: list[_Outcome] = []
    with transaction.atomic():
        due = OutboxMessage.objects.select_for_update(skip_locked=True, of=("self",)).filter(
            status=OutboxStatus.PENDING, next_attempt_at__lte=now
        )
        messages = list(due.filter(pk__in=message_ids).select_related("endpoint").order_by("pk"))
        behind = not messages or min(m.created_at for m in messages) < now - _catch_up_after()
        if behind and catch_up > len(messages):
            messages += list(
                due.filter(kind=OutboxKind.EMAIL)
                .exclude(pk__in=message_ids)
                .select_related("endpoint")
                .order_by("next_attempt_at", "pk")[: catch_up - len(messages)]
            )
        if not messages:
            return [], ""
        unchanged = []
        for message in messages:
            outcome = _Outcome(message=message, started=time.monotonic())
            outcomes.append(outcome)
            if message.body_text:
                unchanged.append(message.pk)
                continue
            try:
                text = render(message)
            except NothingToRender as exc:
                outcome.error, outcome.given_up = str(exc), True
            except Exception as exc:  # a template error is a failed attempt, retried
                outcome.error = f"{type(exc).__name__}: {exc}"[:2000]
            if outcome.error:
                outcome.done()
                unchanged.append(message.pk)
                continue
            message.subject, message.body_text, message.body_html = (
                text.subject,
                text.body_text,
                text.body_html,
            )
            OutboxMessage.objects.filter(pk=message.pk).update(
                **claim,
                subject=text.subject,
                body_text=text.body_text,
                body_html=text.body_html,
            )
        if unchanged:
            OutboxMessage.objects.filter(pk__in=unchanged).update(**claim)
    for message in messages:
        message.status = OutboxStatus.SENDING
        message.claim_token = token
        message.claimed_at = now
        message.attempts += 1
    return outcomes, token


def _deliver(outcome: _Outcome, connection: Any) -> None:
    message = outcome.message
    try:
        if message.kind == OutboxKind.WEBHOOK:
            outcome.status_code = _deliver_webhook(message)
        else:
            _deliver_email(message, connection)
    except Exception as exc:  # any delivery failure is recorded and retried
        outcome.error = f"{type(exc).__name__}: {exc}"[:2000]
        outcome.status_code = getattr(exc, "status_code", None)
        if connection is not None:  # a broken SMTP session: the next message opens a new one
            connection.close()
    outcome.done()


def outbox_send_many(*, message_ids: Sequence[int], catch_up: int = 0) -> dict[int, str]:
    """Send pending, due messages once, in one batch: claimed (and rendered) in one transaction,
    e-mails delivered over one mail connection and recorded in one transaction, then each
    webhook delivered and recorded on its own. ``catch_up``: see ``_claim``. Returns each
    claimed message's outcome (``sent``, ``retry`` or ``failed``); ids not claimed (not pending,
    not due, or held by another worker) are left out."""
    outcomes, token = _claim(message_ids, catch_up=catch_up)
    if not outcomes:
        return {}
    deadline = time.monotonic() + BATCH_SECONDS
    emails = [o for o in outcomes if o.message.kind != OutboxKind.WEBHOOK]
    webhooks = [o for o in outcomes if o.message.kind == OutboxKind.WEBHOOK]
    tried: list[_Outcome] = []
    late: list[_Outcome] = []
    connection = get_connection()
    try:
        for outcome in emails:
            if outcome.error:
                tried.append(outcome)
            elif time.monotonic() < deadline:
                _deliver(outcome, connection)
                tried.append(outcome)
            else:
                late.append(outcome)
    finally:
        connection.close()
    results = _record(tried, token)
    for outcome in webhooks:
        if outcome.error or time.monotonic() < deadline:
            if not outcome.error:
                _deliver(outcome, None)
            results.update(_record([outcome], token))
        else:
            late.append(outcome)
    _release(late, token)
    return results


def _release(outcomes: Sequence[_Outcome], token: str) -> None:
    """Hand back messages the batch had no time left for, as if never claimed: pending, due,
    their attempt not counted (their own tasks or the sweeper send them)."""
    if outcomes:
        OutboxMessage.objects.filter(
            pk__in=[o.message.pk for o in outcomes],
            status=OutboxStatus.SENDING,
            claim_token=token,
        ).update(
            status=OutboxStatus.PENDING,
            claim_token="",
            attempts=F("attempts") - 1,
            updated_at=timezone.now(),
        )


def outbox_send(*, message_id: int) -> str:
    """Send one pending, due message once. Returns ``sent``, ``retry``, ``failed`` or ``skipped``
    (not pending, not due, or another worker holds it)."""
    return outbox_send_many(message_ids=[message_id]).get(message_id, "skipped")


def _record(outcomes: Sequence[_Outcome], token: str) -> dict[int, str]:
    """Record the attempts of a batch in one transaction: sent ones in one statement; a failed
    attempt is retried later with backoff, or failed for good with a staff alert; a message
    with nothing to render is failed at once (no retry, no alert). A row whose claim no longer
    holds (the sweeper settled it as in doubt) is left as it is."""
    if not outcomes:
        return {}
    now = timezone.now()
    results: dict[int, str] = {}
    ids = [o.message.pk for o in outcomes]
    with transaction.atomic():
        earlier = dict(
            OutboxAttempt.objects.filter(message_id__in=ids)
            .values_list("message_id")
            .annotate(n=Count("pk"))
            .values_list("message_id", "n")
        )
        attempts = []
        for o in outcomes:
            # The error text may quote a partner's response (its status line, a Location
            # header): PostgreSQL refuses NUL in text, and the attempt must be recorded.
            o.error = o.error.replace("\x00", "\\x00")
            attempts.append(
                OutboxAttempt(
                    message=o.message,
                    number=earlier.get(o.message.pk, 0) + 1,
                    succeeded=not o.error,
                    status_code=o.status_code,
                    error=o.error,
                    duration_ms=o.duration,
                )
            )
        OutboxAttempt.objects.bulk_create(attempts)
        mine = OutboxMessage.objects.filter(status=OutboxStatus.SENDING, claim_token=token)
        sent = [o.message.pk for o in outcomes if not o.error]
        if sent:
            mine.filter(pk__in=sent).update(
                status=OutboxStatus.SENT, sent_at=now, last_error="", updated_at=now
            )
            results.update(dict.fromkeys(sent, "sent"))
        for o in outcomes:
            if not o.error:
                continue
            message = o.message
            if o.given_up:
                mine.filter(pk=message.pk).update(
                    status=OutboxStatus.FAILED, last_error=o.error, updated_at=now
                )
                logger.info("Outbox message %s given up: %s", message.dedupe_key, o.error)
                results[message.pk] = "failed"
            elif message.attempts < _max_attempts():
                mine.filter(pk=message.pk).update(
                    status=OutboxStatus.PENDING,
                    last_error=o.error,
                    next_attempt_at=now + _backoff(message.attempts),
                    claim_token="",
                    updated_at=now,
                )
                results[message.pk] = "retry"
            else:
                if mine.filter(pk=message.pk).update(
                    status=OutboxStatus.FAILED, last_error=o.error, updated_at=now
                ):
                    _alert_failed(message, o.error)
                results[message.pk] = "failed"
    return results


def _alert_failed(message: OutboxMessage, error: str) -> None:
    if message.purpose == STAFF_ALERT:
        logger.error("Staff alert %s could not be sent: %s", message.dedupe_key, error)
        return
    alert = staff_alert_build(
        key=f"failed:{message.pk}",
        title=f"Message failed for good: {message.dedupe_key}",
        lines=[
            f"{message.get_kind_display()} to {message.recipient} ({message.purpose})",
            f"gave up after {message.attempts} attempts. Last error: {error}",
            "Use 'Retry now' on the outbox message in the admin once the cause is fixed.",
        ],
    )
    if alert is not None:
        outbox_save([alert])


def outbox_sweep(*, limit: int = 500) -> dict[str, int]:
    """The beat task: settle claims in doubt, then send what is pending and due."""
    now = timezone.now()
    in_doubt = 0
    with transaction.atomic():
        stale = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(status=OutboxStatus.SENDING, claimed_at__lt=now - _claim_timeout())
            .order_by("pk")[:limit]
        )
        for message in stale:
            claimed_at = message.claimed_at or now
            error = (
                f"In doubt: claimed at {claimed_at:%Y-%m-%d %H:%M:%S} and never recorded "
                "(the worker died while sending?). Not resent automatically; check, then retry."
            )
            OutboxMessage.objects.filter(pk=message.pk).update(
                status=OutboxStatus.FAILED, last_error=error, updated_at=now
            )
            _alert_failed(message, error)
            in_doubt += 1
    due = list(
        OutboxMessage.objects.filter(status=OutboxStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    counts: dict[str, int] = defaultdict(int)
    counts["in_doubt"] = in_doubt
    size = batch_size()
    for start in range(0, len(due), size):
        chunk = due[start : start + size]
        results = outbox_send_many(message_ids=chunk)
        for outcome in results.values():
            counts[outcome] += 1
        if len(results) < len(chunk):
            counts["skipped"] += len(chunk) - len(results)
    return dict(counts)


def outbox_retry(*, messages: Iterable[OutboxMessage]) -> int:
    """Staff: send failed messages again now, with a fresh series of attempts."""
    ids = [m.pk for m in messages]
    with transaction.atomic():
        pending = list(
            OutboxMessage.objects.select_for_update()
            .filter(pk__in=ids, status=OutboxStatus.FAILED)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        OutboxMessage.objects.filter(pk__in=pending).update(
            status=OutboxStatus.PENDING,
            next_attempt_at=timezone.now(),
            attempts=0,
            claim_token="",
            updated_at=timezone.now(),
        )
        if pending:
            transaction.on_commit(lambda: enqueue(pending))
    return len(pending)


# --- low stock (periodic; late orders: orders.services.orders_late_flag) --------------------------
def low_stock_sweep() -> int:
    """Staff alerts for every stock level at or below its reorder point (once a day each): the
    row's manual reorder point, else the one replenishment computes from recent demand."""
    with transaction.atomic():
        computed = reorder_points()
        return len(outbox_save(low_stock_alerts_for(StockLevel.objects.all(), computed=computed)))
