"""The purchasing API (shared docs/api.md, "Purchasing"): shapes, codes, filters, 404s,
permissions, and constant query counts on the list."""

import datetime

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from inventory.models import StockLevel
from notifications.models import OutboxMessage
from purchasing.models import PurchaseOrder
from tests.factories import ProductFactory, UserFactory, WarehouseFactory, place

from .conftest import draft, sent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    cache.clear()
    yield
    cache.clear()


def client_for(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def clerk(db):
    call_command("setup_groups", stdout=open("/dev/null", "w"))  # noqa: SIM115
    user = UserFactory(username="clerk", is_staff=True)
    user.groups.add(Group.objects.get(name="Purchasing staff"))
    return client_for(user)


@pytest.fixture
def warehouse_staff(db):
    call_command("setup_groups", stdout=open("/dev/null", "w"))  # noqa: SIM115
    user = UserFactory(username="picker", is_staff=True)
    user.groups.add(Group.objects.get(name="Warehouse staff"))
    return client_for(user)


# --- suppliers --------------------------------------------------------------------------------
def test_supplier_create_read_patch(clerk):
    response = clerk.post(
        "/api/v1/suppliers/",
        {"code": "zeta", "name": "Zeta Hurt", "email": "z@zeta.test", "lead_time_days": 9},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json() == {
        "code": "ZETA",
        "name": "Zeta Hurt",
        "email": "z@zeta.test",
        "currency": "EUR",
        "lead_time_days": 9,
        "address": "",
        "notes": "",
        "is_active": True,
    }
    again = clerk.post(
        "/api/v1/suppliers/", {"code": "ZETA", "name": "x", "email": "x@x.test"}, format="json"
    )
    assert again.status_code == 400
    assert again.json()["code"] == ["A supplier with code ZETA exists already."]
    patched = clerk.patch("/api/v1/suppliers/ZETA/", {"lead_time_days": 3}, format="json")
    assert patched.status_code == 200
    assert patched.json()["lead_time_days"] == 3
    assert clerk.get("/api/v1/suppliers/zeta/").json()["lead_time_days"] == 3
    assert clerk.get("/api/v1/suppliers/").json()["count"] == 1
    missing = clerk.get("/api/v1/suppliers/NOPE/")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"


def test_supplier_products(clerk, supplier, mug):
    ProductFactory(sku="NEW-ONE")
    response = clerk.post(
        "/api/v1/suppliers/ACME/products/",
        {"sku": "new-one", "supplier_sku": "X1", "unit_cost": "2.40", "min_order_quantity": 6},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json() == {
        "sku": "NEW-ONE",
        "supplier_sku": "X1",
        "unit_cost": "2.40",
        "min_order_quantity": 6,
        "pack_size": 1,
        "lead_time_days": None,
        "preferred": False,
    }
    changed = clerk.post(
        "/api/v1/suppliers/ACME/products/",
        {"sku": "NEW-ONE", "unit_cost": "2.10", "lead_time_days": 20},
        format="json",
    )
    assert changed.status_code == 200
    assert changed.json()["lead_time_days"] == 20
    listed = clerk.get("/api/v1/suppliers/ACME/products/").json()
    assert [row["sku"] for row in listed["results"]] == ["MUG-BLUE", "NEW-ONE", "TEE-M"]
    unknown = clerk.post(
        "/api/v1/suppliers/ACME/products/", {"sku": "NOPE", "unit_cost": "1"}, format="json"
    )
    assert unknown.status_code == 400
    assert unknown.json()["code"] == "invalid"
    assert "NOPE" in unknown.json()["sku"][0]


# --- purchase orders --------------------------------------------------------------------------
def test_create_and_read_a_purchase_order(clerk, supplier, warehouse):
    response = clerk.post(
        "/api/v1/purchase-orders/",
        {
            "supplier": "ACME",
            "warehouse": "LDS",
            "lines": [
                {"sku": "MUG-BLUE", "quantity": 4},
                {"sku": "TEE-M", "quantity": 10, "unit_cost": "5.00"},
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    po = PurchaseOrder.objects.get()
    expected = (timezone.localdate() + datetime.timedelta(days=12)).isoformat()
    assert {k: body[k] for k in ("number", "supplier", "warehouse", "status")} == {
        "number": po.number,
        "supplier": "ACME",
        "warehouse": "LDS",
        "status": "draft",
    }
    assert body["expected_at"] == expected
    assert body["currency"] == "EUR"
    assert body["total"] == "64.00"
    assert body["lines"] == [
        {"sku": "MUG-BLUE", "quantity": 4, "quantity_received": 0, "unit_cost": "3.50"},
        {"sku": "TEE-M", "quantity": 10, "quantity_received": 0, "unit_cost": "5.00"},
    ]
    assert clerk.get(f"/api/v1/purchase-orders/{po.number}/").json() == body


def test_create_errors_name_the_problem_with_a_code(clerk, supplier, warehouse):
    ProductFactory(sku="NOT-SOLD")
    response = clerk.post(
        "/api/v1/purchase-orders/",
        {
            "supplier": "ACME",
            "warehouse": "LDS",
            "lines": [{"sku": "NOT-SOLD", "quantity": 1}, {"sku": "TEE-M", "quantity": 2}],
        },
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert "does not sell NOT-SOLD" in body["lines"][0]
    assert "minimum order quantity of 10" in body["lines"][1]
    bad = clerk.post(
        "/api/v1/purchase-orders/",
        {"supplier": "NOPE", "warehouse": "LDS", "lines": [{"sku": "MUG-BLUE", "quantity": 1}]},
        format="json",
    )
    assert bad.status_code == 400
    assert bad.json()["supplier"] == ["Unknown supplier 'NOPE'."]
    assert not PurchaseOrder.objects.exists()


def test_send_receive_close_cancel(clerk, supplier, warehouse, mug, tee):
    po = draft(supplier, warehouse, {mug: 5, tee: 10})
    backordered = place({mug: 2})
    url = f"/api/v1/purchase-orders/{po.number}"
    receive_early = clerk.post(
        f"{url}/receive/", {"lines": [{"sku": "MUG-BLUE", "quantity": 1}]}, format="json"
    )
    assert receive_early.status_code == 409
    assert receive_early.json()["code"] == "not_allowed_now"
    assert receive_early.json()["status"] == "draft"

    sent_response = clerk.post(f"{url}/send/", {}, format="json")
    assert sent_response.status_code == 200
    assert sent_response.json()["status"] == "sent"
    assert OutboxMessage.objects.filter(purpose="purchase_order_sent").count() == 1

    received = clerk.post(
        f"{url}/receive/", {"lines": [{"sku": "mug-blue", "quantity": 3}]}, format="json"
    )
    assert received.status_code == 200, received.json()
    assert received.json()["status"] == "partially_received"
    assert received.json()["filled_orders"] == [backordered.number]
    assert received.json()["lines"][0]["quantity_received"] == 3
    assert StockLevel.objects.get(product=mug, warehouse=warehouse).on_hand == 3

    too_many = clerk.post(
        f"{url}/receive/", {"lines": [{"sku": "MUG-BLUE", "quantity": 3}]}, format="json"
    )
    assert too_many.status_code == 400
    assert too_many.json()["code"] == "invalid"
    assert "only 2 of 5 are still outstanding" in too_many.json()["lines"][0]
    unknown = clerk.post(
        f"{url}/receive/", {"lines": [{"sku": "NOPE", "quantity": 3}]}, format="json"
    )
    assert unknown.status_code == 400

    cancel = clerk.post(f"{url}/cancel/", {}, format="json")
    assert cancel.status_code == 409
    assert cancel.json()["status"] == "partially_received"
    closed = clerk.post(f"{url}/close/", {"reason": "Discontinued"}, format="json")
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"
    after = clerk.post(
        f"{url}/receive/", {"lines": [{"sku": "MUG-BLUE", "quantity": 1}]}, format="json"
    )
    assert after.status_code == 409
    assert after.json()["status"] == "closed"

    other = draft(supplier, warehouse, {mug: 1})
    cancelled = clerk.post(f"/api/v1/purchase-orders/{other.number}/cancel/", {}, format="json")
    assert cancelled.json()["status"] == "cancelled"
    missing = clerk.post("/api/v1/purchase-orders/PO-999999/send/", {}, format="json")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"


def test_list_filters(clerk, supplier, warehouse, mug, tee):
    other_warehouse = WarehouseFactory(code="MAN")
    first = draft(supplier, warehouse, {mug: 1})
    second = sent(supplier, other_warehouse, {tee: 10})
    third = sent(supplier, warehouse, {mug: 2, tee: 10})

    def numbers(query: str) -> list[str]:
        response = clerk.get(f"/api/v1/purchase-orders/{query}")
        assert response.status_code == 200, response.json()
        return [row["number"] for row in response.json()["results"]]

    assert numbers("") == [third.number, second.number, first.number]
    assert numbers("?status=sent") == [third.number, second.number]
    assert numbers("?warehouse=MAN") == [second.number]
    assert numbers("?sku=MUG-BLUE") == [third.number, first.number]
    assert numbers("?supplier=ACME&status=draft") == [first.number]
    assert numbers("?supplier=OTHER") == []
    bad = clerk.get("/api/v1/purchase-orders/?status=nonsense")
    assert bad.status_code == 400
    assert bad.json()["code"] == "invalid"


def test_list_query_count_does_not_grow(clerk, supplier, warehouse, mug, tee):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert clerk.get("/api/v1/purchase-orders/").status_code == 200
        return len(queries)

    draft(supplier, warehouse, {mug: 1})
    few = count()
    for _ in range(5):
        draft(supplier, warehouse, {mug: 3, tee: 10})
    assert count() == few


def test_permissions(warehouse_staff, supplier, warehouse, mug):
    po = draft(supplier, warehouse, {mug: 1})
    assert warehouse_staff.get("/api/v1/suppliers/").status_code == 403
    assert warehouse_staff.get("/api/v1/purchase-orders/").status_code == 403
    denied = warehouse_staff.post(f"/api/v1/purchase-orders/{po.number}/send/", {}, format="json")
    assert denied.status_code == 403
    assert denied.json()["code"] == "permission_denied"
    assert APIClient().get("/api/v1/purchase-orders/").status_code == 401


def test_schema_documents_the_purchasing_endpoints(clerk):
    schema = APIClient().get("/api/v1/schema/?format=json").json()
    paths = schema["paths"]
    for path in (
        "/api/v1/suppliers/",
        "/api/v1/suppliers/{code}/",
        "/api/v1/suppliers/{code}/products/",
        "/api/v1/purchase-orders/",
        "/api/v1/purchase-orders/{number}/",
        "/api/v1/purchase-orders/{number}/receive/",
    ):
        assert path in paths, path
    assert "409" in paths["/api/v1/purchase-orders/{number}/receive/"]["post"]["responses"]


def test_an_expected_date_years_away_is_refused_and_placement_keeps_working(
    clerk, supplier, warehouse, mug
):
    """A mistyped year (9999) used to be accepted, then made every estimate of the waiting
    backorders overflow the calendar: sending the PO and placing orders for its SKUs failed."""
    waiting = place({mug: 3})
    response = clerk.post(
        "/api/v1/purchase-orders/",
        {
            "supplier": "ACME",
            "warehouse": "LDS",
            "expected_at": "9999-12-30",
            "lines": [{"sku": "MUG-BLUE", "quantity": 5}],
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "check the year" in response.json()["expected_at"][0]
    assert not PurchaseOrder.objects.exists()
    assert place({mug: 2}).pk != waiting.pk  # placement is unaffected


def test_the_calendar_stops_at_its_last_day():
    from core.calendar import add_business_days

    last = datetime.date.max
    assert add_business_days(last - datetime.timedelta(days=3), 10) == last
    assert add_business_days(datetime.date(2026, 11, 27), 1) == datetime.date(2026, 11, 30)
