"""The manager's admin for purchasing: suppliers (with what they sell), purchase orders (lines
and history inline, read-only; send, close and cancel as bulk actions that run the services).

Purchase orders are created through the API or the back-office pages (the service numbers them
and checks the lines), never here; their state changes only through the services."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from core.errors import DomainError

from .models import (
    PurchaseOrder,
    PurchaseOrderEvent,
    PurchaseOrderLine,
    Supplier,
    SupplierProduct,
    Transfer,
    TransferEvent,
    TransferLine,
)
from .services import (
    purchase_order_cancel,
    purchase_order_close,
    purchase_order_expected_at_change,
    purchase_order_send,
)
from .services.transfers import transfer_cancel, transfer_receive, transfer_ship
from .transitions import ACTIONS, TRANSFER_ACTIONS


class SupplierProductInline(admin.TabularInline):  # type: ignore[type-arg]
    model = SupplierProduct
    extra = 0
    raw_id_fields = ["product"]
    fields = [
        "product",
        "supplier_sku",
        "unit_cost",
        "min_order_quantity",
        "pack_size",
        "lead_time_days",
        "preferred",
    ]


@admin.register(Supplier)
class SupplierAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["code", "name", "email", "currency", "lead_time_days", "is_active"]
    list_filter = ["is_active", "currency"]
    search_fields = ["code", "name", "email"]
    inlines = [SupplierProductInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["code"] if obj is not None else []


class PurchaseOrderLineInline(admin.TabularInline):  # type: ignore[type-arg]
    model = PurchaseOrderLine
    extra = 0
    can_delete = False
    fields = ["product", "quantity", "unit_cost", "quantity_received"]
    readonly_fields = ["product", "quantity", "unit_cost", "quantity_received"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PurchaseOrderEventInline(admin.TabularInline):  # type: ignore[type-arg]
    model = PurchaseOrderEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "type", "from_status", "to_status", "message", "user"]
    readonly_fields = ["created_at", "type", "from_status", "to_status", "message", "user"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _run(
    modeladmin: "PurchaseOrderAdmin",
    request: HttpRequest,
    queryset: QuerySet[PurchaseOrder],
    name: str,
) -> None:
    done = 0
    for po in queryset.order_by("pk"):
        try:
            if name == "send":
                purchase_order_send(purchase_order=po, user=request.user)
            elif name == "close":
                purchase_order_close(purchase_order=po, user=request.user)
            else:
                purchase_order_cancel(purchase_order=po, user=request.user)
        except DomainError as exc:
            modeladmin.message_user(request, f"Skipped: {exc.message}", messages.WARNING)
            continue
        done += 1
    label = ACTIONS[name].label.lower()
    modeladmin.message_user(request, f"{label.capitalize()}: {done} purchase order(s).")


@admin.action(description=ACTIONS["send"].admin_action, permissions=["send"])
def send_purchase_orders(
    modeladmin: "PurchaseOrderAdmin", request: HttpRequest, queryset: QuerySet[PurchaseOrder]
) -> None:
    _run(modeladmin, request, queryset, "send")


@admin.action(description=ACTIONS["close"].admin_action, permissions=["close"])
def close_purchase_orders(
    modeladmin: "PurchaseOrderAdmin", request: HttpRequest, queryset: QuerySet[PurchaseOrder]
) -> None:
    _run(modeladmin, request, queryset, "close")


@admin.action(description=ACTIONS["cancel"].admin_action, permissions=["cancel"])
def cancel_purchase_orders(
    modeladmin: "PurchaseOrderAdmin", request: HttpRequest, queryset: QuerySet[PurchaseOrder]
) -> None:
    _run(modeladmin, request, queryset, "cancel")


PO_FIELDS: list[str] = [
    "number",
    "supplier",
    "warehouse",
    "status",
    "expected_at",
    "currency",
    "notes",
    "created_by",
    "created_at",
    "sent_at",
    "received_at",
    "closed_at",
    "cancelled_at",
]


@admin.register(PurchaseOrder)
class PurchaseOrderAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["number", "supplier", "warehouse", "status", "expected_at", "created_at"]
    list_select_related = ["supplier", "warehouse"]
    list_filter = ["status", "supplier", "warehouse"]
    search_fields = ["number", "supplier__code", "supplier__name"]
    date_hierarchy = "created_at"
    fields = tuple(PO_FIELDS)
    readonly_fields = [f for f in PO_FIELDS if f != "expected_at"]
    inlines = [PurchaseOrderLineInline, PurchaseOrderEventInline]
    actions = [send_purchase_orders, close_purchase_orders, cancel_purchase_orders]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_send_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm(ACTIONS["send"].permission))

    def has_close_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm(ACTIONS["close"].permission))

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm(ACTIONS["cancel"].permission))

    def save_model(self, request: HttpRequest, obj: PurchaseOrder, form: Any, change: bool) -> None:
        """Only the expected date is editable here, through its service (history written)."""
        if change and "expected_at" in form.changed_data:
            expected_at = form.cleaned_data["expected_at"]
            obj.expected_at = PurchaseOrder.objects.get(pk=obj.pk).expected_at
            try:
                purchase_order_expected_at_change(
                    purchase_order=obj, expected_at=expected_at, user=request.user
                )
            except DomainError as exc:
                self.message_user(request, exc.message, messages.ERROR)


# --- transfers between warehouses --------------------------------------------------------------
class TransferLineInline(admin.TabularInline):  # type: ignore[type-arg]
    model = TransferLine
    extra = 0
    can_delete = False
    fields = ["product", "quantity"]
    readonly_fields = ["product", "quantity"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class TransferEventInline(admin.TabularInline):  # type: ignore[type-arg]
    model = TransferEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "type", "from_status", "to_status", "message", "user"]
    readonly_fields = ["created_at", "type", "from_status", "to_status", "message", "user"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _run_transfers(
    modeladmin: "TransferAdmin", request: HttpRequest, queryset: QuerySet[Transfer], name: str
) -> None:
    done = 0
    for transfer in queryset.order_by("pk"):
        try:
            if name == "ship":
                transfer_ship(transfer=transfer, user=request.user)
            elif name == "receive":
                transfer_receive(transfer=transfer, user=request.user)
            else:
                transfer_cancel(transfer=transfer, user=request.user)
        except DomainError as exc:
            modeladmin.message_user(
                request, f"Skipped {transfer.number}: {exc.message}", messages.WARNING
            )
            continue
        done += 1
    label = TRANSFER_ACTIONS[name].label
    modeladmin.message_user(request, f"{label}: {done} transfer(s).")


@admin.action(description=TRANSFER_ACTIONS["ship"].admin_action, permissions=["ship"])
def ship_transfers(
    modeladmin: "TransferAdmin", request: HttpRequest, queryset: QuerySet[Transfer]
) -> None:
    _run_transfers(modeladmin, request, queryset, "ship")


@admin.action(description=TRANSFER_ACTIONS["receive"].admin_action, permissions=["receive"])
def receive_transfers(
    modeladmin: "TransferAdmin", request: HttpRequest, queryset: QuerySet[Transfer]
) -> None:
    _run_transfers(modeladmin, request, queryset, "receive")


@admin.action(description=TRANSFER_ACTIONS["cancel"].admin_action, permissions=["cancel"])
def cancel_transfers(
    modeladmin: "TransferAdmin", request: HttpRequest, queryset: QuerySet[Transfer]
) -> None:
    _run_transfers(modeladmin, request, queryset, "cancel")


TRANSFER_FIELDS: list[str] = [
    "number",
    "source",
    "destination",
    "status",
    "notes",
    "requested_by",
    "created_at",
    "shipped_at",
    "received_at",
    "cancelled_at",
]


@admin.register(Transfer)
class TransferAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Read-only transfers (made on the transfer pages or the API) with the FSM actions."""

    list_display = ["number", "source", "destination", "status", "created_at", "shipped_at"]
    list_select_related = ["source", "destination"]
    list_filter = ["status", "source", "destination"]
    search_fields = ["number", "lines__product__sku"]
    date_hierarchy = "created_at"
    fields = tuple(TRANSFER_FIELDS)
    readonly_fields = TRANSFER_FIELDS
    inlines = [TransferLineInline, TransferEventInline]
    actions = [ship_transfers, receive_transfers, cancel_transfers]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_ship_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm(TRANSFER_ACTIONS["ship"].permission))

    def has_receive_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm(TRANSFER_ACTIONS["receive"].permission))

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm(TRANSFER_ACTIONS["cancel"].permission))
