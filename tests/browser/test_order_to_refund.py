"""The whole life of a phone order, done by people in a real browser (issue 8).

A clerk (purchasing + warehouse staff) logs in, enters a phone order for a lamp that is out of
stock, confirms it (backordered), books a delivery from the supplier (the backorder is filled),
creates a pick list, packs, ships and marks the parcel delivered. A manager then opens a return
from the order page, approves it, receives and inspects it (one sellable, one damaged) and
refunds it. Each step asserts what the page shows; screenshots are saved after each major step.
"""

import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from accounts.roles import MANAGERS, PURCHASING, WAREHOUSE
from fulfillment.models import Carrier, CarrierService
from inventory.models import StockLevel
from orders.models import Order
from returns.models import ReturnRequest
from tests.factories import DEFAULT_CHANNELS, ProductFactory, UserFactory, WarehouseFactory, channel

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SKU = "LAMP-01"


@pytest.fixture
def world(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    for code in DEFAULT_CHANNELS:  # flushed by the transactional database of live_server
        channel(code)
    call_command("setup_groups", stdout=open("/dev/null", "w"))  # noqa: SIM115
    clerk = UserFactory(username="clerk", password="clerk-pw-1")
    clerk.groups.add(*Group.objects.filter(name__in=[PURCHASING, WAREHOUSE]))
    manager = UserFactory(username="manager", password="manager-pw-1")
    manager.groups.add(Group.objects.get(name=MANAGERS))
    leeds = WarehouseFactory(code="LDS", name="Leeds", country="GB", priority=1)
    lamp = ProductFactory(
        sku=SKU, name="Desk lamp", unit_price=Decimal("25.00"), currency="EUR", weight_grams=900
    )
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
        countries="GB,IE",
    )
    return {"leeds": leeds, "lamp": lamp}


def expect_message(page, text):
    from playwright.sync_api import expect

    expect(page.locator("ul.messages")).to_contain_text(text)


def log_in(page, base, username, password):
    from playwright.sync_api import expect

    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("header .who")).to_have_text(username)


def test_phone_order_from_backorder_to_refund(live_server, page, shots, world):
    from playwright.sync_api import expect

    base = live_server.url
    main_nav = page.get_by_role("navigation", name="Main")

    # --- the clerk logs in and takes a phone order for a lamp that is out of stock ----------
    log_in(page, base, "clerk", "clerk-pw-1")
    main_nav.get_by_role("link", name="New order").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New phone or counter order")
    expect(page.get_by_label("Channel")).to_have_value("phone")
    page.get_by_label("Customer name").fill("Ada Park")
    page.get_by_label("E-mail").fill("ada@example.com")
    page.get_by_label("Phone").fill("+44 20 7946 0000")
    page.get_by_label("Address line 1").fill("1 High St")
    page.get_by_label("City").fill("Leeds")
    page.get_by_label("Postal code").fill("LS1 1AA")
    expect(page.get_by_label("Country")).to_have_value("GB")
    page.locator("#id_lines-0-sku").fill(SKU)
    page.locator("#id_lines-0-quantity").fill("2")
    page.locator("#id_lines-0-quantity").focus()  # the SKU's change event shows availability
    expect(page.locator("tr.line").first.locator(".avail")).to_contain_text("0 available")
    shots(page, "order entry", tablet=True)
    page.get_by_role("button", name="Place order").click()

    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text("Placed")
    expect_message(page, "placed: placed")
    number = re.search(r"Order (\S+)", heading.inner_text()).group(1)
    order_url = f"{base}/orders/{number}/"
    assert page.url == order_url
    shots(page, "order placed")

    page.locator("#transitions").get_by_role("button", name="Confirm").click()
    expect(heading).to_contain_text("Backordered")
    line = page.locator("tbody tr", has_text=SKU).first
    # Ordered, allocated, backordered
    expect(line.locator("td.num").nth(0)).to_have_text("2")
    expect(line.locator("td.num").nth(1)).to_have_text("0")
    backordered = line.locator("td.num").nth(2)
    expect(backordered.locator("strong")).to_have_text("2")
    expect(backordered).to_contain_text("none on order")  # no purchase order brings it yet
    expect(page.get_by_text("No shipment yet")).to_be_visible()
    shots(page, "order backordered", tablet=True)

    # --- a delivery from the supplier arrives: the backorder is filled ----------------------
    main_nav.get_by_role("link", name="Stock").click()
    page.get_by_role("link", name="Receive stock").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Receive stock")
    page.get_by_label("Warehouse").select_option("LDS")
    page.get_by_label("Reference").fill("PO-778")
    page.locator("#id_lines-0-sku").fill(SKU)
    page.locator("#id_lines-0-quantity").fill("5")
    page.get_by_role("button", name="Book receipt").click()
    expect_message(page, f"Received 5 units into LDS. Backorders filled: {number}.")
    shots(page, "stock received")
    level = StockLevel.objects.get(product=world["lamp"], warehouse=world["leeds"])
    assert (level.on_hand, level.reserved) == (5, 2)

    page.goto(order_url)
    expect(heading).to_contain_text("Allocated")
    expect(line.locator("td.num").nth(1)).to_have_text("2")
    expect(line.locator("td.num").nth(2)).to_have_text("0")
    shipments_card = page.locator("section.card", has=page.get_by_role("heading", name="Shipments"))
    expect(shipments_card).to_contain_text("Pending")
    shipment_number = shipments_card.locator("strong").first.inner_text()
    shots(page, "order allocated")

    # --- the warehouse picks ------------------------------------------------------------------
    main_nav.get_by_role("link", name="Warehouse").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Shipments · LDS")
    row = page.locator("tbody tr", has_text=shipment_number)
    expect(row).to_contain_text(number)
    row.get_by_role("checkbox").check()
    shots(page, "pending shipments", tablet=True)
    page.get_by_role("button", name="Create pick list from selected").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Pick list")
    expect_message(page, "Pick list")
    pick_row = page.locator("table.picks tbody tr", has_text=SKU)
    expect(pick_row.locator("td.num")).to_have_text("2")
    expect(pick_row).to_contain_text(shipment_number)
    shots(page, "pick list", tablet=True)

    # --- pack ------------------------------------------------------------------------------------
    page.get_by_role("link", name=shipment_number).click()
    expect(heading).to_contain_text(f"Shipment {shipment_number}")
    expect(heading).to_contain_text("Picking")
    pack = page.locator("form", has=page.get_by_role("heading", name="Pack"))
    expect(pack).to_contain_text("Proposed: Parcelo Standard")
    pack.get_by_label("SKU").first.fill(SKU)
    pack.get_by_label("Quantity").first.fill("1")  # a slip: one lamp short
    expect(pack.get_by_label("Weight (g)")).to_have_value("1800")
    pack.get_by_label("Length (cm)").fill("40")
    pack.get_by_label("Width (cm)").fill("30")
    pack.get_by_label("Height (cm)").fill("20")
    pack.get_by_role("button", name="Confirm packing").click()
    expect(pack.locator(".errorlist")).to_contain_text(SKU)
    expect(heading).to_contain_text("Picking")
    shots(page, "packing error")
    pack.get_by_label("Quantity").first.fill("2")
    shots(page, "packing", tablet=True)
    pack.get_by_role("button", name="Confirm packing").click()
    expect_message(page, f"Shipment {shipment_number} packed.")
    expect(heading).to_contain_text("Packed")
    expect(page.locator("dl.facts")).to_contain_text("1800 g, 40 × 30 × 20 cm")

    # --- ship ------------------------------------------------------------------------------------
    ship = page.locator("form", has=page.get_by_role("heading", name="Ship"))
    expect(ship.get_by_label("Carrier service")).to_have_value(
        str(CarrierService.objects.get(code="standard").pk)
    )
    ship.get_by_role("button", name="Hand over to carrier").click()
    expect_message(page, f"Shipment {shipment_number} shipped, tracking number PCL")
    expect(heading).to_contain_text("Shipped")
    expect(page.get_by_role("link", name=re.compile(r"^PCL"))).to_have_attribute(
        "href", re.compile(r"^https://track\.example/PCL")
    )
    shots(page, "shipped")

    # --- deliver -----------------------------------------------------------------------------
    page.get_by_role("button", name="Mark delivered").click()
    expect_message(page, f"Shipment {shipment_number} delivered.")
    expect(heading).to_contain_text("Delivered")
    expect(page.get_by_role("button", name="Mark delivered")).to_have_count(0)

    page.goto(order_url)
    expect(heading).to_contain_text("Delivered")
    expect(line.locator("td.num").nth(3)).to_have_text("2")  # shipped
    shots(page, "order delivered")

    # --- the customer rings back: a manager opens a return ----------------------------------
    page.get_by_role("button", name="Log out").click()
    log_in(page, base, "manager", "manager-pw-1")
    page.goto(order_url)
    page.get_by_role("link", name="Open a return").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Open a return")
    expect(page.locator("dl.facts")).to_contain_text(f"{number} (Delivered)")
    expect(page.locator("tbody tr", has_text=SKU)).to_contain_text("2 shipped, 2 returnable")
    # The window is open: no override field to confuse anyone.
    expect(page.get_by_label("Why accept it after the return window")).to_have_count(0)
    page.get_by_label(f"Units of {SKU} coming back").fill("2")
    page.get_by_label(f"Why {SKU} comes back").select_option(label="Changed mind")
    page.get_by_label(f"Note on {SKU}").fill("Too bright")
    shots(page, "open a return", tablet=True)
    page.get_by_role("button", name="Open the return").click()

    expect_message(page, "opened.")
    expect(heading).to_contain_text("Requested")
    rma = re.search(r"Return (\S+)", heading.inner_text()).group(1)
    # "Changed mind" is not approved automatically; nothing can be received before approval.
    expect(page.get_by_role("button", name="Mark received")).to_have_count(0)
    expect(page.get_by_role("button", name="Reject")).to_be_visible()
    shots(page, "return requested")
    page.get_by_role("button", name="Approve").click()
    expect(heading).to_contain_text("Approved")
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    page.get_by_role("button", name="Mark received").click()
    expect(heading).to_contain_text("Received")

    inspection = page.locator("form", has=page.get_by_role("heading", name="Inspection"))
    expect(inspection.get_by_label("Warehouse")).to_have_value(str(world["leeds"].pk))
    inspection.get_by_label(f"{SKU} sellable").fill("1")
    inspection.get_by_label(f"{SKU} damaged").fill("1")
    inspection.get_by_label(f"{SKU} condition").fill("One shade cracked")
    shots(page, "inspection", tablet=True)
    inspection.get_by_role("button", name="Record the inspection").click()
    expect(heading).to_contain_text("Inspected")
    return_line = page.locator("table").first.locator("tbody tr", has_text=SKU)
    expect(return_line).to_contain_text("One shade cracked")

    refund = page.locator("form", has=page.get_by_role("heading", name="Refund"))
    expect(refund.get_by_label("Refund method")).to_have_value("original_payment")
    refund.get_by_label("Reference").fill("CARD-REF-1")
    refund.get_by_role("button", name="Refund").click()
    expect(heading).to_contain_text("Refunded")
    # 2 × 25.00 less the 10 % restocking fee for "changed mind" = 45.00
    expect_message(page, "Refunded 45.00 EUR.")
    expect(page.locator("dl.facts")).to_contain_text("45.00 EUR")
    expect(page.locator("dl.facts")).to_contain_text("CARD-REF-1")
    shots(page, "refunded", tablet=True)

    # --- the order shows what came back ---------------------------------------------------------
    page.goto(order_url)
    expect(line.locator("td.num").nth(4)).to_have_text("2")  # returned
    returns_card = page.locator("section.card", has=page.get_by_role("heading", name="Returns"))
    expect(returns_card).to_contain_text(f"{rma} · Refunded")
    shots(page, "order after refund")
    # Everything came back: the order page no longer offers a return, and the return page,
    # reached directly, says why.
    expect(returns_card.get_by_role("link", name="Open a return")).to_have_count(0)
    page.goto(f"{base}/returns/new/?order={number}")
    expect(page.locator("main")).to_contain_text(f"Nothing of order {number} can be returned now")
    expect(page.get_by_role("button", name="Open the return")).to_have_count(0)

    return_request = ReturnRequest.objects.get(number=rma)
    assert return_request.order == Order.objects.get(number=number)
    level.refresh_from_db()
    assert level.on_hand == 5 - 2 + 1  # the sellable unit is back on the shelf


def test_return_after_the_window_needs_a_managers_reason(live_server, page, shots, world):
    """A customer rings 40 days after delivery: the page says the window has closed, refuses
    without a reason, and opens the return once the manager gives one."""
    from playwright.sync_api import expect

    from tests.factories import place, receive
    from tests.returns.conftest import days_ago, deliver, ship

    receive(world["leeds"], {world["lamp"]: 1})
    order = deliver(ship(place({world["lamp"]: 1})), at=days_ago(40))

    log_in(page, live_server.url, "manager", "manager-pw-1")
    page.goto(f"{live_server.url}/returns/new/?order={order.number}")
    expect(page.locator("dl.facts")).to_contain_text("closed on")
    page.get_by_label(f"Units of {SKU} coming back").fill("1")
    page.get_by_label(f"Why {SKU} comes back").select_option(label="Defective")
    page.get_by_role("button", name="Open the return").click()
    expect(page.locator("form.panel .errorlist")).to_contain_text(
        "a manager may still accept the return, giving a reason"
    )
    shots(page, "window closed error", tablet=True)
    page.get_by_label("Why accept it after the return window").fill("Loyal customer")
    page.get_by_role("button", name="Open the return").click()
    expect_message(page, "opened.")
    expect(page.locator("dl.facts")).to_contain_text("Loyal customer")
    # The default policy approves nothing at once: the return waits for approval.
    expect(page.get_by_role("heading", level=1)).to_contain_text("Requested")
    expect(page.get_by_role("button", name="Approve")).to_be_visible()
    shots(page, "late return opened")
