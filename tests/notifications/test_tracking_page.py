"""The customer's tracking page (issue 15): the signed link every customer e-mail carries, the
page it opens (timeline, lines, parcels with the carrier's tracking link, estimate, return and
rating links) and every way a link is refused (forged, tampered, expired, another purpose's,
an order that is gone) without a 500 and without saying anything about any order."""

import datetime
import time
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.signed_links import MAX_TOKEN_LENGTH, sign_order_number
from fulfillment import services as fulfillment
from fulfillment.models import Carrier, CarrierService, Shipment
from notifications.tracking import (
    TRACKING_SALT,
    TrackingLinkRefused,
    order_from_tracking_token,
    tracking_token,
    tracking_url,
)
from orders.models import Order, OrderEvent, OrderStatus
from returns.services import customer_return_token
from tests.factories import ProductFactory, WarehouseFactory, place, receive

pytestmark = pytest.mark.django_db

SITE = "https://shop.example.test"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.OMS_SITE_URL = SITE
    settings.OMS_TRACKING_LINK_DAYS = 90


@pytest.fixture
def split(db, django_capture_on_commit_callbacks):
    """Leeds holds only mugs, Bristol only tees: an order of both ships in two parcels."""
    leeds = WarehouseFactory(code="LDS", name="Leeds", country="GB", priority=1)
    bristol = WarehouseFactory(code="BRS", name="Bristol", country="GB", priority=2)
    mug = ProductFactory(sku="MUG-BLUE", name="Blue mug", unit_price="9.90", weight_grams=400)
    tee = ProductFactory(sku="TEE-M", name="T-shirt M", unit_price="15.00", weight_grams=200)
    with django_capture_on_commit_callbacks(execute=True):
        receive(leeds, {mug: 10})
        receive(bristol, {tee: 10})
    carrier = Carrier.objects.create(
        code="parcelo",
        name="Parcelo",
        tracking_url_template="https://track.example/{tracking_number}",
        tracking_prefix="PCL",
    )
    CarrierService.objects.create(
        carrier=carrier,
        code="standard",
        name="Standard",
        price_per_parcel=Decimal("4.50"),
        price_per_kg=Decimal("0.80"),
        transit_days=2,
        countries="GB",
    )
    return {"mug": mug, "tee": tee}


def ship(shipment: Shipment, *, deliver: bool = False) -> None:
    fulfillment.picklist_create(warehouse=shipment.warehouse, shipments=[shipment])
    fulfillment.shipment_pack(
        data=fulfillment.PackInput(
            shipment=shipment,
            lines=fulfillment.packed_lines(
                {
                    line.order_line.product.sku: line.quantity
                    for line in shipment.lines.select_related("order_line__product")
                }
            ),
            weight_grams=1000,
            length_cm=30,
            width_cm=20,
            height_cm=10,
        )
    )
    fulfillment.shipment_ship(data=fulfillment.ShipInput(shipment=shipment))
    if deliver:
        fulfillment.shipment_deliver(shipment=shipment)


def path_of(order: Order) -> str:
    return tracking_url(order).removeprefix(SITE)


def signed_days_ago(number: str, days: int, monkeypatch) -> str:
    real = time.time
    with monkeypatch.context() as m:
        m.setattr(time, "time", lambda: real() - days * 86400)
        return sign_order_number(number, salt=TRACKING_SALT)


# --- the link --------------------------------------------------------------------------------
def test_the_link_round_trips_to_its_order_and_is_built_from_the_site_url(split):
    order = place({split["mug"]: 1})
    url = tracking_url(order)
    assert url.startswith(f"{SITE}/track/")
    assert order.number in url  # signed, not encrypted: the number is readable, not forgeable
    assert order_from_tracking_token(tracking_token(order)) == order


def test_a_link_never_reaches_another_order(split, client):
    mine = place({split["mug"]: 1}, email="ada@example.com")
    other = place({split["tee"]: 1}, email="bob@example.com")
    token = tracking_token(mine)
    # Swap the order number inside the signed token: the signature no longer matches.
    forged = token.replace(mine.number, other.number, 1)
    assert forged != token
    with pytest.raises(TrackingLinkRefused) as refused:
        order_from_tracking_token(forged)
    assert not refused.value.expired
    response = client.get(f"/track/{forged}/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "not valid" in page
    assert other.number not in page and mine.number not in page
    assert "T-shirt" not in page and "Blue mug" not in page


@pytest.mark.parametrize(
    "token",
    [
        "nonsense",
        "ORD-1:abc:def",
        "x" * (MAX_TOKEN_LENGTH + 1),
        "%00",
        "ORD%00-1",
        "☃:☃:☃",
    ],
)
def test_a_forged_link_answers_a_friendly_404(split, client, token):
    place({split["mug"]: 1})
    response = client.get(f"/track/{token}/")
    assert response.status_code == 404
    page = response.content.decode()
    if "%00" not in token:  # a NUL in a path is refused before any view (core middleware)
        assert "This tracking link is not valid" in page
    assert "ORD" not in page.replace(token, "")


def test_a_link_signed_for_another_purpose_is_refused(split, client):
    """The return page's token names the same order with another salt: not a tracking link."""
    order = place({split["mug"]: 1})
    response = client.get(f"/track/{customer_return_token(order)}/")
    assert response.status_code == 404
    assert order.number not in response.content.decode()


def test_a_link_for_an_order_that_is_gone_is_refused_like_a_forged_one(split, client):
    token = sign_order_number("ORD-NOPE-1", salt=TRACKING_SALT)
    response = client.get(f"/track/{token}/")
    assert response.status_code == 404
    assert "not valid" in response.content.decode()


def test_an_expired_link_answers_410_and_the_expiry_is_configurable(
    split, client, settings, monkeypatch
):
    order = place({split["mug"]: 1})
    token = signed_days_ago(order.number, 91, monkeypatch)
    response = client.get(f"/track/{token}/")
    assert response.status_code == 410
    page = response.content.decode()
    assert "expired" in page and order.number not in page
    assert (
        client.get(f"/track/{signed_days_ago(order.number, 89, monkeypatch)}/").status_code == 200
    )
    settings.OMS_TRACKING_LINK_DAYS = 120
    assert client.get(f"/track/{token}/").status_code == 200


def test_the_page_is_read_only_and_keeps_its_token_to_itself(split, client):
    order = place({split["mug"]: 1})
    assert client.post(path_of(order)).status_code == 405
    response = client.get(path_of(order))
    assert response["Referrer-Policy"] == "no-referrer"
    assert "noindex" in response["X-Robots-Tag"]
    assert "no-store" in response["Cache-Control"]


# --- the page --------------------------------------------------------------------------------
def test_an_order_in_two_parcels_shows_each_parcel_with_its_carrier_tracking_link(
    split, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        order = place({split["mug"]: 2, split["tee"]: 1})
        first, second = order.shipments.order_by("pk")
        ship(first, deliver=True)
        ship(second)
    first.refresh_from_db()
    second.refresh_from_db()
    order.refresh_from_db()
    assert order.status == OrderStatus.PARTIALLY_SHIPPED or order.status == OrderStatus.SHIPPED
    Order.objects.filter(pk=order.pk).update(
        estimated_delivery_date=datetime.date(2031, 5, 6), notes="VIP - staff eyes only"
    )
    OrderEvent.objects.create(order=order, type="note", message="Internal: customer was rude")

    response = client.get(path_of(order))
    assert response.status_code == 200
    page = response.content.decode()
    assert f"Order {order.number}" in page
    for shipment in (first, second):
        assert f"Parcel {shipment.number}" in page
        assert shipment.tracking_number
        assert f'href="https://track.example/{shipment.tracking_number}"' in page
    assert page.count("Parcelo") >= 2
    assert "2 × Blue mug" in page and "1 × T-shirt M" in page
    assert "MUG-BLUE" in page and "TEE-M" in page
    assert "Tuesday 6 May 2031" in page  # the estimated delivery
    # The timeline, in the customer's words.
    assert "Order received" in page
    assert f"Parcel {first.number} shipped" in page
    assert f"Parcel {second.number} shipped" in page
    assert f"Parcel {first.number} delivered" in page
    # Part of it has arrived: a return can start; the rating waits for the whole order.
    assert "Start a return" in page and f"{SITE}/returns/c/" in page
    assert "Rate your delivery" not in page
    # Nothing for staff: no notes, no event messages, no warehouses.
    assert "VIP" not in page and "rude" not in page
    assert "Leeds" not in page and "Bristol" not in page
    assert "handed to" not in page  # the SHIPPED event's staff message


def test_a_delivered_order_offers_the_rating_and_shows_it_once_given(
    split, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        order = place({split["mug"]: 1})
        [shipment] = order.shipments.all()
        ship(shipment, deliver=True)
    page = client.get(path_of(order)).content.decode()
    assert "Rate your delivery" in page and f"{SITE}/fulfillment/feedback/" in page
    assert "Start a return" in page
    fulfillment.feedback_submit(order=order, rating=4)
    page = client.get(path_of(order)).content.decode()
    assert "You rated this delivery 4/5." in page


def test_an_order_not_yet_shipped_offers_no_return(split, client):
    order = place({split["mug"]: 1})
    page = client.get(path_of(order)).content.decode()
    assert "Start a return" not in page and "Rate your delivery" not in page
    assert "Blue mug" in page


def test_the_page_reads_in_constant_queries(split, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        small = place({split["mug"]: 1}, email="one@example.com")
        ship(small.shipments.get(), deliver=True)
        big = place({split["mug"]: 3, split["tee"]: 2}, email="two@example.com")
        for shipment in big.shipments.order_by("pk"):
            ship(shipment, deliver=True)
    assert big.shipments.count() == 2
    counts = []
    for order in (small, big):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(path_of(order)).status_code == 200
        counts.append(len(queries.captured_queries))
    assert counts[0] == counts[1], counts
    assert counts[1] <= 8


# --- the e-mails -----------------------------------------------------------------------------
def test_every_customer_email_carries_the_orders_tracking_link(
    split, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        order = place({split["mug"]: 1, split["tee"]: 1})
        for shipment in order.shipments.order_by("pk"):
            ship(shipment, deliver=True)
    customer = [m for m in mail.outbox if m.to == ["ada@example.com"]]
    assert len(customer) >= 3  # confirmed, shipped (x2), delivered
    prefix = f"{SITE}/track/"
    for message in customer:
        assert f"Follow your order online: {prefix}" in message.body, message.subject
        [html] = [body for body, kind in message.alternatives if kind == "text/html"]
        assert f'href="{prefix}' in html, message.subject
        link = message.body.split("Follow your order online: ", 1)[1].split()[0]
        assert order_from_tracking_token(link.removeprefix(prefix).rstrip("/")) == order
        assert client.get(link.removeprefix(SITE)).status_code == 200
    staff = [m for m in mail.outbox if m.to != ["ada@example.com"]]
    for message in staff:
        assert "/track/" not in message.body
