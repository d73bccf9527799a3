"""Admin of the notification outbox and partner webhook endpoints."""

import secrets
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString

from . import services, webhook_http
from .models import OutboxAttempt, OutboxMessage, OutboxStatus, WebhookEndpoint


class OutboxAttemptInline(admin.TabularInline):  # type: ignore[type-arg]
    model = OutboxAttempt
    extra = 0
    can_delete = False
    fields = ("number", "created_at", "succeeded", "status_code", "duration_ms", "error")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
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

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="HTML body")
    def html_preview(self, obj: OutboxMessage) -> SafeString | str:
        if not obj.body_html:
            return "-"
        return format_html(
            '<iframe srcdoc="{}" sandbox style="width:100%;height:400px;border:1px solid #ccc">'
            "</iframe>",
            obj.body_html,
        )

    @admin.action(description="Retry now (failed messages)", permissions=["view"])
    def retry_now(self, request: HttpRequest, queryset: "QuerySet[OutboxMessage]") -> None:
        failed = queryset.filter(status=OutboxStatus.FAILED)
        count = services.outbox_retry(messages=failed)
        skipped = queryset.count() - count
        self.message_user(request, f"{count} message(s) queued to be sent again.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request,
                f"{skipped} message(s) were not retried: only failed messages can be.",
                messages.WARNING,
            )


class WebhookEndpointForm(forms.ModelForm):  # type: ignore[type-arg]
    """The secret is write-only: never shown again once set. Left empty on a new endpoint, one is
    generated and shown once; left empty on an existing endpoint, the old one is kept."""

    url = forms.URLField(max_length=500, assume_scheme="https")
    secret = forms.CharField(
        required=False,
        max_length=128,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=(
            "Shared secret of the X-OMS-Signature HMAC-SHA256 header. Write-only: it is not shown "
            "again. Leave empty to keep the current one (or, for a new endpoint, to generate one)."
        ),
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("partner", "url", "secret", "event_types", "is_active")

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"]
        problem = webhook_http.url_problem(url)
        if problem:
            raise forms.ValidationError(problem)
        return url

    def save(self, commit: bool = True) -> WebhookEndpoint:
        endpoint: WebhookEndpoint = super().save(commit=False)
        new_secret = self.cleaned_data.get("secret")
        if new_secret:
            endpoint.secret = new_secret
        elif self.instance.pk:
            endpoint.secret = WebhookEndpoint.objects.values_list("secret", flat=True).get(
                pk=self.instance.pk
            )
        else:
            endpoint.secret = self.generated_secret = secrets.token_urlsafe(32)
        if commit:
            endpoint.save()
        return endpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = WebhookEndpointForm
    list_display = ("partner", "url", "event_types", "is_active", "created_at")
    list_filter = ("is_active", "partner")
    search_fields = ("url", "partner__name")
    autocomplete_fields = ()

    def save_model(
        self, request: HttpRequest, obj: WebhookEndpoint, form: Any, change: bool
    ) -> None:
        super().save_model(request, obj, form, change)
        generated = getattr(form, "generated_secret", None)
        if generated:
            self.message_user(
                request,
                f"Generated secret (shown once, give it to the partner): {generated}",
                messages.WARNING,
            )
