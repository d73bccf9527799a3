"""Reactions of the order flow to other apps' signals. Thin: they enqueue a task, or call the
service that owns the rule (stock arriving from a purchase order: the one lock sequence, then
the backorders filled in the receiving transaction)."""

import logging

from django.dispatch import receiver

from inventory.signals import stock_arriving, stock_available, stock_received
from purchasing.signals import expected_arrivals_changed

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


@receiver(stock_arriving, dispatch_uid="orders.stock_arriving")
def lock_for_stock_arriving(sender, products, warehouse, **kwargs):
    """Stock is about to be booked in by an app below us (a purchase order receipt): take the
    stock-arrival lock sequence now — the waiting orders, then every stock row of the products
    (creating the missing rows in ``warehouse``) — before the stock rows are touched. Answers
    with what it locked, which the sender hands back with ``stock_received``."""
    from .locks import stock_arrival_lock

    ensure = [(warehouse, list(products))] if warehouse.is_active else []
    return stock_arrival_lock(product_ids={p.pk for p in products}, ensure=ensure)


@receiver(stock_received, dispatch_uid="orders.stock_received")
def fill_backorders_now(sender, products, user=None, arrivals=(), **kwargs):
    """The stock was booked in (same transaction): give it to the orders locked on
    ``stock_arriving`` (``arrivals``: its receivers' answers), oldest first. Answers with the
    numbers of the orders that got stock."""
    from .locks import StockArrival
    from .services import stock_arrival_fill

    arrival = next((a for a in arrivals if isinstance(a, StockArrival)), None)
    if arrival is None:  # nobody took the lock sequence: nothing was waiting for us
        return []
    filled = stock_arrival_fill(arrival=arrival, product_ids={p.pk for p in products}, user=user)
    return [order.number for order in filled]


@receiver(expected_arrivals_changed, dispatch_uid="orders.expected_arrivals_changed")
def estimate_backorders_again(sender, product_ids, reason, user=None, **kwargs):
    """The units on order of ``product_ids`` changed (a purchase order sent, received against,
    closed, cancelled, or its expected date moved; same transaction, the purchase order locked
    first): the backorders waiting for them are estimated again, and told when it moved."""
    from .services import backorder_estimates_refresh

    # A receipt sends this after its lock sequence (waiting orders, then stock rows): it never
    # waits for another order lock after that.
    backorder_estimates_refresh(
        product_ids=product_ids, reason=reason, user=user, stock_locked=reason == "received"
    )
