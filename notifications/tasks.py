"""Celery tasks of the outbox: thin, idempotent, ids only."""

from typing import Any

from celery import Task, shared_task

from . import services

# A partner's endpoint that trickles its answer a byte at a time stays within the per-read
# timeout forever: past the soft limit the send raises inside the task and is recorded as a
# failed attempt, retried later (prefork workers; the hard limit ends a stuck process).
SEND_SOFT_LIMIT_SECONDS = 120
SEND_OPTIONS: dict[str, Any] = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "soft_time_limit": SEND_SOFT_LIMIT_SECONDS,
    "time_limit": SEND_SOFT_LIMIT_SECONDS + 30,
}


@shared_task(name="notifications.outbox_send", **SEND_OPTIONS)
def outbox_send_task(message_id: int) -> str:
    """Send one outbox message (a no-op when it is already sent or another worker holds it).
    Tasks published before batches existed still arrive under this name."""
    return services.outbox_send(message_id=message_id)


@shared_task(name="notifications.outbox_send_batch", bind=True, **SEND_OPTIONS)
def outbox_send_batch_task(self: "Task[Any, Any]", message_ids: list[int]) -> dict[int, str]:
    """Send the messages of one transaction as a batch. In a worker, the batch is topped up
    with other pending e-mails when the worker fell behind (``OMS_OUTBOX_BATCH_SIZE``); run
    eagerly (inside the request that wrote them, ``make run``) it sends its own ids only."""
    catch_up = 0 if self.request.is_eager else services.batch_size()
    return services.outbox_send_many(message_ids=[int(pk) for pk in message_ids], catch_up=catch_up)


@shared_task(name="notifications.outbox_sweep", acks_late=True)
def outbox_sweep_task() -> dict[str, int]:
    """Every minute: settle claims in doubt, send what is pending and due."""
    return services.outbox_sweep()


@shared_task(name="notifications.low_stock", acks_late=True)
def low_stock_task() -> int:
    """Hourly: alert staff about stock levels at or below their reorder point (once a day)."""
    return services.low_stock_sweep()


# The names these tasks had in the orders app, for one release: a task message published by the
# previous release (an ``orders.outbox_send`` queued in Redis during the deploy, a beat entry sent
# by a beat that still runs the old schedule) is still understood by the new workers.
# TODO(next release): remove.
@shared_task(name="orders.outbox_send", **SEND_OPTIONS)
def outbox_send_task_old_name(message_id: int) -> str:
    return services.outbox_send(message_id=message_id)


@shared_task(name="orders.outbox_sweep", acks_late=True)
def outbox_sweep_task_old_name() -> dict[str, int]:
    return services.outbox_sweep()


@shared_task(name="orders.low_stock", acks_late=True)
def low_stock_task_old_name() -> int:
    return services.low_stock_sweep()
