"""A clerk notes an order and merges a duplicate customer, in Chromium (screenshots in the
artifacts folder of tests/browser)."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from accounts.roles import PURCHASING
from orders.models import Customer
from tests.factories import (
    DEFAULT_CHANNELS,
    ProductFactory,
    UserFactory,
    WarehouseFactory,
    channel,
    place,
    receive,
)

from .test_order_to_refund import expect_message, log_in

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    for code in DEFAULT_CHANNELS:
        channel(code)
    call_command("setup_groups", stdout=open("/dev/null", "w"))  # noqa: SIM115
    clerk = UserFactory(username="desk", password="desk-pw-1")
    clerk.groups.add(Group.objects.get(name=PURCHASING))
    mug = ProductFactory(sku="MUG-BLUE", name="Blue mug", unit_price=Decimal("9.90"))
    receive(WarehouseFactory(code="LDS", name="Leeds", country="GB"), {mug: 10})
    first = place({mug: 1})
    second = place({mug: 2}, email="ada.typo@example.com")
    Customer.objects.filter(pk=second.customer_id).update(email="ADA@example.com")
    return {"first": first, "second": second}


def test_a_clerk_notes_an_order_and_merges_a_duplicate(live_server, page, shots, world):
    from playwright.sync_api import expect

    base = live_server.url
    first, second = world["first"], world["second"]
    log_in(page, base, "desk", "desk-pw-1")
    page.goto(f"{base}/orders/{first.number}/")
    page.get_by_role("button", name="Add note").click()  # empty: refused by the browser
    expect(page.locator(".staff-note")).to_have_count(0)
    page.get_by_label("Internal note").fill("Rang Ada: leave it with the neighbour")
    page.get_by_role("button", name="Add note").click()
    expect_message(page, f"Note added to order {first.number}.")
    expect(page.locator(".staff-note")).to_contain_text("Rang Ada: leave it with the neighbour")
    expect(page.locator(".staff-note")).to_contain_text("by desk")
    shots(page, "order with a note")

    page.goto(f"{base}/customers/{first.customer_id}/")
    page.get_by_role("button", name=f"Merge #{second.customer_id} into this customer").click()
    expect_message(page, "1 order(s) moved")
    expect(page.locator("table").first).to_contain_text(second.number)
    shots(page, "customer after the merge")
    page.get_by_label("Customer #").fill(str(first.customer_id))
    page.get_by_role("button", name="Merge into this customer", exact=True).click()
    expect(page.locator("ul.messages")).to_contain_text("cannot be merged into itself")
