"""The outbox and the webhook endpoints, moved from the orders app (orders 0004 made their
tables; orders 0011 drops them from orders' state). Nothing is created in the database: the
models keep the tables ``orders_outboxmessage``, ``orders_outboxattempt`` and
``orders_webhookendpoint``. Their content types are renamed from ``orders`` to
``notifications``, so the permissions (and the groups and users holding them) and the admin
log entries stay attached."""

import django.db.models.deletion
from typing import Any

from django.db import migrations, models

MODELS = ("outboxmessage", "outboxattempt", "webhookendpoint")


def content_types_to(apps: Any, schema_editor: Any, *, old: str, new: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    for model in MODELS:
        if ContentType.objects.using(db).filter(app_label=new, model=model).exists():
            continue  # already made (by a post_migrate of this app): keep it
        ContentType.objects.using(db).filter(app_label=old, model=model).update(app_label=new)


def forwards(apps: Any, schema_editor: Any) -> None:
    content_types_to(apps, schema_editor, old="orders", new="notifications")


def backwards(apps: Any, schema_editor: Any) -> None:
    content_types_to(apps, schema_editor, old="notifications", new="orders")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("orders", "0010_contact_fields"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="WebhookEndpoint",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("url", models.URLField(max_length=500)),
                        ("secret", models.CharField(help_text="Shared secret of the X-OMS-Signature HMAC-SHA256 header.", max_length=128)),
                        ("event_types", models.JSONField(blank=True, default=list, help_text='Order event types to send, e.g. ["status_changed", "shipped"]; empty = all.')),
                        ("is_active", models.BooleanField(default=True, verbose_name="active")),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("partner", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="webhooks", to="orders.partner")),
                    ],
                    options={
                        "db_table": "orders_webhookendpoint",
                        "ordering": ["partner__name", "pk"],
                    },
                ),
                migrations.CreateModel(
                    name="OutboxMessage",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("kind", models.CharField(choices=[("email", "E-mail"), ("webhook", "Webhook")], max_length=10)),
                        ("purpose", models.CharField(db_index=True, help_text="Template or event.", max_length=40)),
                        ("dedupe_key", models.CharField(max_length=200, unique=True)),
                        ("recipient", models.CharField(help_text="E-mail address or webhook URL.", max_length=500)),
                        ("subject", models.CharField(blank=True, max_length=255)),
                        ("body_text", models.TextField(blank=True, help_text="Plain text e-mail or JSON webhook body.")),
                        ("body_html", models.TextField(blank=True)),
                        ("status", models.CharField(choices=[("pending", "Pending"), ("sending", "Sending"), ("sent", "Sent"), ("failed", "Failed")], default="pending", max_length=10)),
                        ("attempts", models.PositiveIntegerField(default=0)),
                        ("last_error", models.TextField(blank=True)),
                        ("next_attempt_at", models.DateTimeField()),
                        ("claim_token", models.CharField(blank=True, editable=False, max_length=32)),
                        ("claimed_at", models.DateTimeField(blank=True, null=True)),
                        ("sent_at", models.DateTimeField(blank=True, null=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        ("event", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to="orders.orderevent")),
                        ("order", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="outbox_messages", to="orders.order")),
                        ("endpoint", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="messages", to="notifications.webhookendpoint")),
                    ],
                    options={
                        "verbose_name": "outbox message",
                        "db_table": "orders_outboxmessage",
                        "ordering": ["-created_at", "-id"],
                        "indexes": [models.Index(fields=["status", "next_attempt_at"], name="outbox_status_due")],
                    },
                ),
                migrations.CreateModel(
                    name="OutboxAttempt",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("number", models.PositiveIntegerField()),
                        ("succeeded", models.BooleanField(default=False)),
                        ("status_code", models.PositiveIntegerField(blank=True, null=True)),
                        ("error", models.TextField(blank=True)),
                        ("duration_ms", models.PositiveIntegerField(default=0)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("message", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="log", to="notifications.outboxmessage")),
                    ],
                    options={
                        "db_table": "orders_outboxattempt",
                        "ordering": ["message_id", "number", "pk"],
                    },
                ),
            ],
        ),
        migrations.RunPython(forwards, backwards, elidable=True),
    ]
