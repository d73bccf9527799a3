from django.contrib import admin

from .models import Carrier, CarrierService, DeliveryFeedback, PickList, Shipment, ShipmentLine


class CarrierServiceInline(admin.TabularInline):
    model = CarrierService
    extra = 0


@admin.register(Carrier)
class CarrierAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "tracking_url_template", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "code"]
    inlines = [CarrierServiceInline]


@admin.register(CarrierService)
class CarrierServiceAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "price_per_parcel",
        "price_per_kg",
        "currency",
        "transit_days",
        "countries",
        "is_active",
    ]
    list_filter = ["carrier", "is_active"]
    search_fields = ["name", "code", "carrier__name"]
    list_select_related = ["carrier"]


class ShipmentLineInline(admin.TabularInline):
    model = ShipmentLine
    extra = 0
    can_delete = False
    fields = ["order_line", "stock_level", "quantity"]
    readonly_fields = fields  # type: ignore[assignment]  # the same names (stubs: list invariance)

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Shipment)
class ShipmentAdmin(admin.ModelAdmin):
    """Shipments change state only through the services (pages, API): the admin shows them
    and lets managers fix the parcel data."""

    list_display = [
        "number",
        "order",
        "warehouse",
        "status",
        "carrier_service",
        "tracking_number",
        "created_at",
        "shipped_at",
    ]
    list_filter = ["status", "warehouse", "carrier_service__carrier"]
    search_fields = ["number", "order__number", "tracking_number"]
    list_select_related = ["order", "warehouse", "carrier_service__carrier"]
    date_hierarchy = "created_at"
    inlines = [ShipmentLineInline]
    readonly_fields = [
        "number",
        "order",
        "warehouse",
        "status",
        "pick_list",
        "carrier_service",
        "shipping_cost",
        "tracking_number",
        "created_at",
        "picked_at",
        "packed_at",
        "shipped_at",
        "delivered_at",
        "cancelled_at",
    ]
    fields = [*readonly_fields[:8], "weight_grams", "length_cm", "width_cm", "height_cm"]
    fields += readonly_fields[8:]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PickListShipmentInline(admin.TabularInline):
    model = Shipment
    fk_name = "pick_list"
    extra = 0
    can_delete = False
    fields = ["number", "order", "status"]
    readonly_fields = fields  # type: ignore[assignment]  # the same names (stubs: list invariance)

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(PickList)
class PickListAdmin(admin.ModelAdmin):
    list_display = ["number", "warehouse", "created_at", "created_by"]
    list_filter = ["warehouse"]
    search_fields = ["number"]
    readonly_fields = ["number", "warehouse", "created_at", "created_by"]
    inlines = [PickListShipmentInline]

    def has_add_permission(self, request):
        return False


@admin.register(DeliveryFeedback)
class DeliveryFeedbackAdmin(admin.ModelAdmin):
    list_display = ["order", "rating", "created_at", "updated_at"]
    list_filter = ["rating"]
    search_fields = ["order__number", "comment"]
    readonly_fields = ["order", "rating", "comment", "created_at", "updated_at"]

    def has_add_permission(self, request):
        return False
