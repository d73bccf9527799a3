"""orders/0009: the phones stored before django-phonenumber-field are written as E.164 when
libphonenumber reads them (with the row's country for a number without prefix); anything else
is kept exactly as typed."""

import importlib

import pytest
from django.apps import apps
from django.db import connection

from orders.models import Customer, Order
from tests.factories import CustomerFactory, ProductFactory, WarehouseFactory, place, receive

migration = importlib.import_module("orders.migrations.0009_normalise_phones")


def column(table: str, name: str, pk: int) -> str:
    """The stored text itself (the model field would parse it)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {name} FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+44 20 7946 0000", "GB", "+442079460000"),
        ("020 7946 0000", "GB", "+442079460000"),  # read as dialled in the country
        ("020 7946 0000", "gb", "+442079460000"),
        ("030 123456", "DE", "+4930123456"),
        ("020 7946 0000", "", None),  # no country to read it with: left as it is
        ("+44 1", "GB", None),
        ("ask for Bob", "GB", None),
        ("", "GB", None),
    ],
)
def test_a_phone_is_written_as_e164_only_when_it_can_be_read(raw, region, expected):
    assert migration._e164(raw, region) == expected


@pytest.mark.django_db
def test_the_migration_normalises_readable_phones_and_keeps_the_rest():
    warehouse = WarehouseFactory(code="LDS")
    mug = ProductFactory(sku="MUG")
    receive(warehouse, {mug: 5})
    order = place({mug: 1}, email="ada@example.com")
    readable = CustomerFactory(email="bob@example.com", country="GB")
    unreadable = CustomerFactory(email="cy@example.com", country="")
    # As the old CharFields held them (update() writes the strings untouched).
    Customer.objects.filter(pk=readable.pk).update(phone="0161 496 0000")
    Customer.objects.filter(pk=unreadable.pk).update(phone="0161 496 0000 ext. 12")
    Order.objects.filter(pk=order.pk).update(contact_phone="020 7946 0000")

    migration.normalise(apps, None)

    assert column("orders_customer", "phone", readable.pk) == "+441614960000"
    # Not lost, not changed:
    assert column("orders_customer", "phone", unreadable.pk) == "0161 496 0000 ext. 12"
    assert column("orders_order", "contact_phone", order.pk) == "+442079460000"
    assert str(Customer.objects.get(pk=unreadable.pk).phone) == "0161 496 0000 ext. 12"
