"""The manager's admin for returns: the policy (a singleton), returns (read-only, actions call the
services) and refunds (read-only). Returns are opened from the back-office pages or the API."""

from django import forms
from django.contrib import admin, messages
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django_fsm import can_proceed, has_transition_perm

from orders.exceptions import OrderError

from . import services
from .models import Refund, ReturnLine, ReturnPolicy, ReturnReason, ReturnRequest


class ReturnPolicyForm(forms.ModelForm):
    auto_approve_reasons = forms.MultipleChoiceField(
        choices=ReturnReason.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Reasons approved at once; returns with any other reason wait for staff.",
    )

    class Meta:
        model = ReturnPolicy
        fields = [
            "window_days",
            "auto_approve_reasons",
            "restocking_fee_percent",
            "non_returnable_products",
        ]


@admin.register(ReturnPolicy)
class ReturnPolicyAdmin(admin.ModelAdmin):
    form = ReturnPolicyForm
    list_display = ["__str__", "window_days", "restocking_fee_percent", "updated_at"]
    autocomplete_fields = ["non_returnable_products"]

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not ReturnPolicy.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        # One policy: the list opens it directly (created with the defaults on first visit).
        policy = ReturnPolicy.load()
        return redirect(reverse("admin:returns_returnpolicy_change", args=[policy.pk]))


class ReturnLineInline(admin.TabularInline):
    model = ReturnLine
    extra = 0
    can_delete = False
    fields = [
        "order_line",
        "quantity",
        "reason",
        "note",
        "quantity_sellable",
        "quantity_damaged",
        "condition",
        "disposition",
    ]
    readonly_fields = fields  # type: ignore[assignment]  # the same names (stubs: list invariance)

    def has_add_permission(self, request, obj=None):
        return False


class RefundInline(admin.StackedInline):
    model = Refund
    extra = 0
    can_delete = False
    fields = ["amount", "restocking_fee", "currency", "method", "reference", "created_by"]
    readonly_fields = fields  # type: ignore[assignment]  # the same names (stubs: list invariance)

    def has_add_permission(self, request, obj=None):
        return False


def _run(modeladmin, request, queryset, name: str, call):
    done = 0
    for return_request in queryset.select_related("order"):
        method = getattr(return_request, name)
        if not can_proceed(method):
            modeladmin.message_user(
                request,
                f"{return_request.number}: cannot {name} while it is "
                f"{return_request.get_status_display().lower()}.",
                messages.WARNING,
            )
            continue
        if not has_transition_perm(method, request.user):
            modeladmin.message_user(
                request, f"{return_request.number}: you may not {name} returns.", messages.ERROR
            )
            continue
        try:
            call(return_request)
        except OrderError as exc:
            modeladmin.message_user(request, f"{return_request.number}: {exc}", messages.ERROR)
            continue
        done += 1
    if done:
        modeladmin.message_user(request, f"{done} return(s): {name} done.", messages.SUCCESS)


def _action(name: str, service, description: str):
    """An admin action that runs ``service(return_request=…, user=…)`` on each selected return
    the transition ``name`` allows (``_run``)."""

    @admin.action(description=description)
    def action(modeladmin, request, queryset):
        _run(
            modeladmin,
            request,
            queryset,
            name,
            lambda r: service(return_request=r, user=request.user),
        )

    action.__name__ = name
    return action


@admin.register(ReturnRequest)
class ReturnRequestAdmin(admin.ModelAdmin):
    list_display = ["number", "order_link", "status", "source", "window_overridden", "created_at"]
    list_filter = ["status", "source", "window_overridden"]
    search_fields = ["number", "order__number", "order__customer__email"]
    date_hierarchy = "created_at"
    list_select_related = ["order"]
    inlines = [ReturnLineInline, RefundInline]
    readonly_fields = [
        "number",
        "order",
        "status",
        "source",
        "window_overridden",
        "override_reason",
        "rejection_reason",
        "warehouse",
        "replacement_order",
        "created_by",
        "created_at",
        "approved_at",
        "received_at",
        "inspected_at",
        "closed_at",
    ]
    fields = readonly_fields  # type: ignore[assignment]  # the same names (stubs: list invariance)
    actions = ["approve", "receive", "refund", "exchange", "close", "cancel"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="order", ordering="order__number")
    def order_link(self, obj):
        try:
            url = reverse("admin:orders_order_change", args=[obj.order_id])
        except NoReverseMatch:
            return obj.order.number
        return format_html('<a href="{}">{}</a>', url, obj.order.number)

    approve = _action("approve", services.return_approve, "Approve the selected returns")
    receive = _action("receive", services.return_receive, "Mark the selected returns received")
    refund = _action(
        "refund", services.return_refund, "Refund the selected returns (original payment method)"
    )
    exchange = _action(
        "exchange",
        services.return_exchange,
        "Exchange the selected returns (free replacement order)",
    )
    close = _action("close", services.return_close, "Close the selected returns")
    cancel = _action("cancel", services.return_cancel, "Cancel the selected returns")


@admin.register(Refund)
class RefundAdmin(admin.ModelAdmin):
    list_display = [
        "return_request",
        "amount",
        "restocking_fee",
        "currency",
        "method",
        "created_at",
    ]
    list_filter = ["method", "currency"]
    search_fields = ["return_request__number", "return_request__order__number", "reference"]
    list_select_related = ["return_request"]
    readonly_fields = [
        "return_request",
        "amount",
        "restocking_fee",
        "currency",
        "method",
        "reference",
        "created_by",
        "created_at",
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
