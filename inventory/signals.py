from django.dispatch import Signal

# Sent after the commit of a change that made units of these products available again
# (a reservation released, stock received, restocked or adjusted up). Inventory knows nothing
# of orders; the orders app listens and gives the units to backordered orders.
# Argument: product_ids (a sorted list).
stock_available = Signal()
