"""A purchasing clerk's day, in a real browser (issue 14).

A member of *Purchasing staff* logs in and opens a backordered order: its lamp line waits, with
the expected date of a slow supplier's purchase order. On *Replenishment* the lamp is suggested
from the preferred supplier; one click creates the draft purchase order, which the clerk sends
(the order's expected date moves to it). On the receive page the clerk scans the SKU and
receives part of it: the backorder is filled and the order gets its shipment. Then the rest
arrives and the purchase order is received. Each step asserts what the page shows; screenshots
are saved after each major step.
"""

import datetime
import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.utils import timezone

from accounts.roles import PURCHASING
from inventory.models import StockLevel
from orders.models import Order, OrderStatus
from purchasing.models import PurchaseOrder, PurchaseOrderStatus
from purchasing.services import (
    PurchaseOrderLineInput,
    purchase_order_create,
    purchase_order_send,
    supplier_create,
    supplier_product_upsert,
)
from tests.factories import (
    DEFAULT_CHANNELS,
    ProductFactory,
    UserFactory,
    WarehouseFactory,
    channel,
    place,
)

from .test_order_to_refund import expect_message, log_in

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SKU = "LAMP-01"


@pytest.fixture
def world(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    for code in DEFAULT_CHANNELS:  # flushed by the transactional database of live_server
        channel(code)
    call_command("setup_groups", stdout=open("/dev/null", "w"))  # noqa: SIM115
    clerk = UserFactory(username="buyer", password="buyer-pw-1")
    clerk.groups.add(Group.objects.get(name=PURCHASING))
    leeds = WarehouseFactory(code="LDS", name="Leeds", country="GB", priority=1)
    lamp = ProductFactory(sku=SKU, name="Desk lamp", unit_price=Decimal("25.00"), currency="EUR")
    acme = supplier_create(
        code="ACME", name="Acme Lighting", email="po@acme.test", lead_time_days=5
    )
    supplier_product_upsert(
        supplier=acme,
        product=lamp,
        unit_cost=Decimal("9.00"),
        min_order_quantity=10,
        preferred=True,
    )
    slow = supplier_create(code="SLOW", name="Slow Lamps", email="po@slow.test", lead_time_days=60)
    supplier_product_upsert(supplier=slow, product=lamp, unit_cost=Decimal("7.00"))
    # Two lamps are on the way from the slow supplier, in 60 days.
    slow_po = purchase_order_create(
        supplier="SLOW",
        warehouse="LDS",
        expected_at=timezone.localdate() + datetime.timedelta(days=60),
        lines=[PurchaseOrderLineInput(sku=SKU, quantity=2)],
    ).purchase_order
    purchase_order_send(purchase_order=slow_po)
    # A web order for two lamps, none in stock: backordered, waiting for the slow PO.
    order = place({lamp: 2}, email="ada@example.com")
    assert order.status == OrderStatus.BACKORDERED
    return {"leeds": leeds, "lamp": lamp, "order": order, "slow_po": slow_po}


def test_a_purchasing_clerks_day(live_server, page, shots, world):
    from playwright.sync_api import expect

    base = live_server.url
    heading = page.get_by_role("heading", level=1)
    main_nav = page.get_by_role("navigation", name="Main")
    number = world["order"].number
    order_url = f"{base}/orders/{number}/"
    slow_date = world["slow_po"].expected_at.isoformat()
    acme_date = (timezone.localdate() + datetime.timedelta(days=5)).isoformat()

    # --- the backordered order: its line waits for the slow supplier's PO -------------------
    log_in(page, base, "buyer", "buyer-pw-1")
    page.goto(order_url)
    expect(heading).to_contain_text("Backordered")
    line = page.locator("tbody tr", has_text=SKU).first
    backordered = line.locator("td.num").nth(2)
    expect(backordered.locator("strong")).to_have_text("2")
    expect(backordered.locator(".expected-at")).to_have_text(f"expected {slow_date}")
    expect(page.get_by_text("No shipment yet")).to_be_visible()
    shots(page, "backordered order")

    # --- Replenishment: the lamp from the preferred supplier, drafted in one click ----------
    main_nav.get_by_role("link", name="Purchasing").click()
    expect(heading).to_have_text("Purchase orders")
    page.get_by_role("link", name="Replenishment").first.click()
    expect(heading).to_have_text("Replenishment")
    group = page.locator("section.supplier-group", has_text="ACME – Acme Lighting")
    row = group.locator("tbody tr", has_text=SKU)
    # Available 0, on order 2 (the slow PO), backordered 2; the minimum order is 10.
    expect(row.locator("td.num").nth(0)).to_have_text("0")
    expect(row.locator("td.num").nth(1)).to_have_text("2")
    expect(row.locator("td.num").nth(2)).to_have_text("2")
    expect(row.locator("td.num").last).to_contain_text("10")
    shots(page, "replenishment", tablet=True)
    page.get_by_role("button", name="Create draft POs").click()
    expect_message(page, "Created 1 draft purchase orders.")
    created = page.get_by_role("region", name="Created purchase orders")
    expect(created).to_contain_text(f"ACME to LDS, expected {acme_date} (Draft)")
    expect(page.get_by_text("Nothing to reorder")).to_be_visible()  # drafts count as on order
    draft = PurchaseOrder.objects.get(supplier__code="ACME")
    shots(page, "drafts created")

    # --- send it ------------------------------------------------------------------------------
    created.get_by_role("link", name=draft.number).click()
    expect(heading).to_contain_text(draft.number)
    expect(heading).to_contain_text("Draft")
    expect(page.locator("body")).to_contain_text("10")
    page.get_by_role("button", name="Send to po@acme.test").click()
    expect(heading).to_contain_text("Sent")
    shots(page, "po sent")

    # The order now waits for the earlier purchase order.
    page.goto(order_url)
    expect(backordered.locator(".expected-at")).to_have_text(f"expected {acme_date}")

    # --- receive part of it: the scanned SKU, four lamps --------------------------------------
    page.goto(f"{base}/purchasing/orders/{draft.number}/")
    page.get_by_role("link", name="Receive").click()
    expect(heading).to_contain_text(f"Receive against {draft.number}")
    lines = page.locator("#receive-lines tbody tr", has_text=SKU)
    expect(lines.locator("td.num").nth(2)).to_contain_text("10")  # outstanding
    page.get_by_label("Scan or type a SKU").fill(SKU)
    page.get_by_label("Quantity", exact=True).fill("4")
    shots(page, "receiving", tablet=True)
    page.get_by_label("Scan or type a SKU").press("Enter")  # the scanner's Enter
    expect_message(page, f"Received 4 × {SKU} on {draft.number} into LDS.")
    expect_message(page, f"Backorders that got stock: {number}.")
    expect(heading).to_contain_text("Partially received")
    expect(lines.locator("td.num").nth(1)).to_have_text("4")  # received
    expect(lines.locator("td.num").nth(2)).to_contain_text("6")  # outstanding
    shots(page, "partly received")
    level = StockLevel.objects.get(product=world["lamp"], warehouse=world["leeds"])
    assert (level.on_hand, level.reserved) == (4, 2)

    # --- the backorder is filled and the order has its shipment -------------------------------
    page.goto(order_url)
    expect(heading).to_contain_text("Allocated")
    expect(line.locator("td.num").nth(1)).to_have_text("2")  # allocated
    expect(line.locator("td.num").nth(2)).to_have_text("0")  # backordered
    shipments = page.locator("section.card", has=page.get_by_role("heading", name="Shipments"))
    expect(shipments).to_contain_text("Pending")
    expect(shipments).to_contain_text("LDS")
    shots(page, "order allocated")
    assert Order.objects.get(pk=world["order"].pk).shipments.count() == 1

    # --- the rest arrives: typed in the line's field, the PO is received -----------------------
    page.goto(f"{base}/purchasing/orders/{draft.number}/receive/")
    page.get_by_label(f"Receive {SKU}").fill("6")
    page.get_by_role("button", name="Receive all entered").click()
    expect_message(page, f"Received 6 × {SKU} on {draft.number} into LDS.")
    expect_message(page, "No backordered order was waiting for these products.")
    expect(heading).to_contain_text(draft.number)
    expect(heading).to_contain_text("Received")
    expect(page.get_by_role("link", name="Receive", exact=True)).to_have_count(0)
    shots(page, "po received")
    draft.refresh_from_db()
    assert draft.status == PurchaseOrderStatus.RECEIVED
    level.refresh_from_db()
    assert (level.on_hand, level.reserved) == (10, 2)
    # The slow purchase order is still on the way, untouched.
    assert PurchaseOrder.objects.get(pk=world["slow_po"].pk).status == PurchaseOrderStatus.SENT
    assert re.fullmatch(r"PO-\d{6}", draft.number)
