"""The transactional outbox and the partners' webhook endpoints.

The tables keep the names they had in the orders app (``orders_outboxmessage`` …): the models
moved, the data did not (see migrations/0001_initial.py)."""

from django.db import models

from orders.models import Order, OrderEvent, Partner


class WebhookEndpoint(models.Model):
    """Where a partner wants to hear about its orders. ``event_types`` lists order event types
    (``status_changed``, ``shipped``, ...); empty means every event that notifies partners."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=500)
    secret = models.CharField(
        max_length=128, help_text="Shared secret of the X-OMS-Signature HMAC-SHA256 header."
    )
    event_types = models.JSONField(
        default=list,
        blank=True,
        help_text='Order event types to send, e.g. ["status_changed", "shipped"]; empty = all.',
    )
    is_active = models.BooleanField("active", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "orders_webhookendpoint"
        ordering = ["partner__name", "pk"]

    def __str__(self) -> str:
        return f"{self.partner} → {self.url}"

    def wants(self, event_type: str) -> bool:
        return self.is_active and (not self.event_types or event_type in self.event_types)


class OutboxKind(models.TextChoices):
    EMAIL = "email", "E-mail"
    WEBHOOK = "webhook", "Webhook"


class OutboxStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class OutboxMessage(models.Model):
    """One message to send (customer e-mail, staff alert, partner webhook), written in the same
    transaction as the change that caused it and sent after commit; ``dedupe_key`` makes it
    unique per cause, so it is never written (nor sent) twice.

    The request writes what the message is about (kind, purpose, recipient, order, event,
    endpoint, ``context``); the worker renders ``subject``, ``body_text`` and ``body_html`` (or
    the webhook's JSON) when it first sends it, and keeps them: a retry sends the same text."""

    kind = models.CharField(max_length=10, choices=OutboxKind.choices)
    purpose = models.CharField(max_length=40, db_index=True, help_text="Template or event.")
    dedupe_key = models.CharField(max_length=200, unique=True)
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="outbox_messages"
    )
    event = models.ForeignKey(
        OrderEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    endpoint = models.ForeignKey(
        WebhookEndpoint,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
    )
    recipient = models.CharField(max_length=500, help_text="E-mail address or webhook URL.")
    context = models.JSONField(
        default=dict,
        blank=True,
        help_text="Facts of the moment it was written that the worker renders from "
        "(a staff alert's title and lines, the order's status then).",
    )
    subject = models.CharField(max_length=255, blank=True)
    body_text = models.TextField(blank=True, help_text="Plain text e-mail or JSON webhook body.")
    body_html = models.TextField(blank=True)

    status = models.CharField(
        max_length=10, choices=OutboxStatus.choices, default=OutboxStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField()
    claim_token = models.CharField(max_length=32, blank=True, editable=False)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "orders_outboxmessage"
        ordering = ["-created_at", "-id"]
        verbose_name = "outbox message"
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="outbox_status_due"),
        ]

    def __str__(self) -> str:
        return self.dedupe_key


class OutboxAttempt(models.Model):
    """The delivery log: one row per try of a message, with the HTTP status or the error."""

    message = models.ForeignKey(OutboxMessage, on_delete=models.CASCADE, related_name="log")
    number = models.PositiveIntegerField()
    succeeded = models.BooleanField(default=False)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "orders_outboxattempt"
        ordering = ["message_id", "number", "pk"]

    def __str__(self) -> str:
        return f"{self.message} #{self.number}"
