"""The managers' admin for channels, partners, customers and orders.

The order's state is never a form field (``FSMField(protected=True)``): it changes only through
the services (``orders.services.order_transition``), offered as admin actions and, on the order
page, as buttons for the transitions allowed now. Lines and history are read-only inlines; the
history, the lines and the idempotency keys are written only by services.
"""

import functools
from collections import defaultdict

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django_fsm import can_proceed, has_transition_perm

from inventory import admin as inventory_admin
from inventory.exceptions import InventoryError
from inventory.models import StockLevel

from .exceptions import OrderError
from .models import (
    Channel,
    Customer,
    IdempotencyKey,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    Partner,
)
from .services import order_transition, stock_receipt_record
from .transitions import TRANSITIONS, StaffTransition

ReadOnlyAdminMixin = inventory_admin.ReadOnlyAdminMixin


def _transition_action(t: StaffTransition):
    """The admin bulk action (``<name>_orders``) running transition ``t`` on the selection."""

    def action(modeladmin, request, queryset):
        modeladmin.transition_queryset(request, queryset, t.name)

    action.__name__ = f"{t.name}_orders"
    return admin.action(description=t.admin_action, permissions=[t.name])(action)


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "auto_confirm"]
    list_filter = ["auto_confirm"]
    search_fields = ["code", "name"]


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = ["name", "channel", "user", "is_active", "created_at"]
    list_select_related = ["channel", "user"]
    list_filter = ["is_active", "channel"]
    search_fields = ["name", "user__username", "user__email"]
    raw_id_fields = ["user"]
    readonly_fields = ["created_at"]
    actions = ["revoke_api_token"]

    @admin.action(description="Revoke API token (calls answer 401)", permissions=["change"])
    def revoke_api_token(self, request, queryset):
        from orders.authentication import token_revoke

        partners = list(queryset.select_related("user"))
        revoked = token_revoke(users=[p.user for p in partners])
        for partner in partners:
            self.log_change(request, partner, "Revoked the API token.")
        self.message_user(
            request,
            f"Revoked {revoked} API token(s). Issue a new one with "
            '"manage.py create_partner --rotate <name>".',
            messages.SUCCESS,
        )


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "phone", "city", "country", "created_at"]
    list_filter = ["country"]
    search_fields = ["name", "email", "phone", "postal_code"]
    readonly_fields = ["created_at"]


# --- orders ----------------------------------------------------------------------------------
class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
    fields = [
        "product",
        "quantity",
        "unit_price",
        "quantity_allocated",
        "quantity_shipped",
        "quantity_cancelled",
        "quantity_returned",
        "backordered",
        "substituted_from",
    ]
    readonly_fields = fields  # type: ignore[assignment]  # the same names (stubs: list invariance)

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product", "substituted_from__product")

    @admin.display(description="backordered")
    def backordered(self, obj):
        return obj.quantity_backordered


class OrderEventInline(admin.TabularInline):
    model = OrderEvent
    verbose_name_plural = "history"
    extra = 0
    can_delete = False
    fields = ["created_at", "type", "from_status", "to_status", "message", "user"]
    readonly_fields = fields  # type: ignore[assignment]  # the same names (stubs: list invariance)

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")


class OrderActionForm(ActionForm):
    reason = forms.CharField(
        required=False, max_length=255, help_text="Reason recorded in the history (optional)."
    )


class TransitionButtons(forms.Widget):
    """Buttons that post the change form to the transition view (``formaction``)."""

    def __init__(self, buttons: list[tuple[str, str, str]]):
        super().__init__()
        self.buttons = buttons

    def render(self, name, value, attrs=None, renderer=None):
        if not self.buttons:
            return format_html("<span>{}</span>", "No transition is allowed now.")
        buttons = format_html_join(
            " ",
            '<button type="submit" class="button" formaction="{}" formnovalidate '
            'name="_transition" value="{}">{}</button>',
            self.buttons,
        )
        return format_html(
            '<input type="text" name="_transition_reason" placeholder="{}" maxlength="255"> {}',
            "Reason (optional)",
            buttons,
        )


class OrderForm(forms.ModelForm):
    transitions = forms.CharField(
        label="Change state",
        required=False,
        disabled=True,
        help_text="Transitions allowed now; the order is saved only through these services.",
    )

    class Meta:
        model = Order
        fields: list[str] = []


class OrderAdmin(admin.ModelAdmin):
    form = OrderForm
    action_form = OrderActionForm
    list_display = [
        "number",
        "status",
        "channel",
        "customer",
        "reference",
        "shipping_country",
        "total",
        "currency",
        "placed_at",
    ]
    list_select_related = ["channel", "customer"]
    list_filter = ["status", "channel", "shipping_country", "placed_at"]
    search_fields = ["number", "reference", "customer__email", "customer__name"]
    date_hierarchy = "placed_at"
    inlines = [OrderLineInline, OrderEventInline]
    readonly_fields = [
        "number",
        "status",
        "held_from_status",
        "hold_reason",
        "channel",
        "partner",
        "reference",
        "customer",
        "currency",
        "total",
        "promised_ship_date",
        "estimated_delivery_date",
        "placed_at",
        "confirmed_at",
        "cancelled_at",
        "updated_at",
        "created_by",
    ]
    fieldsets = [
        (None, {"fields": ["number", "status", "transitions", "held_from_status", "hold_reason"]}),
        ("Origin", {"fields": ["channel", "partner", "reference", "customer", "created_by"]}),
        (
            "Shipping address",
            {
                "fields": [
                    "shipping_name",
                    "shipping_line1",
                    "shipping_line2",
                    "shipping_city",
                    "shipping_postal_code",
                    "shipping_country",
                ]
            },
        ),
        (
            "Amounts and dates",
            {
                "fields": [
                    "currency",
                    "total",
                    "promised_ship_date",
                    "estimated_delivery_date",
                    "placed_at",
                    "confirmed_at",
                    "cancelled_at",
                    "updated_at",
                ]
            },
        ),
        (None, {"fields": ["notes"]}),
    ]
    # confirm_orders, hold_orders, release_orders, cancel_orders (orders.transitions).
    actions = [_transition_action(t) for t in TRANSITIONS.values()]

    # Orders are placed through the back office or the API (``order_place``) and never deleted:
    # they are cancelled.
    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    # The bulk actions' permissions: has_confirm_permission … (set below the class).
    def _has_transition_permission(self, request, *, name: str) -> bool:
        return request.user.has_perm(TRANSITIONS[name].permission)

    # --- change page -------------------------------------------------------------------------
    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None and "transitions" in form.base_fields:
            buttons = [
                (
                    reverse("admin:orders_order_transition", args=[obj.pk, name]),
                    name,
                    TRANSITIONS[name].label,
                )
                for name in self.transitions_for(request, obj)
            ]
            field = forms.CharField(
                label=form.base_fields["transitions"].label,
                help_text=form.base_fields["transitions"].help_text,
                required=False,
                disabled=True,
                widget=TransitionButtons(buttons),
            )
            form.base_fields["transitions"] = field
        return form

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and self.has_change_permission(request, obj):
            return fieldsets
        # View-only users get no buttons.
        first = [f for f in fieldsets[0][1]["fields"] if f != "transitions"]
        return [(None, {"fields": first}), *fieldsets[1:]]

    def transitions_for(self, request, order: Order) -> list[str]:
        """Transitions allowed now for ``order`` that the user may trigger."""
        return [
            name
            for name in TRANSITIONS
            if can_proceed(getattr(order, name))
            and has_transition_perm(getattr(order, name), request.user)
        ]

    def save_model(self, request, obj, form, change):
        # Save only the edited fields: counters, totals and the state on this instance may be
        # stale, and the state machine's row must not be overwritten.
        model_fields = {f.name for f in Order._meta.concrete_fields}
        changed = [name for name in form.changed_data if name in model_fields]
        if changed:
            obj.save(update_fields=[*changed, "updated_at"])

    def get_urls(self):
        custom = [
            path(
                "<path:object_id>/transition/<str:name>/",
                self.admin_site.admin_view(self.transition_view),
                name="orders_order_transition",
            )
        ]
        return custom + super().get_urls()

    def transition_view(self, request, object_id, name):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if name not in TRANSITIONS:
            raise Http404(f"Unknown transition '{name}'.")
        order = get_object_or_404(Order, pk=object_id)
        if not self.has_change_permission(request, order):
            raise PermissionDenied
        self.run_transition(request, order, name, request.POST.get("_transition_reason", ""))
        return HttpResponseRedirect(reverse("admin:orders_order_change", args=[order.pk]))

    # --- transitions -------------------------------------------------------------------------
    def run_transition(self, request, order: Order, name: str, reason: str) -> bool:
        """Run one transition through the service; tell the user why when it is skipped."""
        method = getattr(order, name)
        if can_proceed(method) and not has_transition_perm(method, request.user):
            self.message_user(
                request,
                f"Order {order.number} skipped: you do not have permission to "
                f"{TRANSITIONS[name].label.lower()} orders.",
                messages.WARNING,
            )
            return False
        try:
            updated = order_transition(
                order=order, name=name, user=request.user, reason=(reason or "").strip()
            )
        except (OrderError, InventoryError) as exc:
            self.message_user(request, f"Skipped: {exc.message}", messages.WARNING)
            return False
        self.message_user(
            request,
            f"Order {updated.number} is now {OrderStatus(updated.status).label.lower()}.",
            messages.SUCCESS,
        )
        return True

    def transition_queryset(self, request, queryset, name: str) -> None:
        reason = request.POST.get("reason", "")
        for order in queryset.order_by("pk").prefetch_related("lines"):
            self.run_transition(request, order, name, reason)


for _name in TRANSITIONS:
    setattr(
        OrderAdmin,
        f"has_{_name}_permission",
        functools.partialmethod(OrderAdmin._has_transition_permission, name=_name),
    )
admin.site.register(Order, OrderAdmin)


@admin.register(OrderLine)
class OrderLineAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "order",
        "product",
        "quantity",
        "quantity_allocated",
        "quantity_shipped",
        "quantity_cancelled",
        "quantity_returned",
    ]
    list_select_related = ["order", "product"]
    list_filter = ["order__status"]
    search_fields = ["order__number", "product__sku", "product__name"]


@admin.register(OrderEvent)
class OrderEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "order", "type", "from_status", "to_status", "message", "user"]
    list_select_related = ["order", "user"]
    list_filter = ["type", "created_at"]
    search_fields = ["order__number", "message"]
    date_hierarchy = "created_at"


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["key", "user", "order", "created_at"]
    list_select_related = ["user", "order"]
    search_fields = ["key", "order__number", "user__username"]
    date_hierarchy = "created_at"

    def has_delete_permission(self, request, obj=None):
        # Expired keys may be cleaned up by hand.
        return request.user.has_perm("orders.delete_idempotencykey")


# --- stock receipts (here, not in inventory/admin.py: receiving fills backorders) ------------
class StockLevelReceiveForm(inventory_admin.StockLevelForm):
    receive_quantity = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=1_000_000,
        help_text="Book this many units received into the warehouse (fills backorders).",
    )
    receive_reference = forms.CharField(
        required=False, max_length=100, help_text="Delivery note or purchase order number."
    )

    def clean(self):
        data = super().clean()
        if data.get("receive_quantity") and self.instance.pk is None:
            self.add_error("receive_quantity", "Save the stock level first, then receive into it.")
        return data


class StockLevelAdmin(inventory_admin.StockLevelAdmin):
    form = StockLevelReceiveForm
    actions = [*inventory_admin.StockLevelAdmin.actions, "receive_stock"]

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if obj is not None and self.has_change_permission(request, obj):
            fields = [*fields, "receive_quantity", "receive_reference"]
        return fields

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        quantity = form.cleaned_data.get("receive_quantity")
        if change and quantity:
            self._receive(
                request,
                {obj.warehouse: [(obj.product, quantity)]},
                form.cleaned_data.get("receive_reference") or "",
            )

    def _receive(self, request, per_warehouse, reference: str) -> None:
        for warehouse, lines in per_warehouse.items():
            try:
                movements, filled = stock_receipt_record(
                    warehouse=warehouse, lines=lines, user=request.user, reference=reference
                )
            except InventoryError as exc:
                self.message_user(request, exc.message, messages.ERROR)
                continue
            units = sum(m.quantity for m in movements)
            message = f"Received {units} units into {warehouse.code}."
            if filled:
                message += " Backorders filled: " + ", ".join(o.number for o in filled) + "."
            self.message_user(request, message, messages.SUCCESS)

    @admin.action(
        description="Receive quantity into selected stock (note = reference)",
        permissions=["change"],
    )
    def receive_stock(self, request, queryset):
        quantity = inventory_admin._action_quantity(self, request)
        if quantity is None:
            return
        if quantity < 0:
            self.message_user(
                request,
                "A receipt needs a positive quantity; use the adjust action to remove units.",
                messages.ERROR,
            )
            return
        per_warehouse = defaultdict(list)
        for level in queryset.select_related("product", "warehouse").order_by("pk"):
            per_warehouse[level.warehouse].append((level.product, quantity))
        self._receive(request, per_warehouse, (request.POST.get("note") or "").strip())


admin.site.unregister(StockLevel)
admin.site.register(StockLevel, StockLevelAdmin)
