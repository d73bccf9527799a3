"""Delivery: staff action, carrier tracking webhook (secret, idempotent, clear errors), the
order's roll-up, and the customer's signed feedback page."""

import datetime
import json

import pytest
from django.core import signing
from django.utils import timezone

from fulfillment import services
from fulfillment.models import DeliveryFeedback, Shipment, ShipmentStatus
from orders.models import EventType, OrderEvent, OrderStatus

from .conftest import order_of, to_shipped

pytestmark = pytest.mark.django_db
SECRET = {"HTTP_X_CARRIER_SECRET": "s3cret-carrier"}


def post_tracking(client, payload, **headers):
    body = payload if isinstance(payload, str) else json.dumps(payload)
    return client.post(
        "/fulfillment/tracking/", body, content_type="application/json", **(headers or SECRET)
    )


@pytest.fixture
def shipped(stocked, mug, carriers):
    order = order_of({mug: 1})
    shipment = to_shipped(order.shipments.get(), tracking_number="PCL-0001")
    return order, shipment


def test_tracking_update_delivers_and_repeats_do_nothing_more(client, shipped):
    order, shipment = shipped
    # The parcel left two hours ago and arrived one hour ago.
    Shipment.objects.filter(pk=shipment.pk).update(
        shipped_at=timezone.now() - datetime.timedelta(hours=2)
    )
    occurred_at = (timezone.now() - datetime.timedelta(hours=1)).isoformat()
    payload = {"tracking_number": "PCL-0001", "status": "delivered", "occurred_at": occurred_at}
    response = post_tracking(client, payload)
    assert response.status_code == 200
    assert response.json() == {
        "shipment": shipment.number,
        "tracking_number": "PCL-0001",
        "status": "delivered",
        "changed": True,
    }
    shipment.refresh_from_db()
    order.refresh_from_db()
    assert shipment.status == ShipmentStatus.DELIVERED
    assert shipment.delivered_at.isoformat()[:16] == payload["occurred_at"][:16]
    assert order.status == OrderStatus.DELIVERED
    events_before = OrderEvent.objects.filter(order=order).count()

    again = post_tracking(client, payload)
    assert again.status_code == 200
    assert again.json()["changed"] is False
    assert OrderEvent.objects.filter(order=order).count() == events_before
    assert OrderEvent.objects.filter(order=order, type=EventType.DELIVERED).count() == 1


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, "X-Carrier-Secret"),
        ({"HTTP_X_CARRIER_SECRET": "wrong"}, "X-Carrier-Secret"),
    ],
)
def test_tracking_needs_the_shared_secret(client, shipped, headers, detail):
    response = client.post(
        "/fulfillment/tracking/",
        json.dumps({"tracking_number": "PCL-0001", "status": "delivered"}),
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 401
    assert detail in response.json()["detail"]
    shipped[1].refresh_from_db()
    assert shipped[1].status == ShipmentStatus.SHIPPED


def test_tracking_refuses_everything_when_no_secret_is_configured(client, shipped, settings):
    settings.OMS_CARRIER_WEBHOOK_SECRET = ""
    response = client.post(
        "/fulfillment/tracking/",
        json.dumps({"tracking_number": "PCL-0001", "status": "delivered"}),
        content_type="application/json",
        HTTP_X_CARRIER_SECRET="",
    )
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_tracking_bad_input_gets_clear_errors(client, shipped):
    assert post_tracking(client, "not json").status_code == 400
    assert post_tracking(client, "[1, 2]").json() == {
        "code": "parse_error",
        "detail": "The body must be a JSON object.",
    }
    response = post_tracking(client, {"status": "lost", "occurred_at": "yesterday"})
    assert response.status_code == 400
    assert set(response.json()) == {"code", "tracking_number", "status", "occurred_at"}
    assert response.json()["code"] == "invalid"
    assert "'delivered'" in response.json()["status"][0]
    future = (timezone.now() + datetime.timedelta(days=2)).isoformat()
    response = post_tracking(
        client, {"tracking_number": "PCL-0001", "status": "delivered", "occurred_at": future}
    )
    assert response.status_code == 400
    assert "future" in response.json()["occurred_at"][0]
    before_shipping = (timezone.now() - datetime.timedelta(days=400)).isoformat()
    response = post_tracking(
        client,
        {"tracking_number": "PCL-0001", "status": "delivered", "occurred_at": before_shipping},
    )
    assert response.status_code == 400
    assert "before the parcel was shipped" in response.json()["occurred_at"][0]
    response = post_tracking(client, {"tracking_number": "NOPE-1", "status": "delivered"})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert "NOPE-1" in response.json()["detail"]
    wrong_method = client.get("/fulfillment/tracking/")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["code"] == "method_not_allowed"


def test_tracking_of_a_parcel_not_shipped_yet_is_a_conflict(client, stocked, mug, carriers):
    from .conftest import to_packed

    shipment = to_packed(order_of({mug: 1}).shipments.get())
    from fulfillment.models import Shipment

    Shipment.objects.filter(pk=shipment.pk).update(tracking_number="PRE-0001")
    response = post_tracking(client, {"tracking_number": "PRE-0001", "status": "delivered"})
    assert response.status_code == 409
    assert response.json()["code"] == "not_allowed_now"
    assert response.json()["status"] == "packed"


def test_staff_deliver_twice_is_harmless(shipped, superuser):
    order, shipment = shipped
    services.shipment_deliver(shipment=shipment, user=superuser)
    services.shipment_deliver(shipment=shipment, user=superuser)
    assert OrderEvent.objects.filter(order=order, type=EventType.DELIVERED).count() == 1
    event = OrderEvent.objects.get(order=order, type=EventType.DELIVERED)
    assert event.user == superuser


def feedback_link(order) -> str:
    services.shipment_deliver(shipment=order.shipments.get())
    return OrderEvent.objects.get(order=order, type=EventType.DELIVERED).details["feedback_url"]


def test_customer_rates_the_delivery_once_and_may_update_it(client, shipped):
    order, _ = shipped
    url = feedback_link(order)
    page = client.get(url)
    assert page.status_code == 200
    assert order.number in page.content.decode()

    response = client.post(url, {"rating": "4", "comment": "Quick, box a bit dented."})
    assert response.status_code == 200
    assert "Thank you" in response.content.decode()
    feedback = DeliveryFeedback.objects.get(order=order)
    assert (feedback.rating, feedback.comment) == (4, "Quick, box a bit dented.")

    response = client.post(url, {"rating": "5", "comment": ""})
    assert "updated" in response.content.decode()
    assert DeliveryFeedback.objects.count() == 1
    assert DeliveryFeedback.objects.get(order=order).rating == 5
    ratings = OrderEvent.objects.filter(order=order, type=EventType.FEEDBACK)
    assert [e.details["rating"] for e in ratings] == [4, 5]


def test_feedback_form_errors_keep_the_input(client, shipped):
    order, _ = shipped
    url = feedback_link(order)
    response = client.post(url, {"rating": "9", "comment": "kept text"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Select a valid choice" in html
    assert "kept text" in html
    assert not DeliveryFeedback.objects.exists()


def test_tampered_feedback_link_gets_a_clear_page(client, shipped):
    order, _ = shipped
    url = feedback_link(order)
    tampered = url.replace(order.number, "SO-999999")
    response = client.get(tampered)
    assert response.status_code == 400
    assert "not valid" in response.content.decode()
    response = client.post(url[:-3] + "xx/", {"rating": "5"})
    assert response.status_code == 400
    assert not DeliveryFeedback.objects.exists()


def test_expired_feedback_link_gets_a_clear_page(client, shipped, settings):
    order, _ = shipped
    feedback_link(order)
    old = signing.TimestampSigner(salt=services.FEEDBACK_SALT)
    # A link signed 31 days ago (the signer's clock is time.time()).
    import time

    real_time = time.time
    try:
        time.time = lambda: real_time() - 31 * 86400
        token = old.sign(order.number)
    finally:
        time.time = real_time
    response = client.get(f"/fulfillment/feedback/{token}/")
    assert response.status_code == 410
    assert "expired" in response.content.decode()
    settings.OMS_FEEDBACK_LINK_DAYS = 60
    assert client.get(f"/fulfillment/feedback/{token}/").status_code == 200


def test_feedback_before_delivery_is_refused(client, stocked, mug):
    order = order_of({mug: 1})
    token = services.feedback_token(order)
    response = client.post(f"/fulfillment/feedback/{token}/", {"rating": "5"})
    assert response.status_code == 409
    assert "not been delivered" in response.content.decode()
    assert not DeliveryFeedback.objects.exists()


@pytest.mark.parametrize(
    "body, field",
    [
        ('{"tracking_number": "PCL-0001\\u0000", "status": "delivered"}', "tracking_number"),
        ('{"tracking_number": "\\ud800", "status": "delivered"}', "tracking_number"),
        ("[" * 5000 + "]" * 5000, "detail"),
        ('{"tracking_number": "PCL-0001", "status": "delivered", "n": 1e400}', "n"),
    ],
    ids=["nul", "surrogate", "deep", "huge-number"],
)
def test_hostile_tracking_bodies_are_400_and_change_nothing(client, shipped, body, field):
    _, shipment = shipped
    response = client.post(
        "/fulfillment/tracking/", body, content_type="application/json", **SECRET
    )
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert Shipment.objects.get(pk=shipment.pk).status == ShipmentStatus.SHIPPED
