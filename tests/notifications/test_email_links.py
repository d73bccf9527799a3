"""Every link in every e-mail of the real flow is absolute, built from ``OMS_SITE_URL``, and
works: place, pick, pack, ship and deliver with the services, then read what was sent and
follow each link as the customer would."""

import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.core import mail

from fulfillment import services as fulfillment
from fulfillment.models import Carrier, CarrierService
from orders.models import OrderStatus
from tests.factories import place

pytestmark = pytest.mark.django_db

SITE = "https://shop.example.test"
# An address, or a path standing alone (a relative link), in a plain-text body.
URL_IN_TEXT = re.compile(r"(?:https?://|mailto:)[^\s<>\"']+|(?<!\S)/[^\s<>\"']+")


class _Hrefs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src", "action") and value is not None:
                self.hrefs.append(value)


def links_of(message) -> list[tuple[str, str]]:
    """(body kind, link) for every URL of the text body and every href of the HTML body."""
    found = [("text", url.rstrip(".,;:)")) for url in URL_IN_TEXT.findall(message.body)]
    for body, kind in message.alternatives:
        if kind == "text/html":
            parser = _Hrefs()
            parser.feed(body)
            found += [("html", href) for href in parser.hrefs]
    return found


@pytest.fixture
def carrier_service(db):
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
        price_per_kg=Decimal("0.80"),
        transit_days=2,
        countries="GB",
    )


def test_every_link_of_every_email_is_absolute_and_opens(
    settings, client, stocked, mug, tee, carrier_service, django_capture_on_commit_callbacks
):
    settings.OMS_SITE_URL = SITE
    with django_capture_on_commit_callbacks(execute=True):
        order = place({mug: 2, tee: 1})
        [shipment] = order.shipments.all()
        fulfillment.picklist_create(warehouse=shipment.warehouse, shipments=[shipment])
        fulfillment.shipment_pack(
            data=fulfillment.PackInput(
                shipment=shipment,
                lines=fulfillment.packed_lines({"MUG-BLUE": 2, "TEE-M": 1}),
                weight_grams=1000,
                length_cm=30,
                width_cm=20,
                height_cm=10,
            )
        )
        fulfillment.shipment_ship(data=fulfillment.ShipInput(shipment=shipment))
        fulfillment.shipment_deliver(shipment=shipment)
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED
    shipment.refresh_from_db()

    sent = [m for m in mail.outbox if m.to == ["ada@example.com"]]
    subjects = [m.subject for m in sent]
    assert subjects == [
        f"Your order {order.number} is confirmed",
        f"Your order {order.number} is on its way",
        f"Your order {order.number} has been delivered",
    ]
    site_links: dict[str, set[str]] = {}
    for message in mail.outbox:  # the staff alerts too, if any
        for kind, link in links_of(message):
            where = f"{message.subject!r} ({kind} body): {link}"
            if link.startswith("mailto:"):
                assert link == "mailto:help@acme.test", where
                continue
            assert link.startswith(("https://", "http://")), f"not absolute: {where}"
            if link == f"https://track.example/{shipment.tracking_number}":
                continue  # the carrier's own tracking page
            assert link.startswith(f"{SITE}/"), f"not built from OMS_SITE_URL: {where}"
            site_links.setdefault(link, set()).add(f"{message.subject} ({kind})")

    # The delivery e-mail invites feedback and offers returns, in both bodies; the shipping
    # e-mail offers returns too.
    delivered, shipped = sent[2], sent[1]
    feedback = [link for _, link in links_of(delivered) if "/fulfillment/feedback/" in link]
    returns = [link for _, link in links_of(delivered) if "/returns/" in link]
    assert len(feedback) == 2 and len(set(feedback)) == 1  # text and HTML, the same link
    assert len(returns) == 2 and len(set(returns)) == 1
    assert [link for _, link in links_of(shipped) if "/returns/" in link]

    for link in site_links:
        response = client.get(link.removeprefix(SITE))
        assert response.status_code == 200, (link, site_links[link])
    page = client.get(feedback[0].removeprefix(SITE)).content.decode()
    assert order.number in page
    page = client.get(returns[0].removeprefix(SITE)).content.decode()
    assert order.number in page and "Blue mug" in page
