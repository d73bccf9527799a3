from django.db import migrations

CHANNELS = [
    ("web", "Web shop", True),
    ("phone", "Phone", False),
    ("counter", "Counter", True),
    ("partner", "Partner API", True),
]


def create_channels(apps, schema_editor):
    Channel = apps.get_model("orders", "Channel")
    for code, name, auto_confirm in CHANNELS:
        Channel.objects.get_or_create(
            code=code, defaults={"name": name, "auto_confirm": auto_confirm}
        )


class Migration(migrations.Migration):
    dependencies = [("orders", "0001_initial")]

    operations = [migrations.RunPython(create_channels, migrations.RunPython.noop)]
