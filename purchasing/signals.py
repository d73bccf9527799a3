from django.dispatch import Signal

# Sent by ``purchasing.events.events_save`` right after it saved purchase order events, inside
# the business transaction, so that notifications (above the domain apps) write the outbox rows
# they cause (the supplier's e-mail with the PDF) in that same transaction.
# Arguments: events (the saved PurchaseOrderEvents, with their ids).
purchase_order_events_saved = Signal()
