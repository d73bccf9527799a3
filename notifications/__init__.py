"""Customer e-mails, staff alerts and partner webhooks through a transactional outbox.

Above the domain apps: it listens to their signals (``orders.signals.order_events_saved`` and the
like) and writes outbox rows in the sender's transaction; a Celery worker renders and sends them.
The domain apps never import this package."""
