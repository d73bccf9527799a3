"""Phone numbers written as E.164 before their columns become django-phonenumber-field's
(0010): a number that libphonenumber reads as valid (with its own prefix, or as dialled in the
customer's or the order's country) is stored as ``+442079460000`` and so shown in the one
international format; any other entry is left exactly as it was typed (no data is lost, and the
pages show it as typed)."""

import phonenumbers
from django.db import migrations

BATCH = 1000


def _e164(raw, region) -> str | None:
    raw = str(raw or "").strip()
    if not raw:
        return None
    try:
        number = phonenumbers.parse(raw, str(region or "").upper() or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise(apps, schema_editor):
    for model_name, phone, country in (
        ("Customer", "phone", "country"),
        ("Order", "contact_phone", "shipping_country"),
    ):
        model = apps.get_model("orders", model_name)
        rows = (
            model.objects.exclude(**{phone: ""})
            .order_by("pk")
            .values_list("pk", phone, country)
            .iterator(chunk_size=BATCH)
        )
        changed = []
        for pk, raw, region in rows:
            e164 = _e164(raw, region)
            if e164 is not None and e164 != raw:
                changed.append(model(pk=pk, **{phone: e164}))
            if len(changed) >= BATCH:
                model.objects.bulk_update(changed, [phone])
                changed = []
        if changed:
            model.objects.bulk_update(changed, [phone])


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0008_import_job"),
    ]

    operations = [
        # Not reversed: E.164 is the same number; the old spacing is not worth keeping.
        migrations.RunPython(normalise, migrations.RunPython.noop, elidable=True),
    ]
