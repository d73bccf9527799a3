"""The outbox and the webhook endpoints move to the notifications app. Only Django's state
changes here (the tables stay, under their names): notifications/migrations/0001_initial.py
takes them over, and renames their content types so permissions and groups carry over."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0010_contact_fields"),
        ("notifications", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(model_name="outboxmessage", name="endpoint"),
                migrations.DeleteModel(name="OutboxAttempt"),
                migrations.DeleteModel(name="OutboxMessage"),
                migrations.DeleteModel(name="WebhookEndpoint"),
            ],
            database_operations=[],
        ),
    ]
