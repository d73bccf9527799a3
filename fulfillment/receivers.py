"""Reactions to the orders app's signals (orders never import fulfillment)."""

from .services import shipments_cancel_for_order, shipments_create_for_orders


def on_order_allocated(sender, *, order, user=None, allocations=None, **kwargs):
    # The answer: a new order's shipments, for the API's answer (orders' PlacedOrder) without
    # reading them back.
    return shipments_create_for_orders(orders=[order], user=user, new_allocations=allocations)


def on_orders_allocated(sender, *, orders, user=None, **kwargs):
    shipments_create_for_orders(orders=orders, user=user)


def on_order_cancelled(sender, *, order, user=None, **kwargs):
    shipments_cancel_for_order(order=order, user=user, reason="The order was cancelled.")


def on_order_stock_lost(sender, *, orders, user=None, reason="", **kwargs):
    """A stock count took back an allocated order's units: it waits for stock again, so its
    pending shipments go (new ones are created when it is allocated again)."""
    for order in orders:
        shipments_cancel_for_order(order=order, user=user, reason=reason)
