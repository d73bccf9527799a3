"""Celery tasks of the order flow: thin, idempotent, ids only."""

from celery import shared_task

from . import notifications, services

# A partner's endpoint that trickles its answer a byte at a time stays within the per-read
# timeout forever: past the soft limit the send raises inside the task and is recorded as a
# failed attempt, retried later (prefork workers; the hard limit ends a stuck process).
SEND_SOFT_LIMIT_SECONDS = 120


@shared_task(
    name="orders.outbox_send",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=SEND_SOFT_LIMIT_SECONDS,
    time_limit=SEND_SOFT_LIMIT_SECONDS + 30,
)
def outbox_send_task(message_id: int) -> str:
    """Send one outbox message (a no-op when it is already sent or another worker holds it)."""
    return notifications.outbox_send(message_id=message_id)


@shared_task(name="orders.outbox_sweep", acks_late=True)
def outbox_sweep_task() -> dict:
    """Every minute: settle claims in doubt, send what is pending and due."""
    return notifications.outbox_sweep()


@shared_task(name="orders.late_orders", acks_late=True)
def late_orders_task() -> int:
    """Hourly: flag late orders (``Order.objects.late()``) and tell their customers, once per
    promised ship date."""
    return len(services.orders_late_flag())


@shared_task(name="orders.low_stock", acks_late=True)
def low_stock_task() -> int:
    """Hourly: alert staff about stock levels at or below their reorder point (once a day)."""
    return notifications.low_stock_sweep()


@shared_task(name="orders.idempotency_cleanup", acks_late=True)
def idempotency_cleanup_task() -> int:
    """Daily: delete partner Idempotency-Keys older than ``OMS_IDEMPOTENCY_TTL_HOURS``."""
    from .services import idempotency_keys_cleanup

    return idempotency_keys_cleanup()


@shared_task(name="orders.backorders_fill", acks_late=True)
def backorders_fill_task(product_ids: list[int]) -> int:
    """After a commit that freed units of these products: give them to backordered orders."""
    from .services import backorders_sweep

    return len(backorders_sweep(product_ids=product_ids))


@shared_task(name="orders.backorders_sweep", acks_late=True)
def backorders_sweep_task() -> int:
    """Every few minutes: fill any backorder whose product has free stock (safety net)."""
    from .services import backorders_sweep

    return len(backorders_sweep())
