"""Celery tasks of the order flow: thin, idempotent, ids only."""

from celery import shared_task

from . import services


@shared_task(name="orders.late_orders", acks_late=True)
def late_orders_task() -> int:
    """Hourly: flag late orders (``Order.objects.late()``) and tell their customers, once per
    promised ship date."""
    return len(services.orders_late_flag())


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


@shared_task(name="orders.expected_dates_passed", acks_late=True)
def expected_dates_passed_task() -> int:
    """Hourly: backorders waiting for a purchase order whose expected date passed are estimated
    again; their customers are told once, the day after (``services.expected_dates_passed``)."""
    return services.expected_dates_passed()
