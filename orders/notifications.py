"""Notifications of the order flow through a transactional outbox.

Every message (customer e-mail, staff alert, partner webhook) is an ``OutboxMessage`` row written
in the same transaction as the change that caused it, with a ``dedupe_key`` unique per cause.
After commit its id is handed to Celery; a beat task (``outbox_sweep``) every minute sends what is
pending and due, so nothing is lost while Redis or the worker is down.

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
import json
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable
from functools import cached_property

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone

from . import webhook_http
from .events import known_now
from .models import (
    EventType,
    Order,
    OrderEvent,
    OrderStatus,
    OutboxAttempt,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    WebhookEndpoint,
)

logger = logging.getLogger(__name__)

# Order event types a partner's webhook endpoint can receive.
WEBHOOK_EVENT_TYPES = frozenset(
    {
        EventType.STATUS_CHANGED,
        EventType.BACKORDERED,
        EventType.SHIPPED,
        EventType.DELIVERED,
        EventType.RETURN_UPDATED,
        EventType.REFUNDED,
        EventType.EXCHANGED,
        EventType.LATE,
    }
)
RETURN_EVENT_TYPES = frozenset({EventType.RETURN_UPDATED, EventType.REFUNDED, EventType.EXCHANGED})

SUBJECTS = {
    "order_confirmed": "Your order {number} is confirmed{delayed}",
    "order_backordered": "Your order {number} is delayed",
    "order_shipped": "Your order {number} is on its way",
    "order_delivered": "Your order {number} has been delivered",
    "order_cancelled": "Your order {number} has been cancelled",
    "order_late": "Your order {number} is running late",
    "line_substituted": "Your order {number}: {substitute} instead of {original}",
    "return_update": "Your return for order {number}: {title}",
    "staff_alert": "[OMS] {title}",
}
RETURN_TITLES = {
    EventType.RETURN_UPDATED: "next steps",
    EventType.REFUNDED: "refund issued",
    EventType.EXCHANGED: "exchange on its way",
}


# --- settings ---------------------------------------------------------------------------------
def _max_attempts() -> int:
    return settings.OMS_OUTBOX_MAX_ATTEMPTS


def _backoff(attempts: int) -> datetime.timedelta:
    """Exponential backoff after the ``attempts``-th failed try: base, 2×base, 4×base … capped."""
    base = settings.OMS_OUTBOX_BACKOFF_SECONDS
    cap = settings.OMS_OUTBOX_BACKOFF_MAX_SECONDS
    return datetime.timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


def _claim_timeout() -> datetime.timedelta:
    return datetime.timedelta(minutes=settings.OMS_OUTBOX_CLAIM_TIMEOUT_MINUTES)


def _base_context() -> dict:
    return {
        "company_name": settings.OMS_COMPANY_NAME,
        "support_email": settings.OMS_SUPPORT_EMAIL,
    }


def site_url(path: str) -> str:
    """The absolute address of a path of this site, for links that leave it (e-mails): the
    ``OMS_SITE_URL`` setting (scheme and host, e.g. ``https://oms.example.com``) + ``path``.
    An address that is already absolute (a carrier's tracking page) is returned as it is."""
    if not path or "://" in path:
        return path
    base = settings.OMS_SITE_URL.rstrip("/")
    return f"{base}/{path.lstrip('/')}"


def _return_url(order: Order) -> str:
    """The customer's self-service return page (absolute), for the e-mails after shipping."""
    from returns.services import customer_return_url  # returns builds on orders: no cycle

    return customer_return_url(order)


def message_id_for(dedupe_key: str) -> str:
    """A stable RFC 5322 Message-ID: a resend of the same message carries the same id."""
    digest = hashlib.sha256(dedupe_key.encode()).hexdigest()[:40]
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip(" >") or "oms.invalid"
    return f"<oms.{digest}@{domain}>"


def webhook_signature(secret: str, timestamp: str, body: str) -> str:
    """Hex HMAC-SHA256 of ``"{timestamp}.{body}"`` with the endpoint's secret."""
    return hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()


# --- building messages --------------------------------------------------------------------------
def _email(
    *, purpose: str, key: str, to: str, context: dict, order=None, event=None, **subject_args
) -> OutboxMessage:
    context = {**_base_context(), **context}
    subject = SUBJECTS[purpose].format(**subject_args)
    return OutboxMessage(
        kind=OutboxKind.EMAIL,
        purpose=purpose,
        dedupe_key=key[:200],
        order=order,
        event=event,
        recipient=to,
        subject=subject[:255],
        body_text=render_to_string(f"emails/{purpose}.txt", {**context, "subject": subject}),
        body_html=render_to_string(f"emails/{purpose}.html", {**context, "subject": subject}),
        next_attempt_at=timezone.now(),
    )


def staff_alert_build(*, key: str, title: str, lines: Iterable[str]) -> OutboxMessage | None:
    to = settings.OMS_STAFF_ALERT_EMAIL
    if not to:
        return None
    return _email(
        purpose="staff_alert",
        key=f"alert:{key}",
        to=to,
        context={"title": title, "lines": list(lines)},
        title=title,
    )


class _OrderData:
    """What the e-mails of one order need, loaded once per order (no N+1 over its events)."""

    def __init__(
        self,
        order: Order,
        *,
        backordered_on_confirmation: OrderEvent | None = None,
        lines: list | None = None,
    ):
        self.order = order
        self._known_lines = lines  # a new order's, in memory
        # The order was confirmed and found short in one go (a placement): the confirmation
        # says which lines wait and the estimate, and no separate delay notice is sent.
        self.backordered_on_confirmation = backordered_on_confirmation

    @cached_property
    def lines(self) -> list:
        if self._known_lines is not None:
            return self._known_lines
        return list(self.order.lines.select_related("product"))

    @cached_property
    def customer(self):
        return self.order.customer

    def context(self, **extra) -> dict:
        return {
            "order": self.order,
            "customer_name": self.order.shipping_name or self.customer.name,
            "lines": self.lines,
            "products": {line.product.sku: line.product for line in self.lines},
            **extra,
        }


def _waiting(event: OrderEvent, data: _OrderData) -> list[dict]:
    """The backordered lines a BACKORDERED event names, for the e-mails."""
    products = data.context()["products"]
    return [
        {"sku": sku, "name": getattr(products.get(sku), "name", ""), "quantity": qty}
        for sku, qty in sorted((event.details.get("lines") or {}).items())
    ]


def _backordered_on_confirmation(events: list[OrderEvent]) -> dict[int, OrderEvent]:
    """Orders confirmed and backordered by the same write (one transaction): order id -> its
    BACKORDERED event. Their customer gets one e-mail that says both."""
    confirmed = {
        e.order.pk
        for e in events
        if e.type == EventType.STATUS_CHANGED and e.to_status == OrderStatus.CONFIRMED
    }
    return {
        e.order.pk: e for e in events if e.type == EventType.BACKORDERED and e.order.pk in confirmed
    }


def _sends_customer_email(event: OrderEvent) -> bool:
    if event.type == EventType.STATUS_CHANGED:
        return event.to_status in (OrderStatus.CONFIRMED, OrderStatus.CANCELLED)
    if event.type == EventType.DELIVERED:
        return bool(event.details.get("order_delivered"))
    return event.type in (
        EventType.BACKORDERED,
        EventType.SHIPPED,
        EventType.LATE,
        EventType.LINE_SUBSTITUTED,
    ) or (event.type in RETURN_EVENT_TYPES)


def _customer_emails(event: OrderEvent, data: _OrderData) -> list[OutboxMessage]:
    if not _sends_customer_email(event):
        return []  # nothing loaded for events that e-mail no one (e.g. -> processing)
    order = event.order
    number = order.number
    to = order.contact_email or data.customer.email
    if not to:
        return []
    common = {"order": order, "event": event, "to": to, "number": number}
    if event.type == EventType.STATUS_CHANGED and event.to_status == OrderStatus.CONFIRMED:
        short = data.backordered_on_confirmation
        waiting = _waiting(short, data) if short is not None else []
        return [
            _email(
                purpose="order_confirmed",
                key=f"email:{number}:confirmed",
                **common,
                delayed=" (some items follow later)" if waiting else "",
                context=data.context(waiting=waiting),
            )
        ]
    if event.type == EventType.STATUS_CHANGED and event.to_status == OrderStatus.CANCELLED:
        return [
            _email(
                purpose="order_cancelled",
                key=f"email:{number}:cancelled",
                **common,
                context=data.context(reason=event.message),
            )
        ]
    if event.type == EventType.BACKORDERED:
        if data.backordered_on_confirmation is event:
            return []  # told in the confirmation
        waiting = _waiting(event, data)
        return [
            _email(
                purpose="order_backordered",
                key=f"email:{number}:backordered:{event.pk}",
                **common,
                context=data.context(waiting=waiting),
            )
        ]
    if event.type == EventType.SHIPPED:
        d = event.details
        return [
            _email(
                purpose="order_shipped",
                key=f"email:{number}:shipped:{event.pk}",
                **common,
                context=data.context(
                    shipment=d.get("shipment", ""),
                    carrier=d.get("carrier", ""),
                    tracking_number=d.get("tracking_number", ""),
                    tracking_url=d.get("tracking_url", ""),
                    return_url=_return_url(order),
                ),
            )
        ]
    if event.type == EventType.DELIVERED and event.details.get("order_delivered"):
        return [
            _email(
                purpose="order_delivered",
                key=f"email:{number}:delivered",
                **common,
                context=data.context(
                    feedback_url=site_url(event.details.get("feedback_url", "")),
                    return_url=_return_url(order),
                ),
            )
        ]
    if event.type in RETURN_EVENT_TYPES:
        text = event.details.get("message") or event.message
        title = RETURN_TITLES[event.type]
        return [
            _email(
                purpose="return_update",
                key=f"email:{number}:{event.type}:{event.pk}",
                **common,
                title=title,
                context=data.context(
                    title=title,
                    text=text,
                    rma=event.details.get("return", ""),
                    return_url=_return_url(order),
                ),
            )
        ]
    if event.type == EventType.LINE_SUBSTITUTED:
        d = event.details
        return [
            _email(
                purpose="line_substituted",
                key=f"email:{number}:substituted:{event.pk}",
                **common,
                original=d.get("original_sku", ""),
                substitute=d.get("substitute_sku", ""),
                context=data.context(
                    quantity=d.get("quantity", 0),
                    original_sku=d.get("original_sku", ""),
                    original_name=d.get("original_name", ""),
                    original_price=d.get("original_unit_price", ""),
                    substitute_sku=d.get("substitute_sku", ""),
                    substitute_name=d.get("substitute_name", ""),
                    substitute_price=d.get("substitute_unit_price", ""),
                    price_charged=d.get("unit_price_charged", ""),
                ),
            )
        ]
    if event.type == EventType.LATE:
        return [
            _email(
                purpose="order_late",
                # Once per promise: a new promise clears the flag, and missing it is told again.
                key=f"email:{number}:late:{event.details.get('promised_ship_date', '')}",
                **common,
                context=data.context(promised=event.details.get("promised_ship_date", "")),
            )
        ]
    return []


def order_representation(order: Order) -> dict:
    """The order as the API shows it (api.md). Uses the API's serializer when there is one."""
    try:
        from . import api  # written by another module; may not exist yet
    except ImportError:
        api = None
    for name in ("OrderSerializer", "OrderOutputSerializer", "OrderDetailSerializer"):
        serializer = getattr(api, name, None)
        if serializer is None:
            continue
        try:
            with transaction.atomic():  # a failing query must not break the business transaction
                return json.loads(json.dumps(serializer(order).data, cls=DjangoJSONEncoder))
        except Exception:  # fall back to the built-in representation
            logger.warning(
                "Order serializer %s failed; using the built-in one.", name, exc_info=True
            )
            break
    lines = list(order.lines.select_related("product"))
    customer = order.customer
    shipments = []
    related = getattr(order, "shipments", None)
    if related is not None:
        for s in related.select_related("warehouse").order_by("pk"):
            shipments.append(
                {
                    "number": getattr(s, "number", ""),
                    "warehouse": getattr(getattr(s, "warehouse", None), "code", None),
                    "status": getattr(s, "status", ""),
                    "carrier": str(s.carrier) if getattr(s, "carrier", None) else None,
                    "tracking_number": getattr(s, "tracking_number", None) or None,
                    "shipped_at": getattr(s, "shipped_at", None),
                    "delivered_at": getattr(s, "delivered_at", None),
                }
            )
    data = {
        "number": order.number,
        "reference": order.reference,
        "status": order.status,
        "channel": order.channel.code,
        "customer": {
            "name": order.shipping_name or customer.name,
            "email": order.contact_email or customer.email,
            "phone": str(order.contact_phone),
        },
        "shipping_address": {
            "name": order.shipping_name,
            "line1": order.shipping_line1,
            "line2": order.shipping_line2,
            "city": order.shipping_city,
            "postal_code": order.shipping_postal_code,
            "country": str(order.shipping_country),
        },
        "lines": [
            {
                "sku": line.product.sku,
                "quantity": line.quantity,
                "unit_price": str(line.unit_price),
                "quantity_allocated": line.quantity_allocated,
                "quantity_backordered": line.quantity_backordered,
                "quantity_shipped": line.quantity_shipped,
                "quantity_returned": line.quantity_returned,
            }
            for line in lines
        ],
        "total": str(order.total),
        "currency": order.currency,
        "placed_at": order.placed_at,
        "estimated_delivery_date": order.estimated_delivery_date,
        "shipments": shipments,
    }
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def _webhooks(event: OrderEvent, endpoints: list[WebhookEndpoint], cache: dict) -> list:
    wanted = [ep for ep in endpoints if ep.wants(event.type)]
    if not wanted:
        return []
    order = event.order
    if order.pk not in cache:
        cache[order.pk] = order_representation(order)
    messages = []
    for endpoint in wanted:
        key = f"webhook:{endpoint.pk}:{event.pk}"
        body = {
            "id": key,
            "type": f"order.{event.type}",
            "created_at": event.created_at,
            "from_status": event.from_status,
            "to_status": event.to_status,
            "message": event.message,
            "details": event.details,
            "order": cache[order.pk],
        }
        messages.append(
            OutboxMessage(
                kind=OutboxKind.WEBHOOK,
                purpose=f"order.{event.type}",
                dedupe_key=key,
                order=order,
                event=event,
                endpoint=endpoint,
                recipient=endpoint.url,
                body_text=json.dumps(body, cls=DjangoJSONEncoder, sort_keys=True),
                next_attempt_at=timezone.now(),
            )
        )
    return messages


def _low_stock_alerts(events: list[OrderEvent], reserved: dict) -> list[OutboxMessage]:
    """Staff alerts for the stock levels that the ALLOCATED events reserved from."""
    from inventory.models import StockLevel

    known = [reserved.get(event.order_id) for event in events]
    if events and all(levels is not None for levels in known):
        # The stock rows the events reserved from, locked and current in memory: only the ones
        # at or below their reorder point are read (with their product and warehouse).
        low = {
            level.pk
            for levels in known
            for level in levels
            if level.reorder_point > 0 and level.reorder_point >= level.available
        }
        return low_stock_alerts_for(StockLevel.objects.filter(pk__in=low)) if low else []
    wanted: dict[str, set[str]] = defaultdict(set)
    for event in events:
        for code, skus in (event.details.get("warehouses") or {}).items():
            wanted[code].update(skus)
    if not wanted:
        return []
    condition = Q()
    for code, skus in wanted.items():
        condition |= Q(warehouse__code=code, product__sku__in=sorted(skus))
    return low_stock_alerts_for(StockLevel.objects.filter(condition))


def low_stock_alerts_for(levels) -> list[OutboxMessage]:
    """One alert per stock level at or below its reorder point, at most once a day."""
    today = timezone.localdate().isoformat()
    alerts = []
    for level in (
        levels.filter(reorder_point__gt=0, reorder_point__gte=F("on_hand") - F("reserved"))
        .select_related("product", "warehouse")
        .order_by("pk")
    ):
        alert = staff_alert_build(
            key=f"low-stock:{level.pk}:{today}",
            title=f"Low stock: {level.product.sku} at {level.warehouse.code}",
            lines=[
                f"{level.product.sku} ({level.product.name}) at warehouse {level.warehouse.code}:",
                f"available {level.available} (on hand {level.on_hand}, reserved "
                f"{level.reserved}), reorder point {level.reorder_point}.",
            ],
        )
        if alert is not None:
            alerts.append(alert)
    return alerts


def notify_events(saved: list[OrderEvent]) -> list[OutboxMessage]:
    """The hook of ``events.events_save``: write the outbox rows the new events cause, in the
    caller's transaction. Queries grow with the number of orders involved, not of events.
    What the writer holds in memory (new orders, their lines, the stock rows reserved from) is
    used instead of reading it back (``events.known_now``)."""
    known = known_now()
    new_orders, reserved = known.new_orders, known.reserved_levels
    relevant = [
        e
        for e in saved
        if e.type in WEBHOOK_EVENT_TYPES
        or e.type == EventType.ALLOCATED
        or e.type == EventType.LATE
        or e.type == EventType.LINE_SUBSTITUTED
    ]
    if not relevant:
        return []
    messages: list[OutboxMessage] = []
    data: dict[int, _OrderData] = {}
    partner_ids = {e.order.partner_id for e in relevant if e.order.partner_id}
    endpoints: dict[int, list[WebhookEndpoint]] = defaultdict(list)
    if partner_ids:
        for ep in WebhookEndpoint.objects.filter(partner_id__in=partner_ids, is_active=True):
            endpoints[ep.partner_id].append(ep)
    representations: dict[int, dict] = {}
    short_on_confirmation = _backordered_on_confirmation(relevant)
    for event in relevant:
        if event.type == EventType.ALLOCATED:
            continue
        order = event.order
        if order.pk not in data:
            data[order.pk] = _OrderData(
                order,
                backordered_on_confirmation=short_on_confirmation.get(order.pk),
                lines=new_orders.get(order.pk),
            )
        messages.extend(_customer_emails(event, data[order.pk]))
        if order.partner_id and event.type in WEBHOOK_EVENT_TYPES:
            messages.extend(_webhooks(event, endpoints[order.partner_id], representations))
    allocated = [e for e in relevant if e.type == EventType.ALLOCATED]
    messages.extend(_low_stock_alerts(allocated, reserved))
    return outbox_save(messages, new_order_ids=set(new_orders))


# --- writing and enqueuing ------------------------------------------------------------------------
def outbox_save(
    messages: list[OutboxMessage], *, new_order_ids: Iterable[int] = ()
) -> list[OutboxMessage]:
    """Insert the messages (a dedupe key already present is skipped) and hand the new ones to
    Celery after the surrounding transaction commits. ``new_order_ids``: orders created in
    this transaction."""
    if not messages:
        return []
    # A message about an order created in this transaction has a key nobody used before: it is
    # inserted plainly and its id comes back with the INSERT. Any other may be a repeat.
    fresh, maybe_seen = [], []
    new_order_ids = set(new_order_ids)
    for m in messages:
        new_order = m.order_id is not None and m.order_id in new_order_ids
        (fresh if new_order and m.purpose != "staff_alert" else maybe_seen).append(m)
    pending = [m.pk for m in OutboxMessage.objects.bulk_create(fresh)] if fresh else []
    if maybe_seen:
        OutboxMessage.objects.bulk_create(maybe_seen, ignore_conflicts=True)
        pending += OutboxMessage.objects.filter(
            dedupe_key__in=[m.dedupe_key for m in maybe_seen], status=OutboxStatus.PENDING
        ).values_list("pk", flat=True)
    pending.sort()
    if pending:
        transaction.on_commit(lambda: enqueue(pending))
    return messages


def enqueue(ids: Iterable[int]) -> None:
    """Hand message ids to Celery. Never raises: if the broker is down the rows stay pending
    and the sweeper sends them later."""
    from .tasks import outbox_send_task

    queue = settings.OMS_OUTBOX_QUEUE
    options = {"queue": queue} if queue else {}
    for pk in ids:
        try:
            outbox_send_task.apply_async(args=[pk], retry=False, **options)
        except Exception:  # the change is committed; the sweeper retries
            logger.warning(
                "Could not enqueue outbox message %s; the sweeper will send it.", pk, exc_info=True
            )


# --- sending --------------------------------------------------------------------------------------
# A failed attempt (recorded and retried); ``webhook_http.WebhookRefused`` is one whose URL or
# address is not allowed (see orders/webhook_http.py): nothing was sent.
DeliveryError = webhook_http.WebhookDeliveryError


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
        if message.kind == OutboxKind.WEBHOOK:
            status_code = _deliver_webhook(message)
        else:
            _deliver_email(message)
    except Exception as exc:  # any delivery failure is recorded and retried
        error = f"{type(exc).__name__}: {exc}"[:2000]
        status_code = getattr(exc, "status_code", None)
    duration = int((time.monotonic() - started) * 1000)
    return _record(message, token, error=error, status_code=status_code, duration=duration)


def _record(message: OutboxMessage, token: str, *, error: str, status_code, duration: int) -> str:
    # The error text may quote a partner's response (its status line, a Location header):
    # PostgreSQL refuses NUL in text, and the attempt must be recorded whatever it said.
    error = error.replace("\x00", "\\x00")
    now = timezone.now()
    with transaction.atomic():
        OutboxAttempt.objects.create(
            message=message,
            number=OutboxAttempt.objects.filter(message=message).count() + 1,
            succeeded=not error,
            status_code=status_code,
            error=error,
            duration_ms=duration,
        )
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
    if message.purpose == "staff_alert":
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
            error = (
                f"In doubt: claimed at {message.claimed_at:%Y-%m-%d %H:%M:%S} and never recorded "
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
    """Staff alerts for every stock level at or below its reorder point (once a day each)."""
    from inventory.models import StockLevel

    with transaction.atomic():
        return len(outbox_save(low_stock_alerts_for(StockLevel.objects.all())))
