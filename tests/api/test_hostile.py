"""Hostile input against every write endpoint and every list of the API: never a 5xx, nothing saved.

A table of hostile values (NUL, lone surrogate, numbers of 400 digits, ``1e400``, huge strings,
nested lists and objects, wrong types) replaces each value of a valid body in turn; whole bodies
that are not objects or are nested 5,000 levels deep, page numbers past any range and ``%00`` in
paths complete it. NUL and surrogates must be refused with a 400 naming the field; everything else
must answer below 500, and every refusal must leave the row counts unchanged.
PostgreSQL is the run that matters for NUL: it refuses NUL in text, SQLite stores it.
"""

import itertools
import json
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from .conftest import deliver_order, ship_order, token_client

NUL = "ab\x00cd"
SURROGATE = "ab\ud800cd"
TEXT_HOSTILE = [NUL, SURROGATE]
# ``INF`` stands for the JSON literal 1e400 (json.dumps would write "Infinity").
INF = object()
OTHER_HOSTILE = [
    10**400,
    -(10**400),
    INF,
    "x" * 100_000,
    [[["deep"]]],
    {"a": {"b": {}}},
    None,
    True,
    [],
    -1,
    2**40,
]
DEEP = "[" * 5000 + "]" * 5000
DEEP_OBJECT = '{"a":' * 5000 + "1" + "}" * 5000
WHOLE_BODIES = [
    DEEP,
    DEEP_OBJECT,
    '{"customer": ' + DEEP + "}",
    "[]",
    '"text"',
    "null",
    "1e400",
    "not json",
    '{"\\u0000": 1}',
    '{"\\ud800": "x"}',
    '"\\ud800"',
]


COUNTED = [
    "orders.Order",
    "orders.OrderLine",
    "orders.Customer",
    "orders.OrderEvent",
    "inventory.Product",
    "inventory.Warehouse",
    "inventory.StockMovement",
    "fulfillment.Shipment",
    "returns.ReturnRequest",
]


def row_counts() -> dict[str, int]:
    """The rows of every counted table, in one query (it runs twice per hostile request)."""
    tables = [apps.get_model(name)._meta.db_table for name in COUNTED]
    sql = "SELECT " + ", ".join(f'(SELECT COUNT(*) FROM "{table}")' for table in tables)
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return dict(zip(COUNTED, cursor.fetchone(), strict=True))


def dumps(body) -> str:
    def encode(value):
        if value is INF:
            return "__INF__"
        raise TypeError

    text = json.dumps(body, default=encode)
    return text.replace('"__INF__"', "1e400")


def leaves(value, path=()):
    """Every (path, value) of a JSON body that is not an object or a list."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, (*path, index))
    else:
        yield path, value


def replaced(body, path, new):
    body = json.loads(json.dumps(body))
    node = body
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = new
    return body


def error_at(errors, path):
    """The messages at ``path`` of a DRF error body (list indexes as strings), or None."""
    node = errors
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(str(key), node.get(key))
        if node is None:
            return None
    return node


@dataclass
class Write:
    who: str
    path: str
    body: dict


@pytest.fixture
def world(partner, api_staff, stocked, carrier_service, settings):
    """An open order (shipment pending) and a delivered one with a requested return."""
    from returns.services import return_approve, return_receive
    from tests.factories import place, return_inspect, return_request_create

    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"partner": None, "staff": None, "anon": None},
    }
    open_order = place(
        [{"sku": "MUG-BLUE", "quantity": 1}],
        channel_code="partner",
        partner=partner,
        reference="H-1",
    )
    done = place(
        [{"sku": "MUG-BLUE", "quantity": 3}],
        channel_code="partner",
        partner=partner,
        reference="H-2",
    )
    delivered = deliver_order(ship_order(done))

    def rma():
        return return_request_create(
            order=delivered, lines=[{"sku": "MUG-BLUE", "quantity": 1, "reason": "other"}]
        )

    requested = rma()
    received = return_receive(return_request=return_approve(return_request=rma()))
    inspected = return_inspect(
        return_request=return_receive(return_request=return_approve(return_request=rma())),
        lines={"MUG-BLUE": {"sellable": 1, "damaged": 0, "condition": ""}},
        warehouse=stocked,
    )
    shipment = open_order.shipments.get()
    return {
        "partner": token_client(partner.user),
        "staff": token_client(api_staff),
        "order": open_order.number,
        "delivered": delivered.number,
        "shipment": shipment.number,
        "return": requested.number,
        "received": received.number,
        "inspected": inspected.number,
    }


def writes(w) -> list[Write]:
    order, shipment, rma = w["order"], w["shipment"], w["return"]
    received, inspected = w["received"], w["inspected"]
    return [
        Write(
            "staff",
            "/api/v1/products/",
            {"sku": "NEW-1", "name": "New", "unit_price": "1.00", "weight_grams": 100},
        ),
        Write(
            "staff",
            "/api/v1/warehouses/",
            {"code": "NEW", "name": "New", "country": "GB", "latitude": "1.5", "priority": 5},
        ),
        Write(
            "staff",
            "/api/v1/inventory/receipts/",
            {"warehouse": "LDS", "reference": "R-1", "lines": [{"sku": "MUG-BLUE", "quantity": 1}]},
        ),
        Write(
            "partner",
            "/api/v1/orders/",
            {
                "reference": "PO-H",
                "customer": {
                    "name": "Ada",
                    "email": "ada@example.com",
                    "phone": "+44 20 7946 0001",
                },
                "shipping_address": {
                    "line1": "1 High St",
                    "line2": "Flat 2",
                    "city": "Leeds",
                    "postal_code": "LS1 1AA",
                    "country": "GB",
                },
                "lines": [{"sku": "MUG-BLUE", "quantity": 1}],
                "notes": "Leave at the door",
            },
        ),
        Write("partner", f"/api/v1/orders/{order}/cancel/", {"reason": "Changed my mind"}),
        Write("staff", f"/api/v1/orders/{order}/hold/", {"reason": "Check the address"}),
        Write("staff", f"/api/v1/orders/{order}/confirm/", {"reason": "ok"}),
        Write("staff", f"/api/v1/orders/{order}/release/", {"reason": "ok"}),
        Write("staff", f"/api/v1/shipments/{shipment}/pick/", {}),
        Write(
            "staff",
            f"/api/v1/shipments/{shipment}/pack/",
            {
                "lines": [{"sku": "MUG-BLUE", "quantity": 1}],
                "weight_grams": 500,
                "length_cm": 10,
                "carrier": "parcelo",
            },
        ),
        Write(
            "staff",
            f"/api/v1/shipments/{shipment}/ship/",
            {"carrier": "parcelo", "tracking_number": "T-1"},
        ),
        Write(
            "staff",
            f"/api/v1/shipments/{shipment}/deliver/",
            {"delivered_at": "2026-01-02T10:00:00Z"},
        ),
        Write(
            "partner",
            "/api/v1/returns/",
            {
                "order": w["delivered"],
                "lines": [{"sku": "MUG-BLUE", "quantity": 1, "reason": "other", "note": "n"}],
            },
        ),
        Write("staff", f"/api/v1/returns/{rma}/reject/", {"reason": "Outside the policy"}),
        Write("staff", f"/api/v1/returns/{rma}/approve/", {}),
        Write("staff", f"/api/v1/returns/{rma}/receive/", {}),
        Write(
            "staff",
            f"/api/v1/returns/{received}/inspect/",
            {
                "warehouse": "LDS",
                "lines": [{"sku": "MUG-BLUE", "sellable": 1, "damaged": 0, "condition": "fine"}],
            },
        ),
        Write(
            "staff",
            f"/api/v1/returns/{inspected}/refund/",
            {"method": "store_credit", "reference": "x"},
        ),
        Write(
            "staff",
            f"/api/v1/returns/{inspected}/exchange/",
            {"lines": [{"sku": "TEE-M", "quantity": 1}]},
        ),
        Write("staff", f"/api/v1/returns/{rma}/close/", {}),
        Write("staff", f"/api/v1/returns/{rma}/cancel/", {"reason": "ok"}),
    ]


WRITE_NAMES = [
    "product",
    "warehouse",
    "receipt",
    "order",
    "order-cancel",
    "order-hold",
    "order-confirm",
    "order-release",
    "shipment-pick",
    "shipment-pack",
    "shipment-ship",
    "shipment-deliver",
    "return",
    "return-reject",
    "return-approve",
    "return-receive",
    "return-inspect",
    "return-refund",
    "return-exchange",
    "return-close",
    "return-cancel",
]


def post(client: APIClient, path: str, text: str):
    return client.generic("POST", path, text, content_type="application/json")


@pytest.mark.parametrize("index", range(len(WRITE_NAMES)), ids=WRITE_NAMES)
@pytest.mark.django_db
def test_hostile_values_in_every_field_are_refused(world, index):
    write = writes(world)[index]
    client = world[write.who]
    failures = []
    for path, _original in leaves(write.body):
        for value in TEXT_HOSTILE:
            before = row_counts()
            response = post(client, write.path, dumps(replaced(write.body, path, value)))
            if response.status_code in (403, 404, 409) and row_counts() == before:
                continue  # refused before the body was read (permission, state)
            if response.status_code != 400:
                failures.append((path, repr(value), response.status_code, response.content[:300]))
                continue
            if error_at(response.json(), path) is None:
                failures.append((path, repr(value), "error not named", response.json()))
            if row_counts() != before:
                failures.append((path, repr(value), "rows changed"))
        for value in OTHER_HOSTILE:
            before = row_counts()
            response = post(client, write.path, dumps(replaced(write.body, path, value)))
            if response.status_code >= 500:
                failures.append((path, repr(value)[:40], response.status_code, response.content))
            elif response.status_code >= 400 and row_counts() != before:
                failures.append((path, repr(value)[:40], "rows changed on", response.status_code))
    for text in WHOLE_BODIES:
        before = row_counts()
        response = post(client, write.path, text)
        if response.status_code >= 500 or response["Content-Type"] != "application/json":
            failures.append((text[:30], response.status_code, response.content[:200]))
        elif response.status_code >= 400 and row_counts() != before:
            failures.append((text[:30], "rows changed"))
    assert failures == []


@pytest.mark.django_db
def test_nul_in_a_nested_field_names_that_field(world):
    body = {
        "customer": {"name": "Ada\x00", "email": "ada@example.com"},
        "shipping_address": {
            "line1": "1 High St",
            "city": "Leeds",
            "postal_code": "LS1",
            "country": "GB",
        },
        "lines": [{"sku": "MUG-BLUE", "quantity": 1}, {"sku": "TEE\ud800", "quantity": 1}],
    }
    before = row_counts()
    response = post(world["partner"], "/api/v1/orders/", dumps(body))
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "customer": {"name": ["Contains a NUL character; remove it."]},
        "lines": {
            "1": {
                "sku": [
                    "Contains an unpaired surrogate or bytes that are not UTF-8 (not valid "
                    "text); remove it."
                ]
            }
        },
    }
    assert row_counts() == before


@pytest.mark.django_db
def test_json_nested_5000_levels_is_a_400(world):
    response = post(world["partner"], "/api/v1/orders/", DEEP)
    assert response.status_code == 400
    assert "nested more than 32 levels" in response.json()["detail"]


LISTS = [
    ("partner", "/api/v1/products/"),
    ("partner", "/api/v1/orders/"),
    ("partner", "/api/v1/returns/"),
    ("staff", "/api/v1/products/"),
    ("staff", "/api/v1/orders/"),
    ("staff", "/api/v1/warehouses/"),
    ("staff", "/api/v1/inventory/stock/"),
    ("staff", "/api/v1/events/"),
    ("staff", "/api/v1/shipments/"),
    ("staff", "/api/v1/returns/"),
]
QUERIES = [
    "page=9223372036854775807",
    "page=99999999999999999999999999",
    "page=-1",
    "page=0",
    "page=1e400",
    "page=last&page_size=-5",
    "page_size=-5",
    "page_size=9223372036854775807",
    "page=2&page_size=100000000000000000000",
    "status=%00",
    "search=ab%00",
    "sku=%00",
    "order=SO%00",
    "q=%ED%A0%80",
    "%00=1",
]


@pytest.mark.django_db
def test_lists_answer_hostile_queries_without_error(world):
    failures = []
    for (who, path), query in itertools.product(LISTS, QUERIES):
        response = world[who].get(f"{path}?{query}")
        if response.status_code not in (200, 400, 404) or "json" not in response["Content-Type"]:
            failures.append((path, query, response.status_code, response.content[:200]))
    assert failures == []


@pytest.mark.django_db
def test_a_page_past_any_range_is_invalid_page(world):
    for who, path in itertools.product(
        ["partner", "staff"], ["/api/v1/orders/", "/api/v1/products/"]
    ):
        response = world[who].get(f"{path}?page=9223372036854775807")
        assert response.status_code == 404, (who, path)
        assert response.json() == {"code": "not_found", "detail": "Invalid page."}


NUL_PATHS = [
    ("get", "/api/v1/orders/SO%00/"),
    ("get", "/api/v1/products/MUG%00/"),
    ("get", "/api/v1/shipments/SH%00/"),
    ("get", "/api/v1/returns/RMA%00/"),
    ("get", "/api/v1/warehouses/L%00/"),
    ("post", "/api/v1/orders/SO%00/cancel/"),
    ("post", "/api/v1/shipments/SH%00/pick/"),
    ("post", "/api/v1/returns/RMA%00/approve/"),
]


@pytest.mark.django_db
def test_nul_in_a_path_is_a_json_404(world):
    for method, path in NUL_PATHS:
        response = getattr(world["staff"], method)(path)
        assert response.status_code == 404, path
        assert response.json() == {"code": "not_found", "detail": "Not found."}


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
@pytest.mark.django_db
def test_writes_to_unknown_paths_are_a_json_404_not_a_csrf_403(partner, method):
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(**token_client(partner.user)._credentials)
    response = getattr(client, method)("/api/v1/no-such-thing/", {"a": 1}, format="json")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "Not found."}


@pytest.mark.django_db
def test_a_body_over_the_upload_limit_is_a_json_413(world, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2_000
    before = row_counts()
    body = dumps(
        {
            "customer": {"name": "Ada", "email": "ada@example.com"},
            "shipping_address": {"line1": "1", "city": "L", "postal_code": "1", "country": "GB"},
            "lines": [{"sku": "MUG-BLUE", "quantity": 1}],
            "notes": "x" * 3_000,
        }
    )
    response = post(world["partner"], "/api/v1/orders/", body)
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert "2,000 bytes" in response.json()["detail"]
    assert row_counts() == before


@pytest.mark.django_db
def test_a_back_office_body_over_the_upload_limit_is_a_413_page(world, settings, admin_user):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2_000
    client = Client()
    client.force_login(admin_user)
    response = client.post("/orders/new/", {"notes": "x" * 3_000})
    assert response.status_code == 413
    assert b"larger than the 2,000 bytes" in response.content


@pytest.mark.django_db
def test_unknown_warehouse_country_is_refused(world):
    response = world["staff"].post(
        "/api/v1/warehouses/", {"code": "ZZZ", "name": "Nowhere", "country": "ZZ"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "country": ["'ZZ' is not an ISO 3166-1 alpha-2 country code."],
    }
    response = world["staff"].post(
        "/api/v1/warehouses/", {"code": "FRA", "name": "Paris", "country": "fr"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["country"] == "FR"


@pytest.mark.django_db
def test_the_admin_refuses_an_unknown_warehouse_country(admin_client):
    from inventory.models import Warehouse

    response = admin_client.post(
        "/admin/inventory/warehouse/add/",
        {"code": "ZZZ", "name": "Nowhere", "country": "ZZ", "priority": 1, "is_active": "on"},
    )
    assert response.status_code == 200
    assert "is not an ISO 3166-1 alpha-2 country code" in response.content.decode()
    assert not Warehouse.objects.filter(code="ZZZ").exists()
