"""Catalogue, warehouses, stock levels and stock receipts through the API."""

from decimal import Decimal

import pytest

from inventory.models import Product, StockLevel, Warehouse
from tests.factories import ProductFactory, WarehouseFactory, place, receive

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/products/"
WAREHOUSES = "/api/v1/warehouses/"
RECEIPTS = "/api/v1/inventory/receipts/"
STOCK = "/api/v1/inventory/stock/"


# --- products ----------------------------------------------------------------------------------
def test_catalogue_shows_availability_over_active_warehouses(partner_client, stocked, mug):
    closed = WarehouseFactory(code="OLD", is_active=True)
    receive(closed, {mug: 100})
    Warehouse.objects.filter(pk=closed.pk).update(is_active=False)
    spare = WarehouseFactory(code="MAN", country="GB")
    receive(spare, {mug: 5})
    place({mug: 3})

    response = partner_client.get(PRODUCTS)

    assert response.status_code == 200
    items = {item["sku"]: item for item in response.json()["results"]}
    assert items["MUG-BLUE"] == {
        "sku": "MUG-BLUE",
        "name": "Blue mug",
        "unit_price": "9.90",
        "currency": "EUR",
        "weight_grams": 250,
        "available": 12,
    }
    assert items["TEE-M"]["available"] == 1


def test_product_detail_lists_warehouses(partner_client, stocked, mug):
    spare = WarehouseFactory(code="MAN", country="GB", priority=200)
    receive(spare, {mug: 5})

    response = partner_client.get(f"{PRODUCTS}MUG-BLUE/")

    assert response.status_code == 200
    body = response.json()
    assert body["available"] == 15
    assert body["warehouses"] == [
        {"code": "LDS", "available": 10},
        {"code": "MAN", "available": 5},
    ]


def test_product_filters_and_inactive_products(partner_client, staff_client, stocked):
    ProductFactory(sku="OLD-MUG", name="Retired mug", is_active=False)

    def skus(api, query):
        return [p["sku"] for p in api.get(PRODUCTS + query).json()["results"]]

    assert skus(partner_client, "?sku=TEE-M") == ["TEE-M"]
    assert skus(partner_client, "?search=mug") == ["MUG-BLUE"]
    assert skus(partner_client, "?search=tee") == ["TEE-M"]
    assert skus(staff_client, "?search=mug") == ["MUG-BLUE", "OLD-MUG"]
    assert partner_client.get(f"{PRODUCTS}OLD-MUG/").status_code == 404
    assert partner_client.get(f"{PRODUCTS}NOPE/").status_code == 404


def test_product_list_query_count_does_not_grow(
    partner_client, stocked, django_assert_max_num_queries
):
    with django_assert_max_num_queries(8) as small:
        partner_client.get(PRODUCTS)
    for i in range(30):
        ProductFactory(sku=f"X-{i}")
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert partner_client.get(PRODUCTS).json()["count"] == 32


def test_staff_creates_a_product(staff_client):
    response = staff_client.post(
        PRODUCTS,
        {"sku": "LAMP-1", "name": "Desk lamp", "unit_price": "24.50", "weight_grams": 900},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json() == {
        "sku": "LAMP-1",
        "name": "Desk lamp",
        "unit_price": "24.50",
        "currency": "EUR",
        "weight_grams": 900,
        "available": 0,
    }
    assert Product.objects.get(sku="LAMP-1").unit_price == Decimal("24.50")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "No sku", "unit_price": "1.00"}, "sku"),
        ({"sku": "MUG-BLUE", "name": "Dup", "unit_price": "1.00"}, "sku"),
        ({"sku": "A B", "name": "Space", "unit_price": "1.00"}, "sku"),
        ({"sku": "P-1", "name": "Neg", "unit_price": "-1.00"}, "unit_price"),
        ({"sku": "P-1", "name": "Cur", "unit_price": "1.00", "currency": "EURO"}, "currency"),
        ({"sku": "P-1", "name": "", "unit_price": "1.00"}, "name"),
    ],
)
def test_invalid_product_is_400(staff_client, mug, body, field):
    response = staff_client.post(PRODUCTS, body, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_product_creation_needs_staff_with_permission(partner_client, bare_staff_client):
    body = {"sku": "LAMP-1", "name": "Desk lamp", "unit_price": "24.50"}
    assert partner_client.post(PRODUCTS, body, format="json").status_code == 403
    assert bare_staff_client.post(PRODUCTS, body, format="json").status_code == 403
    assert not Product.objects.filter(sku="LAMP-1").exists()


# --- warehouses -----------------------------------------------------------------------------------
def test_staff_lists_and_creates_warehouses(staff_client, warehouse):
    response = staff_client.post(
        WAREHOUSES,
        {
            "code": "MAN",
            "name": "Manchester",
            "country": "gb",
            "latitude": "53.48",
            "longitude": "-2.24",
            "priority": 50,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["country"] == "GB"
    codes = [w["code"] for w in staff_client.get(WAREHOUSES).json()["results"]]
    assert codes == ["MAN", "LDS"]
    assert staff_client.get(f"{WAREHOUSES}MAN/").json()["name"] == "Manchester"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"code": "LDS", "name": "Dup", "country": "GB"}, "code"),
        ({"code": "X1", "name": "Bad", "country": "GBR"}, "country"),
        ({"code": "X1", "name": "Lat", "country": "GB", "latitude": "123"}, "latitude"),
        ({"name": "No code", "country": "GB"}, "code"),
    ],
)
def test_invalid_warehouse_is_400(staff_client, warehouse, body, field):
    response = staff_client.post(WAREHOUSES, body, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_warehouses_are_staff_only(partner_client, bare_staff_client, warehouse):
    assert partner_client.get(WAREHOUSES).status_code == 403
    assert bare_staff_client.get(WAREHOUSES).status_code == 200
    body = {"code": "MAN", "name": "Manchester", "country": "GB"}
    assert bare_staff_client.post(WAREHOUSES, body, format="json").status_code == 403


# --- receipts and stock ---------------------------------------------------------------------------
def test_receipt_books_stock_and_fills_backorders(staff_client, warehouse, mug):
    waiting = place({mug: 3})
    assert waiting.status == "backordered"

    response = staff_client.post(
        RECEIPTS,
        {"warehouse": "LDS", "lines": [{"sku": "MUG-BLUE", "quantity": 5}], "reference": "DN-1"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json() == {
        "warehouse": "LDS",
        "reference": "DN-1",
        "lines": [{"sku": "MUG-BLUE", "quantity": 5, "on_hand": 5}],
        "orders_filled": [waiting.number],
    }
    waiting.refresh_from_db()
    assert waiting.status == "allocated"
    level = StockLevel.objects.get(product=mug, warehouse=warehouse)
    assert (level.on_hand, level.reserved) == (5, 3)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"warehouse": "NOPE", "lines": [{"sku": "MUG-BLUE", "quantity": 1}]}, "warehouse"),
        ({"warehouse": "LDS", "lines": [{"sku": "NOPE", "quantity": 1}]}, "lines"),
        ({"warehouse": "LDS", "lines": [{"sku": "MUG-BLUE", "quantity": 0}]}, "lines"),
        ({"warehouse": "LDS", "lines": []}, "lines"),
        ({"lines": [{"sku": "MUG-BLUE", "quantity": 1}]}, "warehouse"),
    ],
)
def test_invalid_receipt_is_400_and_books_nothing(staff_client, warehouse, mug, body, field):
    response = staff_client.post(RECEIPTS, body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not StockLevel.objects.filter(on_hand__gt=0).exists()


def test_receipt_into_inactive_warehouse_is_400(staff_client, warehouse, mug):
    Warehouse.objects.filter(pk=warehouse.pk).update(is_active=False)
    body = {"warehouse": "LDS", "lines": [{"sku": "MUG-BLUE", "quantity": 1}]}
    response = staff_client.post(RECEIPTS, body, format="json")
    assert response.status_code == 400
    assert "warehouse" in response.json()


def test_receipts_need_staff_with_permission(partner_client, bare_staff_client, warehouse, mug):
    body = {"warehouse": "LDS", "lines": [{"sku": "MUG-BLUE", "quantity": 1}]}
    assert partner_client.post(RECEIPTS, body, format="json").status_code == 403
    assert bare_staff_client.post(RECEIPTS, body, format="json").status_code == 403
    assert not StockLevel.objects.filter(on_hand__gt=0).exists()


def test_stock_levels(staff_client, partner_client, stocked, mug):
    place({mug: 4})
    response = staff_client.get(STOCK + "?sku=MUG-BLUE")
    assert response.status_code == 200
    assert response.json()["results"] == [
        {
            "sku": "MUG-BLUE",
            "warehouse": "LDS",
            "on_hand": 10,
            "reserved": 4,
            "available": 6,
            "reorder_point": 0,
        }
    ]
    assert staff_client.get(STOCK + "?warehouse=LDS").json()["count"] == 2
    assert staff_client.get(STOCK + "?warehouse=NOPE").json()["count"] == 0
    assert partner_client.get(STOCK).status_code == 403
