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
from collections.abc import Iterable

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone

from inventory.models import StockLevel
from purchasing.replenishment import reorder_points

from . import webhook_http
from .models import OutboxAttempt, OutboxKind, OutboxMessage, OutboxStatus
from .outbox import STAFF_ALERT, enqueue, low_stock_alerts_for, outbox_save, staff_alert_build
from .rendering import NothingToRender, attachments, render

logger = logging.getLogger(__name__)

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
def _deliver_email(message: OutboxMessage) -> None:
    email = EmailMultiAlternatives(
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


def _claim(message_id: int, *, force_due: bool) -> tuple[OutboxMessage | None, str]:
    now = timezone.now()
    token = uuid.uuid4().hex
    with transaction.atomic():
        rows = OutboxMessage.objects.select_for_update(skip_locked=True, of=("self",)).filter(
            pk=message_id, status=OutboxStatus.PENDING
        )
        if not force_due:
            rows = rows.filter(next_attempt_at__lte=now)
        message = rows.select_related("endpoint").first()
        if message is None:
            return None, ""
        message.status = OutboxStatus.SENDING
        message.claim_token = token
        message.claimed_at = now
        message.attempts += 1
        message.save(
            update_fields=["status", "claim_token", "claimed_at", "attempts", "updated_at"]
        )
    return message, token


def _rendered(message: OutboxMessage, token: str) -> None:
    """Render the message the first time it is sent and keep the text on the row (a retry
    sends the same text; the admin shows it)."""
    if message.body_text:
        return
    text = render(message)
    message.subject, message.body_text, message.body_html = (
        text.subject,
        text.body_text,
        text.body_html,
    )
    OutboxMessage.objects.filter(pk=message.pk, claim_token=token).update(
        subject=text.subject, body_text=text.body_text, body_html=text.body_html
    )


def outbox_send(*, message_id: int) -> str:
    """Send one pending, due message once. Returns ``sent``, ``retry``, ``failed`` or ``skipped``
    (not pending, not due, or another worker holds it)."""
    message, token = _claim(message_id, force_due=False)
    if message is None:
        return "skipped"
    started = time.monotonic()
    status_code = None
    error = ""
    try:
        _rendered(message, token)
        if message.kind == OutboxKind.WEBHOOK:
            status_code = _deliver_webhook(message)
        else:
            _deliver_email(message)
    except NothingToRender as exc:
        duration = int((time.monotonic() - started) * 1000)
        return _give_up(message, token, error=str(exc), duration=duration)
    except Exception as exc:  # any delivery failure is recorded and retried
        error = f"{type(exc).__name__}: {exc}"[:2000]
        status_code = getattr(exc, "status_code", None)
    duration = int((time.monotonic() - started) * 1000)
    return _record(message, token, error=error, status_code=status_code, duration=duration)


def _attempt(message: OutboxMessage, *, error: str, status_code: int | None, duration: int) -> None:
    OutboxAttempt.objects.create(
        message=message,
        number=OutboxAttempt.objects.filter(message=message).count() + 1,
        succeeded=not error,
        status_code=status_code,
        error=error,
        duration_ms=duration,
    )


def _give_up(message: OutboxMessage, token: str, *, error: str, duration: int) -> str:
    """Nothing to send any more (its order was deleted): failed at once, no retry, no alert."""
    now = timezone.now()
    with transaction.atomic():
        _attempt(message, error=error, status_code=None, duration=duration)
        OutboxMessage.objects.filter(
            pk=message.pk, status=OutboxStatus.SENDING, claim_token=token
        ).update(status=OutboxStatus.FAILED, last_error=error, updated_at=now)
    logger.info("Outbox message %s given up: %s", message.dedupe_key, error)
    return "failed"


def _record(
    message: OutboxMessage, token: str, *, error: str, status_code: int | None, duration: int
) -> str:
    # The error text may quote a partner's response (its status line, a Location header):
    # PostgreSQL refuses NUL in text, and the attempt must be recorded whatever it said.
    error = error.replace("\x00", "\\x00")
    now = timezone.now()
    with transaction.atomic():
        _attempt(message, error=error, status_code=status_code, duration=duration)
        mine = OutboxMessage.objects.filter(
            pk=message.pk, status=OutboxStatus.SENDING, claim_token=token
        )
        if not error:
            mine.update(status=OutboxStatus.SENT, sent_at=now, last_error="", updated_at=now)
            return "sent"
        if message.attempts < _max_attempts():
            mine.update(
                status=OutboxStatus.PENDING,
                last_error=error,
                next_attempt_at=now + _backoff(message.attempts),
                claim_token="",
                updated_at=now,
            )
            return "retry"
        if mine.update(status=OutboxStatus.FAILED, last_error=error, updated_at=now):
            _alert_failed(message, error)
        return "failed"


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
    for pk in due:
        counts[outbox_send(message_id=pk)] += 1
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
