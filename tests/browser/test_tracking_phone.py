"""The customer follows an order on a phone (issue 15): the order ships in two parcels, the
customer opens the tracking link from the shipping e-mail at a phone viewport (390 × 844) and
sees the status, both parcels with the carrier's tracking links, the estimated delivery, the
items and the timeline, with nothing wider than the screen. Screenshots go to the test's
``tmp_path``."""

import datetime
import re
from decimal import Decimal

import pytest
from django.core import mail
from django.utils.timezone import localtime

from fulfillment import services as fulfillment
from fulfillment.models import Carrier, CarrierService
from orders.models import Order
from tests.factories import (
    DEFAULT_CHANNELS,
    ProductFactory,
    WarehouseFactory,
    channel,
    place,
    receive,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def ship(shipment, *, deliver=False):
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
            weight_grams=800,
            length_cm=30,
            width_cm=20,
            height_cm=10,
        )
    )
    fulfillment.shipment_ship(data=fulfillment.ShipInput(shipment=shipment))
    if deliver:
        fulfillment.shipment_deliver(shipment=shipment)


@pytest.fixture
def two_parcels(settings, live_server):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.OMS_SITE_URL = live_server.url
    for code in DEFAULT_CHANNELS:  # flushed by the transactional database of live_server
        channel(code)
    leeds = WarehouseFactory(code="LDS", name="Leeds", country="GB", priority=1)
    bristol = WarehouseFactory(code="BRS", name="Bristol", country="GB", priority=2)
    lamp = ProductFactory(sku="LAMP-01", name="Desk lamp with a rather long name", weight_grams=900)
    shade = ProductFactory(sku="SHADE-02", name="Linen lamp shade", weight_grams=300)
    receive(leeds, {lamp: 5})
    receive(bristol, {shade: 5})
    parcelo = Carrier.objects.create(
        code="parcelo",
        name="Parcelo",
        tracking_url_template="https://track.example/{tracking_number}",
        tracking_prefix="PCL",
    )
    CarrierService.objects.create(
        carrier=parcelo,
        code="standard",
        name="Standard",
        price_per_parcel=Decimal("4.50"),
        price_per_kg=Decimal("0.80"),
        transit_days=2,
        countries="GB",
    )
    order = place({lamp: 1, shade: 2})
    first, second = order.shipments.order_by("pk")
    ship(first, deliver=True)
    ship(second)
    Order.objects.filter(pk=order.pk).update(estimated_delivery_date=datetime.date(2031, 5, 6))
    first.refresh_from_db()
    second.refresh_from_db()
    return order, first, second


def test_the_customer_follows_two_parcels_on_a_phone(browser, two_parcels, tmp_path):
    from playwright.sync_api import expect

    order, first, second = two_parcels
    shipped = [
        m
        for m in mail.outbox
        if m.to == ["ada@example.com"] and m.subject.endswith("is on its way")
    ]
    assert shipped, [m.subject for m in mail.outbox]
    link = re.search(r"Follow your order online: (\S+)", shipped[-1].body).group(1)

    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="en-GB"
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto(link)
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Order {order.number}")
        expect(page.get_by_test_id("status")).to_have_text("On its way")
        placed = localtime(order.placed_at)
        expect(page.locator(".facts")).to_contain_text(f"Ordered{placed:%-d %B %Y}")
        expect(page.get_by_test_id("estimate")).to_have_text("Tuesday 6 May 2031")
        parcels = page.get_by_test_id("parcel")
        expect(parcels).to_have_count(2)
        for parcel, shipment in zip([parcels.nth(0), parcels.nth(1)], [first, second], strict=True):
            expect(parcel).to_contain_text(f"Parcel {shipment.number}")
            expect(parcel).to_contain_text("Parcelo")
            track = parcel.get_by_role("link", name=f"Track parcel {shipment.number} with Parcelo")
            expect(track).to_be_visible()
            expect(track).to_have_attribute(
                "href", f"https://track.example/{shipment.tracking_number}"
            )
        expect(parcels.nth(0)).to_contain_text("Delivered")
        expect(parcels.filter(has_text="2 × Linen lamp shade")).to_have_count(1)
        expect(parcels.filter(has_text="1 × Desk lamp")).to_have_count(1)
        expect(page.get_by_role("link", name="Start a return")).to_be_visible()
        expect(page.get_by_test_id("timeline")).to_contain_text(f"Parcel {first.number} delivered")
        expect(page.get_by_role("cell", name=re.compile("Desk lamp"))).to_be_visible()
        # Nothing wider than the phone: no sideways scrolling.
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], width
        shot = tmp_path / "tracking-phone.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000

        # The return link opens the customer's return page.
        page.get_by_role("link", name="Start a return").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(
            f"Return items of order {order.number}"
        )
        page.screenshot(path=str(tmp_path / "return-phone.png"), full_page=True)

        # A tampered link: a friendly page, not an error.
        page.goto(link[:-4] + "abc/")
        expect(page.get_by_role("heading", level=1)).to_have_text("This tracking link is not valid")
    finally:
        context.close()
