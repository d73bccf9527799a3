"""Statement counts of the hot paths (issue 7): placement, the API's POST, the backorder fill.

They must not grow with the number of rows; the numbers are today's, so a change that adds
round trips to placement shows up here (docs/benchmarks.md)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from orders.models import OrderStatus
from tests.factories import (
    ADDRESS_GB,
    PartnerFactory,
    ProductFactory,
    WarehouseFactory,
    channel,
    place,
    receive,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def stocked():
    warehouse = WarehouseFactory(code="LDS")
    products = [ProductFactory(sku=f"QC-{n}") for n in range(3)]
    receive(warehouse, dict.fromkeys(products, 1000))
    return products


def _statements(fn):
    with CaptureQueriesContext(connection) as ctx:
        result = fn()
    return result, [q["sql"] for q in ctx.captured_queries]


def test_placement_statements(stocked):
    place({stocked[0]: 1})  # warm the customer row and caches as a repeat customer would
    order, sql = _statements(lambda: place(dict.fromkeys(stocked, 2)))
    assert order.status == OrderStatus.ALLOCATED
    assert order.shipments.count() == 1
    # 33 before issue 7's changes, 23 after the first round (plus the helper's channel look-up).
    assert len(sql) <= 16, "\n".join(sql)


def test_api_post_statements(stocked):
    for code in ("web", "partner"):
        channel(code)
    partner = PartnerFactory(name="QC Partner")
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=partner.user)[0].key}"
    )
    body = {
        "customer": {"name": "Ada Park", "email": "ada@example.com", "phone": ""},
        "shipping_address": ADDRESS_GB,
        "lines": [{"sku": p.sku, "quantity": 2} for p in stocked],
    }
    client.post("/api/v1/orders/", {**body, "reference": "warm"}, format="json")
    response, sql = _statements(
        lambda: client.post(
            "/api/v1/orders/",
            {**body, "reference": "R-2"},
            format="json",
            HTTP_IDEMPOTENCY_KEY="k-2",
        )
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["status"] == "allocated"
    assert [line["quantity_allocated"] for line in data["lines"]] == [2, 2, 2]
    assert [s["warehouse"] for s in data["shipments"]] == ["LDS"]
    assert data["number"].startswith("SO-0")
    assert len(sql) <= 18, "\n".join(sql)  # 49 before issue 7, 34 after the first round


def _fill_statements(orders: int) -> tuple[int, list]:
    warehouse = WarehouseFactory(code=f"F{orders}")
    products = [ProductFactory(sku=f"FILL-{orders}-{n}") for n in range(2)]
    placed = [
        place({products[0]: 2, products[1]: 1}, email=f"f{orders}-{n}@example.com")
        for n in range(orders)
    ]
    assert all(order.status == OrderStatus.BACKORDERED for order in placed)
    # Enough for all but the newest order, which gets part of it.
    _, sql = _statements(
        lambda: receive(warehouse, {products[0]: 2 * orders - 1, products[1]: orders})
    )
    for order in placed:
        order.refresh_from_db()
    return len(sql), placed


def test_backorder_fill_statements_do_not_grow_with_orders():
    small, _ = _fill_statements(2)
    large, placed = _fill_statements(12)
    assert large == small
    assert [o.status for o in placed] == [OrderStatus.ALLOCATED] * 11 + [OrderStatus.BACKORDERED]
    assert all(order.shipments.count() == 1 for order in placed[:11])
    assert not placed[-1].shipments.exists()
    newest = placed[-1].lines.order_by("pk")
    assert [line.quantity_allocated for line in newest] == [1, 1]
