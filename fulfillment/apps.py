from django.apps import AppConfig


class FulfillmentConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "fulfillment"

    def ready(self):
        from orders.signals import order_allocated, order_cancelled, orders_allocated

        from . import receivers

        order_allocated.connect(
            receivers.on_order_allocated, dispatch_uid="fulfillment.shipments_create"
        )
        orders_allocated.connect(
            receivers.on_orders_allocated, dispatch_uid="fulfillment.shipments_create_many"
        )
        order_cancelled.connect(
            receivers.on_order_cancelled, dispatch_uid="fulfillment.shipments_cancel"
        )
        from orders.stock_counts import order_stock_lost

        order_stock_lost.connect(
            receivers.on_order_stock_lost, dispatch_uid="fulfillment.shipments_cancel_counted"
        )
