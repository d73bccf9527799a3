"""factory-boy factories shared by the whole suite. Area-specific factories may live in the
area's own ``conftest.py``; add here only what several areas use."""

from decimal import Decimal

import factory
import phonenumbers
from django.contrib.auth import get_user_model

from inventory.models import Product, StockLevel, Warehouse
from orders.models import Channel, Customer, Partner


def example_phone(country: str) -> str:
    """A valid number of ``country`` (libphonenumber's example), international format."""
    number = phonenumbers.example_number(country)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("pw")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        django_get_or_create = ("sku",)

    sku = factory.Sequence(lambda n: f"SKU-{n:04d}")
    name = factory.Faker("word")
    unit_price = Decimal("10.00")
    currency = "EUR"
    cost_price = Decimal("4.00")
    weight_grams = 250


class WarehouseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Warehouse
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"W{n:02d}")
    name = factory.LazyAttribute(lambda w: f"Warehouse {w.code}")
    country = "GB"
    latitude = Decimal("53.800755")
    longitude = Decimal("-1.549077")
    priority = 100


class StockLevelFactory(factory.django.DjangoModelFactory):
    """A stock row. Use ``inventory.services.stock_receive`` when the ledger must agree."""

    class Meta:
        model = StockLevel

    product = factory.SubFactory(ProductFactory)
    warehouse = factory.SubFactory(WarehouseFactory)
    on_hand = 0
    reserved = 0


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    phone = factory.LazyAttribute(lambda c: example_phone(c.country) if c.country else "")
    line1 = "1 High St"
    city = "Leeds"
    postal_code = "LS1 1AA"
    country = "GB"


# The channels of the data migration orders/0002_default_channels (code: name, auto-confirm).
DEFAULT_CHANNELS = {
    "web": ("Web shop", True),
    "phone": ("Phone", False),
    "counter": ("Counter", True),
    "partner": ("Partner API", True),
}


def channel(code: str) -> Channel:
    """A default channel. They come from a data migration, but transactional tests flush the
    database between tests, so re-create them as the migration does when they are missing."""
    name, auto_confirm = DEFAULT_CHANNELS[code]
    return Channel.objects.get_or_create(
        code=code, defaults={"name": name, "auto_confirm": auto_confirm}
    )[0]


class PartnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Partner

    name = factory.Sequence(lambda n: f"Partner {n}")
    user = factory.SubFactory(UserFactory)
    channel = factory.LazyFunction(lambda: channel("partner"))


ADDRESS_GB = {
    "line1": "1 High St",
    "line2": "",
    "city": "Leeds",
    "postal_code": "LS1 1AA",
    "country": "GB",
}


def receive(warehouse: Warehouse, quantities: dict[Product, int], user=None):
    """Book stock in through the real service (ledger row, backorders filled)."""
    from orders.services import stock_receipt_record

    movements, _filled = stock_receipt_record(
        warehouse=warehouse, lines=list(quantities.items()), user=user, reference="test"
    )
    return movements


def place(
    lines: dict[Product, int] | list[dict],
    *,
    channel_code: str = "web",
    country: str = "GB",
    email: str = "ada@example.com",
    **kwargs,
):
    """Place an order through ``order_place`` with a valid customer and address."""
    from orders.services import order_place, placement_input_from_json

    if isinstance(lines, dict):
        lines = [{"sku": p.sku, "quantity": q} for p, q in lines.items()]
    user = kwargs.pop("user", None)
    return order_place(
        data=placement_input_from_json(
            channel=channel(channel_code),
            customer={"name": "Ada Park", "email": email, "phone": "+44 20 7946 0000"},
            shipping_address={**ADDRESS_GB, "country": country},
            lines=lines,
            **kwargs,
        ),
        user=user,
    )


# --- returns with lines written as dicts --------------------------------------------------------
# The returns services take typed lines (``returns.inputs``); the tests write them as the loose
# dicts of a JSON body, read leniently (``*_from_json``) so that a line of the wrong type is still
# named by the service in its own words. Same names and keywords as the services.
def return_request_create(*, lines: object, **kwargs):
    """``returns.services.return_request_create`` with ``lines`` as
    ``[{"sku", "quantity", "reason", "note"?}]``."""
    from returns.inputs import return_lines_from_json
    from returns.services import return_request_create as create

    return create(lines=return_lines_from_json(lines), **kwargs)


def return_inspect(*, lines: object, **kwargs):
    """``returns.services.return_inspect`` with ``lines`` as
    ``{sku: {"sellable": n, "damaged": n, "condition"?: text}}``."""
    from returns.inputs import inspection_from_json
    from returns.services import return_inspect as inspect

    return inspect(lines=inspection_from_json(lines), **kwargs)
