"""The warehouse's country becomes django-countries' CountryField. The column stays varchar(2)
NOT NULL, so only Django's state changes: no table is rebuilt."""

import django_countries.fields
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0003_warehouse_address"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="warehouse",
                    name="country",
                    field=django_countries.fields.CountryField(
                        error_messages={
                            "invalid_choice": (
                                "'%(value)s' is not an ISO 3166-1 alpha-2 country code."
                            )
                        },
                        help_text="ISO 3166-1 alpha-2 code",
                        max_length=2,
                    ),
                ),
            ],
        ),
    ]
