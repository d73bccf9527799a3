from django.db.models import F, Q, Sum, Value
from django.db.models.functions import Coalesce

from .models import Product, StockLevel

ACTIVE_STOCK = Q(stock_levels__warehouse__is_active=True)


def product_list_with_availability(*, only_active: bool = True):
    """Products annotated with ``available``: on hand minus reserved over active warehouses."""
    qs = Product.objects.all()
    if only_active:
        qs = qs.filter(is_active=True)
    return qs.annotate(
        available=Coalesce(
            Sum(F("stock_levels__on_hand") - F("stock_levels__reserved"), filter=ACTIVE_STOCK),
            Value(0),
        )
    )


def stock_level_list():
    """Stock rows with product and warehouse; ``units_available`` can be filtered and sorted
    on (the model's ``available`` property gives the same figure per row)."""
    return StockLevel.objects.select_related("product", "warehouse").alias(
        units_available=F("on_hand") - F("reserved")
    )
