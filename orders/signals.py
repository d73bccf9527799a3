from django.dispatch import Signal

# Sent inside the cancelling transaction, after the order's reservations were released, so that
# higher apps (fulfillment) can close what they hold for the order. Arguments: order, user.
order_cancelled = Signal()

# Sent inside the allocating transaction when an order becomes ``allocated`` (every unit
# reserved), so that fulfillment can create one shipment per warehouse. Arguments: order, user,
# allocations (the order's reservations when the order was created in this transaction, so that
# nothing has to be read back; None otherwise).
order_allocated = Signal()

# The batched form of ``order_allocated``: sent once by a backorder fill for every order it
# allocated (a receipt may allocate thousands). Arguments: orders (a list), user.
orders_allocated = Signal()
