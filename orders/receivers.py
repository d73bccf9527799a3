"""Reactions of the order flow to other apps' signals. Thin: they enqueue a task."""

import logging

from django.dispatch import receiver

from inventory.signals import stock_available

logger = logging.getLogger(__name__)


@receiver(stock_available)
def fill_backorders_later(sender, product_ids, **kwargs):
    """Units became free (after commit): fill backorders of those products in a task. If the
    broker is down, the periodic sweep fills them later."""
    from .tasks import backorders_fill_task

    try:
        backorders_fill_task.apply_async(args=(list(product_ids),), retry=False)
    except Exception:
        logger.warning("Could not enqueue backorder filling for %s", product_ids, exc_info=True)
