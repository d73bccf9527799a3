"""Admin of the notification outbox and partner webhook endpoints (imported by orders/admin.py)."""

from django.contrib import admin, messages
from django.utils.html import format_html

from . import notifications
from .models import OutboxAttempt, OutboxMessage, OutboxStatus, WebhookEndpoint


class OutboxAttemptInline(admin.TabularInline):
    model = OutboxAttempt
    extra = 0
    can_delete = False
    fields = ("number", "created_at", "succeeded", "status_code", "duration_ms", "error")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = (
        "dedupe_key",
        "kind",
        "purpose",
        "recipient",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "created_at",
    )
    list_filter = ("status", "kind", "purpose", "created_at")
    search_fields = ("dedupe_key", "recipient", "subject", "order__number")
    date_hierarchy = "created_at"
    list_select_related = ("order",)
    inlines = [OutboxAttemptInline]
    actions = ["retry_now"]
    readonly_fields = (
        "kind",
        "purpose",
        "dedupe_key",
        "order",
        "event",
        "endpoint",
        "recipient",
        "subject",
        "body_text",
        "html_preview",
        "status",
        "attempts",
        "last_error",
        "next_attempt_at",
        "claimed_at",
        "sent_at",
        "created_at",
        "updated_at",
    )
    exclude = ("body_html",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="HTML body")
    def html_preview(self, obj):
        if not obj.body_html:
            return "-"
        return format_html(
            '<iframe srcdoc="{}" sandbox style="width:100%;height:400px;border:1px solid #ccc">'
            "</iframe>",
            obj.body_html,
        )

    @admin.action(description="Retry now (failed messages)", permissions=["view"])
    def retry_now(self, request, queryset):
        failed = queryset.filter(status=OutboxStatus.FAILED)
        count = notifications.outbox_retry(messages=failed)
        skipped = queryset.count() - count
        self.message_user(request, f"{count} message(s) queued to be sent again.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request,
                f"{skipped} message(s) were not retried: only failed messages can be.",
                messages.WARNING,
            )


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ("partner", "url", "event_types", "is_active", "created_at")
    list_filter = ("is_active", "partner")
    search_fields = ("url", "partner__name")
    autocomplete_fields = ()
