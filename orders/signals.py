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

# Sent by ``events.events_save`` right after it saved order events, inside the business
# transaction, so that notifications (above the domain apps) write the outbox rows they cause
# in that same transaction. Arguments: events (the saved OrderEvents, with their ids).
order_events_saved = Signal()

# Sent by ``services.orders_late_flag`` inside a transaction with the orders it just flagged late
# (their customers are told through their LATE events). Arguments: orders (a list).
orders_flagged_late = Signal()

# Sent inside a stock count's transaction when the count found fewer units than were reserved
# and orders went back to backorders. Arguments: level (the StockLevel, product and warehouse
# loaded), movement_id, previous (on hand expected), backordered ({order number: {sku: units}}),
# counted_by (the user's name, or "").
stock_count_came_short = Signal()
