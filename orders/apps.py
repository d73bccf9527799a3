from django.apps import AppConfig


class OrdersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "orders"

    def ready(self):
        from purchasing.replenishment import backorder_source_register

        from . import receivers  # noqa: F401  (connects the signal receivers)
        from .selectors import backorders_by_warehouse

        # Replenishment counts backorders, which orders own (purchasing may not import orders).
        backorder_source_register(backorders_by_warehouse)
