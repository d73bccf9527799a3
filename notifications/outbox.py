"""Writing outbox rows (request side): what to send, to whom, about what; never the text.

A row names its cause (order, event, endpoint) and carries in ``context`` the few facts of the
moment that the worker cannot read back (a staff alert's title and lines, the order's status as
the transaction left it). The worker renders it (notifications.rendering) when it sends it."""

import logging
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from inventory.models import StockLevel

from .models import OutboxKind, OutboxMessage, OutboxStatus

logger = logging.getLogger(__name__)

STAFF_ALERT = "staff_alert"
# The supplier's e-mail of a purchase order that was sent (the PDF attached by the worker).
PURCHASE_ORDER_SENT = "purchase_order_sent"


def email_build(
    *,
    purpose: str,
    key: str,
    to: str,
    context: dict[str, Any] | None = None,
    **related: Any,
) -> OutboxMessage:
    """An e-mail to render from ``emails/<purpose>.txt`` and ``.html`` when it is sent.
    ``related``: the ``order`` and ``event`` it is about, if any."""
    return OutboxMessage(
        kind=OutboxKind.EMAIL,
        purpose=purpose,
        dedupe_key=key[:200],
        recipient=to,
        context=context or {},
        next_attempt_at=timezone.now(),
        **related,
    )


def notice_build(*, key: str, to: str, title: str, lines: Iterable[str]) -> OutboxMessage:
    """A short notice to one person (the staff alert layout: a title and lines of text)."""
    return email_build(
        purpose=STAFF_ALERT, key=key, to=to, context={"title": title, "lines": list(lines)}
    )


def staff_alert_build(*, key: str, title: str, lines: Iterable[str]) -> OutboxMessage | None:
    """A notice to ``OMS_STAFF_ALERT_EMAIL`` (None when no one is to be alerted)."""
    to = settings.OMS_STAFF_ALERT_EMAIL
    if not to:
        return None
    return notice_build(key=f"alert:{key}", to=to, title=title, lines=lines)


def staff_alert(*, key: str, title: str, lines: Iterable[str]) -> None:
    """Write a staff alert in the caller's transaction (nothing when alerts are off)."""
    alert = staff_alert_build(key=key, title=title, lines=lines)
    if alert is not None:
        outbox_save([alert])


def low_stock_alerts_for(
    levels: "QuerySet[StockLevel]",
    *,
    computed: Mapping[tuple[int, int], int] | None = None,
) -> list[OutboxMessage]:
    """One alert per stock level at or below its reorder point, at most once a day.
    ``computed``: (product id, warehouse id) → the reorder point replenishment computes
    (``purchasing.replenishment.reorder_points``), used where a row has no manual one (0)."""
    today = timezone.localdate().isoformat()
    alerts = []
    condition = Q(reorder_point__gt=0, reorder_point__gte=F("on_hand") - F("reserved"))
    if computed:
        condition |= Q(reorder_point=0)
    for level in levels.filter(condition).select_related("product", "warehouse").order_by("pk"):
        point = level.reorder_point or (computed or {}).get(
            (level.product_id, level.warehouse_id), 0
        )
        if not point or level.available > point:
            continue
        alert = staff_alert_build(
            key=f"low-stock:{level.pk}:{today}",
            title=f"Low stock: {level.product.sku} at {level.warehouse.code}",
            lines=[
                f"{level.product.sku} ({level.product.name}) at warehouse {level.warehouse.code}:",
                f"available {level.available} (on hand {level.on_hand}, reserved "
                f"{level.reserved}), reorder point {point}"
                + ("." if level.reorder_point else " (from recent demand)."),
            ],
        )
        if alert is not None:
            alerts.append(alert)
    return alerts


def outbox_save(
    messages: list[OutboxMessage], *, new_order_ids: Collection[int] = ()
) -> list[OutboxMessage]:
    """Insert the messages (a dedupe key already present is skipped) and hand the new ones to
    Celery after the surrounding transaction commits. ``new_order_ids``: orders created in this
    transaction, whose messages have keys nobody used before (inserted plainly, their ids come
    back with the INSERT); any other message may be a repeat."""
    if not messages:
        return []
    fresh: list[OutboxMessage] = []
    maybe_seen: list[OutboxMessage] = []
    for m in messages:
        new_order = m.order_id is not None and m.order_id in new_order_ids
        (fresh if new_order and m.purpose != STAFF_ALERT else maybe_seen).append(m)
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
    """Hand the message ids of one transaction to Celery in one task per
    ``OMS_OUTBOX_BATCH_SIZE`` ids (one broker round trip for an order; the worker sends each
    task's messages as a batch). Never raises: if the broker is down the rows stay pending
    and the next batch or the sweeper sends them."""
    from .tasks import outbox_send_batch_task

    pending = list(ids)
    size = max(1, int(settings.OMS_OUTBOX_BATCH_SIZE))
    queue = settings.OMS_OUTBOX_QUEUE
    options = {"queue": queue} if queue else {}
    for start in range(0, len(pending), size):
        batch = pending[start : start + size]
        try:
            outbox_send_batch_task.apply_async(args=[batch], retry=False, **options)
        except Exception:  # the change is committed; the sweeper retries
            logger.warning(
                "Could not enqueue outbox messages %s; the sweeper will send them.",
                batch,
                exc_info=True,
            )
            return
