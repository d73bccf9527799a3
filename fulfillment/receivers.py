"""Reactions to the orders app's signals (orders never import fulfillment)."""

from orders.signals import orders_allocated

from .services import shipments_cancel_for_order, shipments_create_for_orders


def on_order_allocated(sender, *, order, user=None, allocations=None, **kwargs):
    shipments_create_for_orders(orders=[order], user=user, new_allocations=allocations)


def on_orders_allocated(sender, *, orders, user=None, **kwargs):
    shipments_create_for_orders(orders=orders, user=user)


def on_order_cancelled(sender, *, order, user=None, **kwargs):
    shipments_cancel_for_order(order=order, user=user, reason="The order was cancelled.")


# Connected here rather than in FulfillmentConfig.ready (which imports this module) because
# apps.py belongs to another change; moving it there is equivalent.
orders_allocated.connect(on_orders_allocated, dispatch_uid="fulfillment.shipments_create_many")
