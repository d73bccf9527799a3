from dataclasses import dataclass

from django.dispatch import Signal

from inventory.models import StockLevel

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

# Sent by ``events.events_save`` right after it saved order events, inside the business
# transaction, so that notifications (above the domain apps) write the outbox rows they cause
# in that same transaction. Arguments: events (the saved OrderEvents, with their ids).
order_events_saved = Signal()

# Sent by ``services.orders_late_flag`` inside a transaction with the orders it just flagged late
# (their customers are told through their LATE events). Arguments: orders (a list).
orders_flagged_late = Signal()


@dataclass(frozen=True)
class StockCountShortage:
    """One stock row a count found below its reserved units: the row (product and warehouse
    loaded, on_hand the count), its ledger row, on hand before, and {order number: {sku: units}}
    that went back to backorders."""

    level: StockLevel
    movement_id: int
    previous: int
    backordered: dict[str, dict[str, int]]


# Sent once inside a stock count's transaction (one row, or a whole count sheet) when the count
# found fewer units than were reserved and orders went back to backorders. Arguments:
# shortages (a list of StockCountShortage), reference (the count sheet's number, or ""),
# counted_by (the user's name, or "").
stock_count_came_short = Signal()
