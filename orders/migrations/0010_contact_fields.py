"""Customer and order countries become django-countries' CountryField, their phones
django-phonenumber-field's PhoneNumberField. The columns stay as they are (varchar(2) and
varchar(40), NOT NULL, blank as ""), so only Django's state changes: no table is rebuilt."""

import django_countries.fields
import phonenumber_field.modelfields
from django.db import migrations

UNKNOWN_COUNTRY = {"invalid_choice": "'%(value)s' is not an ISO 3166-1 alpha-2 country code."}


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0009_normalise_phones"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="customer",
                    name="country",
                    field=django_countries.fields.CountryField(
                        blank=True, error_messages=UNKNOWN_COUNTRY, max_length=2
                    ),
                ),
                migrations.AlterField(
                    model_name="customer",
                    name="phone",
                    field=phonenumber_field.modelfields.PhoneNumberField(
                        blank=True, max_length=40, region=None
                    ),
                ),
                migrations.AlterField(
                    model_name="order",
                    name="contact_phone",
                    field=phonenumber_field.modelfields.PhoneNumberField(
                        blank=True, max_length=40, region=None
                    ),
                ),
                migrations.AlterField(
                    model_name="order",
                    name="shipping_country",
                    field=django_countries.fields.CountryField(
                        error_messages=UNKNOWN_COUNTRY, max_length=2
                    ),
                ),
            ],
        ),
    ]
