from django.dispatch import Signal

# Sent by ``purchasing.events.events_save`` right after it saved purchase order events, inside
# the business transaction, so that notifications (above the domain apps) write the outbox rows
# they cause (the supplier's e-mail with the PDF) in that same transaction.
# Arguments: events (the saved PurchaseOrderEvents, with their ids).
purchase_order_events_saved = Signal()

# Sent by the purchase order services when the units on order change — a purchase order sent,
# received against, closed or cancelled, or its expected date moved — inside their transaction,
# after the purchase order (and its lines) were locked and written. orders (above us) estimates
# the backorders waiting for the products again (``orders.receivers``).
# Arguments: purchase_order, product_ids (set of int), reason ("sent", "received", "closed",
# "cancelled", "expected_at_changed"), user.
expected_arrivals_changed = Signal()
