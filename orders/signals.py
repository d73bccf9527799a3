from django.dispatch import Signal

# Sent inside the cancelling transaction, after the order's reservations were released, so that
# higher apps (fulfillment) can close what they hold for the order. Arguments: order, user.
order_cancelled = Signal()

# Sent inside the placing transaction when a new order is ``allocated`` at once (every unit
# reserved), so that fulfillment can create one shipment per warehouse. Arguments: order, user,
# allocations (the order's reservations, so that nothing has to be read back). A receiver may
# answer with the rows it created for the order (a list: fulfillment's shipments); placement
# hands them on in ``PlacedOrder.shipments``.
order_allocated = Signal()

# Sent once per write by the allocation writer (``orders.services.allocation.apply``) with the
# existing orders it allocated: a confirmation, a release, a line change, a backorder fill (a
# receipt may allocate thousands). Arguments: orders (a list), user.
orders_allocated = Signal()
