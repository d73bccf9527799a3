"""The managers' admin for products, warehouses and stock.

On-hand and reserved quantities are never edited here: they change only through the stock
services (``stock_adjust`` here; receipts through ``orders.services.stock_receipt_record``, added
by ``orders/admin.py`` so that inventory imports nothing of the orders app). The ledger and the
reservations are read-only.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db.models import F

from core.contact import UNKNOWN_COUNTRY_ERRORS

from .exceptions import InventoryError
from .models import Allocation, Product, StockLevel, StockMovement, Warehouse
from .services import stock_adjust


class ReadOnlyAdminMixin:
    """Rows written only by services: viewable, never added, changed or deleted here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class StockLevelInline(admin.TabularInline):
    model = StockLevel
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ["warehouse", "on_hand", "reserved", "available", "bin_location", "reorder_point"]
    readonly_fields = fields  # type: ignore[assignment]  # the same names (stubs: list invariance)

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("warehouse", "product")

    @admin.display(description="available")
    def available(self, obj):
        return obj.available


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["sku", "name", "unit_price", "currency", "cost_price", "is_active"]
    list_filter = ["is_active", "currency"]
    search_fields = ["sku", "name"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [StockLevelInline]


@admin.register(Warehouse)
class WarehouseAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "country", "latitude", "longitude", "priority", "is_active"]
    list_filter = ["is_active", "country"]
    search_fields = ["code", "name"]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "country":  # an unknown code: the API's message, not "Select a ..."
            kwargs["error_messages"] = UNKNOWN_COUNTRY_ERRORS
        return super().formfield_for_dbfield(db_field, request, **kwargs)


class StockActionForm(ActionForm):
    """Extra fields of the action bar on the stock list: how many units and why."""

    quantity = forms.IntegerField(
        required=False, help_text="Units to adjust (signed) or to receive (positive)."
    )
    note = forms.CharField(
        required=False, max_length=100, help_text="Reason of an adjustment / receipt reference."
    )


class StockLevelForm(forms.ModelForm):
    """Bin and reorder point are edited directly; on-hand only through a logged adjustment."""

    adjust_by = forms.IntegerField(
        required=False,
        min_value=-1_000_000,
        max_value=1_000_000,
        help_text="Correct on hand by this many units (negative to remove), e.g. after a count. "
        "Writes a ledger row.",
    )
    adjust_reason = forms.CharField(
        required=False, max_length=255, help_text="Required with an adjustment."
    )

    class Meta:
        model = StockLevel
        fields = ["product", "warehouse", "bin_location", "reorder_point"]

    def clean(self):
        super().clean()
        data = self.cleaned_data
        if data.get("adjust_by") and not (data.get("adjust_reason") or "").strip():
            self.add_error("adjust_reason", "Give a reason for the adjustment.")
        if data.get("adjust_by") and self.instance.pk is None:
            self.add_error("adjust_by", "Save the stock level first, then adjust it.")
        return data


class BelowReorderPointFilter(admin.SimpleListFilter):
    title = "reorder"
    parameter_name = "reorder"

    def lookups(self, request, model_admin):
        return [("below", "At or below reorder point")]

    def queryset(self, request, queryset):
        if self.value() == "below":
            return queryset.filter(on_hand__lte=F("reserved") + F("reorder_point"))
        return queryset


@admin.register(StockLevel)
class StockLevelAdmin(admin.ModelAdmin):
    form = StockLevelForm
    action_form = StockActionForm
    list_display = [
        "product",
        "warehouse",
        "on_hand",
        "reserved",
        "available",
        "reorder_point",
        "bin_location",
    ]
    list_select_related = ["product", "warehouse"]
    list_filter = ["warehouse", BelowReorderPointFilter]
    search_fields = ["product__sku", "product__name", "bin_location"]
    readonly_fields = ["on_hand", "reserved", "available"]
    autocomplete_fields = ["product"]
    actions = ["adjust_stock"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return [*self.readonly_fields, "product", "warehouse"]
        return self.readonly_fields

    def get_fields(self, request, obj=None):
        fields = ["product", "warehouse", "on_hand", "reserved", "available"]
        fields += ["bin_location", "reorder_point"]
        if obj is not None and self.has_change_permission(request, obj):
            fields += ["adjust_by", "adjust_reason"]
        return fields

    def has_delete_permission(self, request, obj=None):
        return False  # stock rows carry a ledger; they are never deleted

    @admin.display(description="available")
    def available(self, obj):
        return obj.available

    def save_model(self, request, obj, form, change):
        if not change:
            obj.save()
            return
        # Save only what the form edits: on_hand / reserved on this instance may be stale.
        obj.save(update_fields=["bin_location", "reorder_point"])
        quantity = form.cleaned_data.get("adjust_by")
        if quantity:
            try:
                stock_adjust(
                    stock_level=obj,
                    quantity=quantity,
                    reason=form.cleaned_data["adjust_reason"],
                    user=request.user,
                )
            except InventoryError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(request, f"{obj}: on hand adjusted by {quantity:+d}.")

    @admin.action(
        description="Adjust on hand of selected stock by quantity (reason required)",
        permissions=["change"],
    )
    def adjust_stock(self, request, queryset):
        quantity = _action_quantity(self, request)
        reason = (request.POST.get("note") or "").strip()
        if quantity is None:
            return
        if not reason:
            self.message_user(
                request, "Give a reason for the adjustment in the note field.", messages.ERROR
            )
            return
        done = 0
        for level in queryset.order_by("pk"):
            try:
                stock_adjust(stock_level=level, quantity=quantity, reason=reason, user=request.user)
            except InventoryError as exc:
                self.message_user(request, exc.message, messages.WARNING)
            else:
                done += 1
        if done:
            self.message_user(request, f"Adjusted {done} stock level(s) by {quantity:+d}.")


def _action_quantity(model_admin, request) -> int | None:
    """The whole, non-zero quantity of the action bar, or None after telling the user why."""
    raw = (request.POST.get("quantity") or "").strip()
    try:
        quantity = int(raw)
    except ValueError:
        model_admin.message_user(
            request, f"Quantity must be a whole number, not '{raw}'.", messages.ERROR
        )
        return None
    if quantity == 0:
        model_admin.message_user(request, "Quantity must not be zero.", messages.ERROR)
        return None
    if abs(quantity) > 1_000_000:
        model_admin.message_user(
            request, "Quantity must be between -1,000,000 and 1,000,000.", messages.ERROR
        )
        return None
    return quantity


@admin.register(Allocation)
class AllocationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["order_line", "order_number", "stock_level", "quantity", "created_at"]
    list_select_related = [
        "order_line__order",
        "order_line__product",
        "stock_level__product",
        "stock_level__warehouse",
    ]
    list_filter = ["stock_level__warehouse"]
    search_fields = ["order_line__order__number", "stock_level__product__sku"]

    @admin.display(description="order", ordering="order_line__order__number")
    def order_number(self, obj):
        return obj.order_line.order.number


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "created_at",
        "stock_level",
        "kind",
        "quantity",
        "on_hand_after",
        "reference",
        "reason",
        "created_by",
    ]
    list_select_related = ["stock_level__product", "stock_level__warehouse", "created_by"]
    list_filter = ["kind", "stock_level__warehouse", "created_at"]
    search_fields = ["stock_level__product__sku", "reference", "reason"]
    date_hierarchy = "created_at"
