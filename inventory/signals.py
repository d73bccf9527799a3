from django.dispatch import Signal

# Sent after the commit of a change that made units of these products available again
# (a reservation released, stock received, restocked or adjusted up). Inventory knows nothing
# of orders; the orders app listens and gives the units to backordered orders.
# Argument: product_ids (a sorted list).
stock_available = Signal()

# Sent inside a receiving transaction by an app below orders (purchasing) BEFORE it books stock
# in, so that the app above that must lock rows before the stock rows can do it now: orders
# locks the orders waiting for the products, then every stock row of them
# (``orders.locks.stock_arrival_lock``, the one lock sequence). Arguments: products (a list of
# Product), warehouse (where they arrive). A receiver may answer with what it locked; the sender
# hands the answers back with ``stock_received``.
stock_arriving = Signal()

# Sent inside the same transaction right AFTER the stock was booked in (on hand raised), so
# that the units go to waiting orders now, oldest first, under the locks taken on
# ``stock_arriving``. Arguments: products (a list of Product), user, arrivals (what the
# receivers of ``stock_arriving`` answered, handed back as they were: the locks they hold). A
# receiver may answer with the numbers of the orders that got stock (a list of str).
stock_received = Signal()
