"""Celery tasks of the order flow: thin, idempotent, ids only."""

from celery import shared_task

from . import notifications


@shared_task(name="orders.outbox_send", acks_late=True, reject_on_worker_lost=True)
def outbox_send_task(message_id: int) -> str:
    """Send one outbox message (a no-op when it is already sent or another worker holds it)."""
    return notifications.outbox_send(message_id=message_id)


@shared_task(name="orders.outbox_sweep", acks_late=True)
def outbox_sweep_task() -> dict:
    """Every minute: settle claims in doubt, send what is pending and due."""
    return notifications.outbox_sweep()


@shared_task(name="orders.late_orders", acks_late=True)
def late_orders_task() -> int:
    """Hourly: flag orders past their promised ship date and tell their customers once."""
    return len(notifications.late_orders_flag())


@shared_task(name="orders.low_stock", acks_late=True)
def low_stock_task() -> int:
    """Hourly: alert staff about stock levels at or below their reorder point (once a day)."""
    return notifications.low_stock_sweep()
