"""The REST API under /api/v1/ (see shared docs/api.md)."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from core.api.errors import not_found
from fulfillment.api import ShipmentViewSet
from inventory.api import ProductViewSet, StockLevelViewSet, WarehouseViewSet
from orders.api import OrderEventViewSet, OrderViewSet, ReceiptViewSet
from purchasing.api import PurchaseOrderViewSet, SupplierViewSet
from purchasing.replenishment_api import ReplenishmentViewSet
from purchasing.transfer_api import TransferViewSet
from returns.api import ReturnViewSet

app_name = "api"

router = DefaultRouter()
router.register("products", ProductViewSet, basename="product")
router.register("warehouses", WarehouseViewSet, basename="warehouse")
router.register("inventory/receipts", ReceiptViewSet, basename="receipt")
router.register("inventory/stock", StockLevelViewSet, basename="stock")
router.register("inventory/replenishment", ReplenishmentViewSet, basename="replenishment")
router.register("orders", OrderViewSet, basename="order")
router.register("events", OrderEventViewSet, basename="event")
router.register("shipments", ShipmentViewSet, basename="shipment")
router.register("returns", ReturnViewSet, basename="return")
router.register("suppliers", SupplierViewSet, basename="supplier")
router.register("purchase-orders", PurchaseOrderViewSet, basename="purchase-order")
router.register("transfers", TransferViewSet, basename="transfer")

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    *router.urls,
    # Anything else under /api/v1/ is a JSON 404, never Django's HTML page.
    re_path(r"^.*$", not_found, name="not-found"),
]
