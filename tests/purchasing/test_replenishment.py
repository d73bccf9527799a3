"""Replenishment (issue #14): suggestions computed by hand, the API, the page and its one-click
draft purchase orders, the query count, the low-stock alert's reorder point.

The world (28 demand days, 7 safety days; ACME sells MUG-BLUE with lead 10 days, MOQ 20, pack 5,
preferred; BETA sells it cheaper, not preferred; ACME sells PLATE-WHITE with its own lead time 10
days (ACME's is 4), MOQ 12, pack 5):

LDS (Leeds, GB), MUG-BLUE: 46 received; an order of 30 shipped; an order of 12 reserved; a GB
order of 14 reserves the last 4 and backorders 10. A draft from BETA brings 8.
  demand = 30 shipped + 12 + 4 reserved + 10 backordered (placed now) = 56 → 2.00 a day
  reorder point = ceil(2 × (10 + 7)) = 34
  position = available 0 + on order 8 − backordered 10 = −2 → need 36 → MOQ 20 → packs of 5: 40
  days of cover = 0 / 2 = 0.0
LDS, PLATE-WHITE: 9 received, an order of 7 shipped → available 2.
  demand = 7 → 0.25 a day; reorder point = ceil(0.25 × 17) = ceil(4.25) = 5
  position 2 → need 3 → MOQ 12 → packs of 5: 15; days of cover = 2 / 0.25 = 8.0
BER (Berlin, DE), MUG-BLUE: 50 received, nothing sold → nothing to suggest.
"""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from inventory.models import Product, StockLevel, Warehouse
from orders.models import OrderStatus
from purchasing.models import PurchaseOrder, PurchaseOrderStatus, Supplier, SupplierProduct
from purchasing.replenishment import (
    reorder_points,
    replenishment_orders_create,
    replenishment_suggestions,
    suggested_quantity,
)
from purchasing.services import PurchaseOrderLineInput, purchase_order_create
from tests.factories import ProductFactory, UserFactory, WarehouseFactory, place, receive
from tests.returns.conftest import ship

URL = "/api/v1/inventory/replenishment/"
PAGE = "/purchasing/replenishment/"


@pytest.fixture
def world(db, settings):
    settings.OMS_REPLENISHMENT_DEMAND_DAYS = 28
    settings.OMS_REPLENISHMENT_SAFETY_DAYS = 7
    leeds = WarehouseFactory(code="LDS", name="Leeds", country="GB", priority=1)
    berlin = WarehouseFactory(
        code="BER",
        name="Berlin",
        country="DE",
        latitude=Decimal("52.52"),
        longitude=Decimal("13.405"),
        priority=2,
    )
    mug = ProductFactory(sku="MUG-BLUE", name="Blue mug")
    plate = ProductFactory(sku="PLATE-WHITE", name="White plate")
    acme = Supplier.objects.create(
        code="ACME", name="Acme Ceramics", email="po@acme.example", lead_time_days=4
    )
    beta = Supplier.objects.create(
        code="BETA", name="Beta Pottery", email="po@beta.example", lead_time_days=2
    )
    SupplierProduct.objects.create(
        supplier=acme,
        product=mug,
        unit_cost=Decimal("3.00"),
        min_order_quantity=20,
        pack_size=5,
        preferred=True,
    )
    SupplierProduct.objects.create(
        supplier=acme,
        product=plate,
        unit_cost=Decimal("2.00"),
        min_order_quantity=12,
        pack_size=5,
        lead_time_days=10,
    )
    SupplierProduct.objects.create(supplier=beta, product=mug, unit_cost=Decimal("2.50"))
    acme.lead_time_days = 10  # MUG-BLUE has no lead time of its own: ACME's
    acme.save()

    receive(leeds, {mug: 46, plate: 9})
    receive(berlin, {mug: 50})
    # Stock in BER must not serve the GB orders below: ship LDS's first, then empty it.
    ship(place({mug: 30}))
    ship(place({plate: 7}))
    reserved = place({mug: 12})
    assert reserved.status == OrderStatus.ALLOCATED
    return {
        "leeds": leeds,
        "berlin": berlin,
        "mug": mug,
        "plate": plate,
        "acme": acme,
        "beta": beta,
    }


@pytest.fixture
def backordered(world):
    """A GB order of 14 MUG-BLUE with 4 left in Leeds and 50 in Berlin: BER is taken out of
    play (inactive) while it is placed, so 4 are reserved in Leeds and 10 wait."""
    Warehouse.objects.filter(code="BER").update(is_active=False)
    order = place({world["mug"]: 14})
    Warehouse.objects.filter(code="BER").update(is_active=True)
    assert order.status == OrderStatus.BACKORDERED
    line = order.lines.get()
    assert (line.quantity_allocated, line.quantity_backordered) == (4, 10)
    purchase_order_create(
        supplier="BETA", warehouse="LDS", lines=[PurchaseOrderLineInput("MUG-BLUE", 8)]
    )
    return order


def _row(rows, sku, warehouse):
    return next(r for r in rows if r.sku == sku and r.warehouse == warehouse)


def test_suggestions_computed_by_hand(backordered):
    rows = replenishment_suggestions()
    assert [(r.supplier, r.warehouse, r.sku) for r in rows] == [
        ("ACME", "LDS", "MUG-BLUE"),
        ("ACME", "LDS", "PLATE-WHITE"),
    ]
    mug = _row(rows, "MUG-BLUE", "LDS")
    assert (mug.on_hand, mug.reserved, mug.available) == (16, 16, 0)
    assert (mug.on_order, mug.backordered, mug.demand_units) == (8, 10, 56)
    assert mug.daily_demand == Decimal("2.00")
    assert mug.supply.lead_time_days == 10
    assert mug.reorder_point == 34
    assert mug.suggested_quantity == 40
    assert mug.days_of_cover == Decimal("0.0")

    plate = _row(rows, "PLATE-WHITE", "LDS")
    assert (plate.available, plate.on_order, plate.backordered) == (2, 0, 0)
    assert plate.daily_demand == Decimal("0.25")
    assert plate.reorder_point == 5
    assert plate.suggested_quantity == 15
    assert plate.days_of_cover == Decimal("8.0")


def test_every_row_and_the_quiet_warehouse(backordered):
    rows = replenishment_suggestions(only_needed=False)
    berlin = _row(rows, "MUG-BLUE", "BER")
    assert (berlin.available, berlin.demand_units, berlin.backordered) == (50, 0, 0)
    assert berlin.reorder_point == 0 and berlin.suggested_quantity == 0
    assert berlin.days_of_cover is None


def test_on_order_counts_draft_sent_and_partly_received_not_closed_or_cancelled(backordered):
    mug = _row(replenishment_suggestions(), "MUG-BLUE", "LDS")
    assert mug.on_order == 8
    # 12 more on a sent ACME order for Leeds: position 0 + 20 − 10 = 10 → need 24 → 25.
    detail = purchase_order_create(
        supplier="ACME", warehouse="LDS", lines=[PurchaseOrderLineInput("MUG-BLUE", 20)]
    )
    mug = _row(replenishment_suggestions(), "MUG-BLUE", "LDS")
    assert mug.on_order == 28 and mug.suggested_quantity == 20  # need 16 → MOQ 20
    # A cancelled one no longer counts; nor does one for another warehouse.
    from purchasing.services import purchase_order_cancel

    purchase_order_cancel(purchase_order=detail.purchase_order)
    purchase_order_create(
        supplier="ACME", warehouse="BER", lines=[PurchaseOrderLineInput("MUG-BLUE", 20)]
    )
    assert _row(replenishment_suggestions(), "MUG-BLUE", "LDS").on_order == 8


def test_cancelled_quantities_are_no_demand(backordered, world):
    from orders.services import order_cancel

    order_cancel(order=backordered)
    mug = _row(replenishment_suggestions(only_needed=False), "MUG-BLUE", "LDS")
    # 30 shipped + 12 reserved; the cancelled order's 4 reserved and 10 backordered are gone.
    assert (mug.demand_units, mug.backordered, mug.available) == (42, 0, 4)
    assert mug.reorder_point == 26  # ceil(1.5 × 17) = ceil(25.5)


def test_the_demand_window(backordered):
    import datetime

    from django.utils import timezone

    later = timezone.now() + datetime.timedelta(days=29)
    mug = _row(replenishment_suggestions(only_needed=False, now=later), "MUG-BLUE", "LDS")
    # A month on, nothing shipped, reserved or ordered within the window: no demand.
    assert mug.demand_units == 0 and mug.reorder_point == 0
    assert mug.backordered == 10  # still waiting: 0 + 8 − 10 = −2 → MOQ 20
    assert mug.suggested_quantity == 20


def test_a_manual_reorder_point_wins(backordered, world):
    StockLevel.objects.filter(product=world["plate"], warehouse=world["leeds"]).update(
        reorder_point=20
    )
    plate = _row(replenishment_suggestions(), "PLATE-WHITE", "LDS")
    assert plate.reorder_point == 20 and plate.suggested_quantity == 20  # need 18 → 20


def test_rounding():
    assert suggested_quantity(reorder_point=10, position=10) == 0
    assert suggested_quantity(reorder_point=10, position=3) == 7
    assert suggested_quantity(reorder_point=10, position=3, min_order_quantity=12) == 12
    assert suggested_quantity(reorder_point=10, position=3, pack_size=6) == 12
    assert (
        suggested_quantity(reorder_point=30, position=3, min_order_quantity=20, pack_size=6) == 30
    )


def test_filters(backordered):
    assert {r.sku for r in replenishment_suggestions(warehouse="lds")} == {
        "MUG-BLUE",
        "PLATE-WHITE",
    }
    assert replenishment_suggestions(warehouse="BER") == []
    assert replenishment_suggestions(warehouse="NOPE") == []
    assert replenishment_suggestions(supplier="BETA") == []
    assert len(replenishment_suggestions(supplier="acme")) == 2


def test_the_query_count_does_not_grow_with_skus(backordered, world):
    def count():
        with CaptureQueriesContext(connection) as queries:
            replenishment_suggestions(only_needed=False)
        return len(queries)

    before = count()
    for i in range(30):
        product = ProductFactory(sku=f"EXTRA-{i}")
        SupplierProduct.objects.create(
            supplier=world["acme"], product=product, unit_cost=Decimal("1.00")
        )
        receive(world["leeds"], {product: 5})
        receive(world["berlin"], {product: 5})
    ship(place({Product.objects.get(sku="EXTRA-0"): 2}))
    assert count() == before


# --- the API -----------------------------------------------------------------------------------
def _api(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def clerk(db):
    call_command("setup_groups", stdout=open("/dev/null", "w"))  # noqa: SIM115
    user = UserFactory(username="clerk", is_staff=True)
    user.groups.add(Group.objects.get(name="Purchasing staff"))
    return user


def test_api_shape(backordered, clerk):
    response = _api(clerk).get(URL)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert body["results"][0] == {
        "sku": "MUG-BLUE",
        "warehouse": "LDS",
        "available": 0,
        "on_order": 8,
        "backordered": 10,
        "daily_demand": "2.00",
        "days_of_cover": "0.0",
        "reorder_point": 34,
        "suggested_quantity": 40,
        "supplier": "ACME",
    }
    assert body["results"][1]["days_of_cover"] == "8.0"


def test_api_filters_and_pages(backordered, clerk):
    client = _api(clerk)
    assert client.get(URL, {"warehouse": "BER"}).json()["count"] == 0
    assert client.get(URL, {"warehouse": "LDS"}).json()["count"] == 2
    assert client.get(URL, {"supplier": "BETA"}).json()["count"] == 0
    page = client.get(URL, {"supplier": "ACME", "page_size": 1}).json()
    assert page["count"] == 2 and len(page["results"]) == 1 and page["next"]


def test_api_needs_purchasing_staff(backordered):
    call_command("setup_groups", stdout=open("/dev/null", "w"))  # noqa: SIM115
    floor = UserFactory(username="floor", is_staff=True)
    floor.groups.add(Group.objects.get(name="Warehouse staff"))
    assert _api(floor).get(URL).status_code == 403
    assert APIClient().get(URL).status_code == 401


# --- the page and its one click ----------------------------------------------------------------
def test_the_page_groups_by_supplier(backordered, clerk, client):
    client.force_login(clerk)
    html = client.get(PAGE).content.decode()
    assert "ACME – Acme Ceramics" in html
    assert "Create draft POs" in html
    assert html.index("MUG-BLUE") < html.index("PLATE-WHITE")


def test_one_click_creates_one_draft_per_supplier_and_warehouse(backordered, clerk, client):
    client.force_login(clerk)
    before = set(PurchaseOrder.objects.values_list("number", flat=True))
    response = client.post(PAGE, {"warehouse": "", "supplier": ""}, follow=True)
    assert response.status_code == 200
    created = PurchaseOrder.objects.exclude(number__in=before)
    assert created.count() == 1
    po = created.get()
    assert (po.supplier.code, po.warehouse.code, po.status) == ("ACME", "LDS", "draft")
    assert sorted(po.lines.values_list("product__sku", "quantity")) == [
        ("MUG-BLUE", 40),
        ("PLATE-WHITE", 15),
    ]
    html = response.content.decode()
    assert po.number in html and "Draft purchase orders created" in html
    # Drafts count as on order: nothing is left to suggest, and a second click creates nothing.
    assert replenishment_suggestions() == []
    client.post(PAGE, {})
    assert PurchaseOrder.objects.exclude(number__in=before).count() == 1


def test_one_draft_per_warehouse(backordered, world):
    # Berlin sells too now: 45 of its 50 shipped in the window. Reorder point
    # ceil(45 / 28 × 17) = 28, available 5: 23 → MOQ 20 → 25.
    Warehouse.objects.filter(code="LDS").update(is_active=False)
    ship(place({world["mug"]: 45}, country="DE"))
    Warehouse.objects.filter(code="LDS").update(is_active=True)
    created = replenishment_orders_create()
    assert sorted(
        (d.purchase_order.supplier.code, d.purchase_order.warehouse.code) for d in created
    ) == [
        ("ACME", "BER"),
        ("ACME", "LDS"),
    ]
    assert all(d.purchase_order.status == PurchaseOrderStatus.DRAFT for d in created)
    berlin = next(d for d in created if d.purchase_order.warehouse.code == "BER")
    assert [(line.product.sku, line.quantity) for line in berlin.lines] == [("MUG-BLUE", 25)]


def test_the_page_is_for_purchasing_staff(backordered, client):
    call_command("setup_groups", stdout=open("/dev/null", "w"))  # noqa: SIM115
    floor = UserFactory(username="floor", is_staff=True)
    floor.groups.add(Group.objects.get(name="Warehouse staff"))
    client.force_login(floor)
    assert client.get(PAGE).status_code == 403
    assert client.post(PAGE, {}).status_code == 403


# --- the low-stock alert -------------------------------------------------------------------------
def test_reorder_points_for_the_alert(backordered, world):
    points = reorder_points()
    assert points[world["mug"].pk, world["leeds"].pk] == 34
    assert points[world["plate"].pk, world["leeds"].pk] == 5
    assert points[world["mug"].pk, world["berlin"].pk] == 0


def test_the_low_stock_sweep_uses_the_computed_reorder_point(
    backordered, world, settings, mailoutbox, django_capture_on_commit_callbacks
):
    from notifications.services import low_stock_sweep

    settings.OMS_STAFF_ALERT_EMAIL = "ops@example.com"
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert low_stock_sweep() == 2  # no manual reorder points: the computed ones
    bodies = {m.subject: m.body for m in mailoutbox if m.to == ["ops@example.com"]}
    assert set(bodies) == {
        "[OMS] Low stock: MUG-BLUE at LDS",
        "[OMS] Low stock: PLATE-WHITE at LDS",
    }
    assert "reorder point 5 (from recent demand)" in bodies["[OMS] Low stock: PLATE-WHITE at LDS"]
    # Berlin (no demand) is not low; a manual reorder point still wins.
    StockLevel.objects.filter(product=world["mug"], warehouse=world["berlin"]).update(
        reorder_point=60
    )
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        low_stock_sweep()
    # The two above were sent today already: only Berlin's (50 ≤ 60) goes.
    assert [m.subject for m in mailoutbox] == ["[OMS] Low stock: MUG-BLUE at BER"]
