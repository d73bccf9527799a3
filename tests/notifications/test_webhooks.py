"""Partner webhooks: signed JSON per status change, received by a real HTTP server."""

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from notifications.models import OutboxMessage, OutboxStatus, WebhookEndpoint
from orders.services import order_cancel
from tests.factories import PartnerFactory, place

from .conftest import make_due

pytestmark = pytest.mark.django_db

SECRET = "s3cr3t-shared-with-the-partner"


class Receiver:
    """A partner's endpoint on 127.0.0.1 that checks the signature like a partner would."""

    def __init__(self, status=200):
        self.status = status
        self.received = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                timestamp = self.headers["X-OMS-Timestamp"]
                expected = hmac.new(
                    SECRET.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256
                ).hexdigest()
                receiver.received.append(
                    {
                        "valid": hmac.compare_digest(expected, self.headers["X-OMS-Signature"]),
                        "delivery": self.headers["X-OMS-Delivery"],
                        "body": json.loads(body),
                    }
                )
                self.send_response(receiver.status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/oms"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(autouse=True)
def _local_receiver_allowed(settings):
    """The receivers here listen on 127.0.0.1 over plain http, which production refuses."""
    settings.OMS_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.OMS_WEBHOOK_REQUIRE_HTTPS = False


@pytest.fixture
def partner(db):
    return PartnerFactory(name="Marketplace")


def place_for(partner, mug, reference="PO-1"):
    return place({mug: 1}, channel_code="partner", partner=partner, reference=reference)


def test_every_status_change_is_posted_signed(
    stocked, mug, partner, django_capture_on_commit_callbacks
):
    with Receiver() as receiver:
        WebhookEndpoint.objects.create(partner=partner, url=receiver.url, secret=SECRET)
        with django_capture_on_commit_callbacks(execute=True):
            order = place_for(partner, mug)
        with django_capture_on_commit_callbacks(execute=True):
            order_cancel(order=order, reason="Out of budget")
    assert all(r["valid"] for r in receiver.received)
    changes = [
        (r["body"]["from_status"], r["body"]["to_status"])
        for r in receiver.received
        if r["body"]["type"] == "order.status_changed"
    ]
    assert changes == [
        ("placed", "confirmed"),
        ("confirmed", "allocated"),
        ("allocated", "cancelled"),
    ]
    last = receiver.received[-1]["body"]
    assert last["order"]["number"] == order.number
    assert last["order"]["reference"] == "PO-1"
    assert last["order"]["status"] == "cancelled"
    assert last["order"]["lines"][0]["sku"] == "MUG-BLUE"
    assert receiver.received[-1]["delivery"] == last["id"]
    assert OutboxMessage.objects.filter(kind="webhook", status=OutboxStatus.SENT).count() == len(
        receiver.received
    )


def test_endpoint_event_type_filter_and_other_partners(
    stocked, mug, partner, django_capture_on_commit_callbacks
):
    other = PartnerFactory(name="Other shop")
    with Receiver() as receiver:
        WebhookEndpoint.objects.create(
            partner=partner, url=receiver.url, secret=SECRET, event_types=["shipped"]
        )
        WebhookEndpoint.objects.create(partner=other, url=receiver.url, secret=SECRET)
        with django_capture_on_commit_callbacks(execute=True):
            place_for(partner, mug)
    assert receiver.received == []


def test_failing_endpoint_is_retried_and_logged(
    stocked, mug, partner, django_capture_on_commit_callbacks
):
    from notifications import services as notifications

    with Receiver(status=500) as receiver:
        WebhookEndpoint.objects.create(
            partner=partner, url=receiver.url, secret=SECRET, event_types=["status_changed"]
        )
        with django_capture_on_commit_callbacks(execute=True):
            place_for(partner, mug)
        hooks = list(OutboxMessage.objects.filter(kind="webhook").order_by("pk"))
        assert [h.status for h in hooks] == [OutboxStatus.PENDING] * 2
        first = hooks[0]
        attempt = first.log.get()
        assert attempt.status_code == 500 and not attempt.succeeded
        assert "HTTP 500" in attempt.error

        receiver.status = 204
        make_due(*hooks)
        notifications.outbox_sweep()
    first.refresh_from_db()
    assert first.status == OutboxStatus.SENT
    assert [(a.status_code, a.succeeded) for a in first.log.all()] == [(500, False), (204, True)]
    assert len(receiver.received) == 4
    assert all(r["valid"] for r in receiver.received)


def test_a_webhook_shows_the_order_as_the_api_does_carrier_by_code(
    stocked, mug, partner, django_capture_on_commit_callbacks
):
    from notifications.models import OutboxKind
    from orders.representation import order_representation
    from tests.returns.conftest import ship

    with Receiver() as receiver:
        WebhookEndpoint.objects.create(
            partner=partner, url=receiver.url, secret=SECRET, event_types=["shipped"]
        )
        with django_capture_on_commit_callbacks(execute=True):
            order = place_for(partner, mug)
        with django_capture_on_commit_callbacks(execute=True):
            ship(order)
    [shipped] = [r["body"] for r in receiver.received]
    assert shipped["type"] == "order.shipped"
    [shipment] = shipped["order"]["shipments"]
    assert shipment["carrier"] == "test-post"  # the carrier's code, not its name "Test Post"
    assert shipped["order"] == order_representation(order)
    assert OutboxMessage.objects.get(kind=OutboxKind.WEBHOOK).status == OutboxStatus.SENT


def test_a_webhook_sent_later_says_the_status_the_order_had_then(
    stocked, mug, partner, django_capture_on_commit_callbacks
):
    with Receiver() as receiver:
        WebhookEndpoint.objects.create(
            partner=partner, url=receiver.url, secret=SECRET, event_types=["status_changed"]
        )
        order = place_for(partner, mug)  # not sent yet: the worker is slow today
        with django_capture_on_commit_callbacks(execute=True):
            order_cancel(order=order, reason="Changed our mind")
        make_due(*OutboxMessage.objects.filter(kind="webhook"))
        from notifications import services

        services.outbox_sweep()
    by_change = {
        (r["body"]["from_status"], r["body"]["to_status"]): r["body"]["order"]["status"]
        for r in receiver.received
    }
    assert by_change == {
        ("placed", "confirmed"): "allocated",  # as the placement left it
        ("confirmed", "allocated"): "allocated",
        ("allocated", "cancelled"): "cancelled",
    }
