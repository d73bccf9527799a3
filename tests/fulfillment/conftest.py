"""Fixtures of the fulfillment tests: two warehouses with binned stock, carriers, a warehouse
user with the fulfillment permissions, and helpers that move shipments through the flow with
the real services."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission

from fulfillment import services
from fulfillment.models import Carrier, CarrierService, Shipment
from inventory.models import StockLevel
from tests.factories import ProductFactory, WarehouseFactory, place, receive


@pytest.fixture(autouse=True)
def _fulfillment_settings(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.OMS_CARRIER_WEBHOOK_SECRET = "s3cret-carrier"
    settings.OMS_FEEDBACK_LINK_DAYS = 30


@pytest.fixture
def leeds(db):
    return WarehouseFactory(code="LDS", name="Leeds", country="GB", priority=1)


@pytest.fixture
def bristol(db):
    return WarehouseFactory(code="BRS", name="Bristol", country="GB", priority=2)


@pytest.fixture
def mug(db):
    return ProductFactory(sku="MUG-BLUE", name="Blue mug", weight_grams=400)


@pytest.fixture
def tee(db):
    return ProductFactory(sku="TEE-M", name="T-shirt M", weight_grams=200)


@pytest.fixture
def cap(db):
    return ProductFactory(sku="CAP-RED", name="Red cap", weight_grams=100)


def set_bin(product, warehouse, bin_location):
    StockLevel.objects.filter(product=product, warehouse=warehouse).update(
        bin_location=bin_location
    )


@pytest.fixture
def stocked(leeds, mug, tee, cap):
    """Leeds holds everything, in bins C-03 (mug), A-01 (tee), B-02 (cap)."""
    receive(leeds, {mug: 100, tee: 100, cap: 100})
    set_bin(mug, leeds, "C-03")
    set_bin(tee, leeds, "A-01")
    set_bin(cap, leeds, "B-02")
    return leeds


@pytest.fixture
def split_stock(leeds, bristol, mug, tee):
    """Leeds has only mugs, Bristol only tees: an order of both is split."""
    receive(leeds, {mug: 10})
    receive(bristol, {tee: 10})
    set_bin(mug, leeds, "M-1")
    set_bin(tee, bristol, "T-1")
    return leeds, bristol


@pytest.fixture
def carriers(db):
    parcelo = Carrier.objects.create(
        code="parcelo",
        name="Parcelo",
        tracking_url_template="https://track.example/{tracking_number}",
        tracking_prefix="PCL",
    )
    zoom = Carrier.objects.create(
        code="zoom",
        name="Zoom Express",
        tracking_url_template="https://zoom.example/t/{tracking_number}",
    )
    return {
        "economy": CarrierService.objects.create(
            carrier=parcelo,
            code="economy",
            name="Economy",
            price_per_parcel=Decimal("3.00"),
            price_per_kg=Decimal("0.50"),
            transit_days=6,
            countries="GB,IE",
        ),
        "standard": CarrierService.objects.create(
            carrier=parcelo,
            code="standard",
            name="Standard",
            price_per_parcel=Decimal("4.50"),
            price_per_kg=Decimal("0.80"),
            transit_days=2,
            countries="GB",
        ),
        "express": CarrierService.objects.create(
            carrier=zoom,
            code="express",
            name="Express",
            price_per_parcel=Decimal("9.00"),
            price_per_kg=Decimal("1.00"),
            transit_days=1,
            countries="",
        ),
    }


@pytest.fixture
def warehouse_user(django_user_model):
    user = django_user_model.objects.create_user("picker", "picker@example.com", "pw")
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="fulfillment",
            codename__in=[
                "view_shipment",
                "pick_shipment",
                "pack_shipment",
                "ship_shipment",
                "deliver_shipment",
            ],
        )
    )
    return user


@pytest.fixture
def staff_client(client, warehouse_user):
    client.force_login(warehouse_user)
    return client


def contents(shipment: Shipment) -> dict[str, int]:
    return {
        line.order_line.product.sku: line.quantity
        for line in shipment.lines.select_related("order_line__product")
    }


def pack(shipment: Shipment, *, service=None, user=None, weight=1000):
    return services.shipment_pack(
        data=services.PackInput(
            shipment=shipment,
            lines=services.packed_lines(contents(shipment)),
            weight_grams=weight,
            length_cm=30,
            width_cm=20,
            height_cm=10,
            carrier_service=service,
        ),
        user=user,
    )


def pick(*shipments, user=None):
    return services.picklist_create(
        warehouse=shipments[0].warehouse, shipments=list(shipments), user=user
    )


def to_packed(shipment: Shipment, *, user=None) -> Shipment:
    pick(shipment, user=user)
    return pack(shipment, user=user)


def to_shipped(shipment: Shipment, *, user=None, tracking_number: str = "") -> Shipment:
    to_packed(shipment, user=user)
    return services.shipment_ship(
        data=services.ShipInput(shipment=shipment, tracking_number=tracking_number), user=user
    )


def order_of(products: dict, **kwargs):
    return place(products, **kwargs)


def days_ahead(n: int) -> datetime.date:
    return datetime.date.today() + datetime.timedelta(days=n)
