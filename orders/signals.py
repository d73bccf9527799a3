from django.dispatch import Signal

# Sent inside the cancelling transaction, after the order's reservations were released, so that
# higher apps (fulfillment) can close what they hold for the order. Arguments: order, user.
order_cancelled = Signal()

# Sent inside the allocating transaction when an order becomes ``allocated`` (every unit
# reserved), so that fulfillment can create one shipment per warehouse. Arguments: order, user.
order_allocated = Signal()
