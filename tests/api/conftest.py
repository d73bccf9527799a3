"""Fixtures of the API tests: token clients for two partners and for staff, a small catalogue."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import (
    ADDRESS_GB,
    PartnerFactory,
    ProductFactory,
    UserFactory,
    WarehouseFactory,
    receive,
)


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    # Throttle counters live in the cache; user ids repeat between SQLite tests.
    cache.clear()
    yield
    cache.clear()


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def make_channels():
    from tests.factories import DEFAULT_CHANNELS, channel

    for code in DEFAULT_CHANNELS:
        channel(code)


@pytest.fixture
def channels(db):
    """The default channels (a data migration); transactional tests flush them, so re-create."""
    make_channels()


@pytest.fixture
def partner(channels):
    return PartnerFactory(name="Acme Marketplace")


@pytest.fixture
def other_partner(channels):
    return PartnerFactory(name="Other Market")


@pytest.fixture
def partner_client(partner):
    return token_client(partner.user)


@pytest.fixture
def other_client(other_partner):
    return token_client(other_partner.user)


STAFF_PERMS = [
    "orders.view_order",
    "orders.add_order",
    "orders.view_orderevent",
    "returns.view_returnrequest",
    "returns.add_returnrequest",
    "orders.confirm_order",
    "orders.hold_order",
    "orders.release_order",
    "orders.cancel_order",
    "inventory.add_product",
    "inventory.add_warehouse",
    "inventory.add_stockmovement",
    "fulfillment.view_shipment",
    "fulfillment.pick_shipment",
    "fulfillment.pack_shipment",
    "fulfillment.ship_shipment",
    "fulfillment.deliver_shipment",
    "returns.approve_returnrequest",
    "returns.reject_returnrequest",
    "returns.receive_returnrequest",
    "returns.inspect_returnrequest",
    "returns.refund_returnrequest",
    "returns.exchange_returnrequest",
    "returns.close_returnrequest",
    "returns.cancel_returnrequest",
]


def make_api_staff():
    user = UserFactory(username="api-staff", is_staff=True)
    for perm in STAFF_PERMS:
        app, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app, codename=codename)
        )
    return user


@pytest.fixture
def api_staff(db):
    return make_api_staff()


@pytest.fixture
def staff_client(api_staff):
    return token_client(api_staff)


@pytest.fixture
def bare_staff_client(db):
    """Staff without any permission."""
    return token_client(UserFactory(username="bare-staff", is_staff=True))


def make_warehouse():
    return WarehouseFactory(code="LDS", name="Leeds", country="GB")


def make_mug():
    return ProductFactory(sku="MUG-BLUE", name="Blue mug", unit_price=Decimal("9.90"))


def make_tee():
    return ProductFactory(sku="TEE-M", name="T-shirt M", unit_price=Decimal("9.90"))


@pytest.fixture
def warehouse(db):
    return make_warehouse()


@pytest.fixture
def mug(db):
    return make_mug()


@pytest.fixture
def tee(db):
    return make_tee()


def make_stocked():
    """Leeds holding 10 blue mugs and one T-shirt (the ``stocked`` fixture without fixtures)."""
    warehouse = make_warehouse()
    receive(warehouse, {make_mug(): 10, make_tee(): 1})
    return warehouse


@pytest.fixture
def stocked(warehouse, mug, tee):
    receive(warehouse, {mug: 10, tee: 1})
    return warehouse


def order_body(**overrides) -> dict:
    body = {
        "reference": "PO-2026-0042",
        "customer": {"name": "Ada Park", "email": "ada@example.com", "phone": "+44 20 7946 0000"},
        "shipping_address": dict(ADDRESS_GB),
        "lines": [{"sku": "MUG-BLUE", "quantity": 2}, {"sku": "TEE-M", "quantity": 1}],
        "notes": "",
    }
    body.update(overrides)
    return body


# --- fulfillment helpers (the real services) ---------------------------------------------------
@pytest.fixture
def carrier_service(db):
    return make_carrier_service()


def make_carrier_service():
    from fulfillment.models import Carrier, CarrierService

    carrier = Carrier.objects.create(
        code="parcelo",
        name="Parcelo",
        tracking_url_template="https://track.example/{tracking_number}",
        tracking_prefix="PCL",
    )
    return CarrierService.objects.create(
        carrier=carrier,
        code="standard",
        name="Standard",
        price_per_parcel=Decimal("4.50"),
        transit_days=2,
    )


def ship_order(order):
    """Pick, pack and ship every pending shipment of ``order`` through fulfillment's services."""
    from fulfillment.models import Shipment, ShipmentStatus
    from fulfillment.services import (
        PackInput,
        ShipInput,
        packed_lines,
        picklist_create,
        shipment_pack,
        shipment_ship,
    )
    from orders.models import Order

    for shipment in Shipment.objects.filter(order=order, status=ShipmentStatus.PENDING):
        picklist_create(warehouse=shipment.warehouse, shipments=[shipment])
        packed = {sl.order_line.product.sku: sl.quantity for sl in shipment.lines.all()}
        shipment_pack(
            data=PackInput(
                shipment=Shipment.objects.get(pk=shipment.pk),
                lines=packed_lines(packed),
                weight_grams=500,
                length_cm=20,
                width_cm=20,
                height_cm=10,
            )
        )
        shipment_ship(data=ShipInput(shipment=Shipment.objects.get(pk=shipment.pk)))
    return Order.objects.get(pk=order.pk)


def deliver_order(order, at=None):
    from fulfillment.models import Shipment, ShipmentStatus
    from fulfillment.services import shipment_deliver
    from orders.models import Order

    shipped = Shipment.objects.filter(order=order, status=ShipmentStatus.SHIPPED)
    if at is not None:  # an old order: it shipped a day before it arrived
        shipped.update(shipped_at=at - datetime.timedelta(days=1))
    for shipment in shipped:
        shipment_deliver(shipment=shipment, occurred_at=at)
    return Order.objects.get(pk=order.pk)
