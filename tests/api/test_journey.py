"""A partner's whole journey through the API, with a staff token doing the warehouse's work:
catalogue and stock set up, order placed, picked, packed, shipped, delivered, returned,
inspected and refunded — every step through HTTP, as partners and integrations do it."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from fulfillment.models import Carrier, CarrierService
from inventory.models import StockLevel

from .conftest import order_body

pytestmark = pytest.mark.django_db

API = "/api/v1"


def ok(response, code=200) -> dict:
    assert response.status_code == code, (response.status_code, response.content[:2000])
    return response.json()


@pytest.fixture
def carrier(db):
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
        transit_days=2,
    )
    return parcelo


@pytest.fixture
def partner_api(channels):
    out = StringIO()
    call_command("create_partner", "Journey Market", stdout=out)
    token = out.getvalue().strip().splitlines()[-1]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_partner_journey_from_catalogue_to_refund(staff_client, partner_api, carrier):
    staff = staff_client

    # --- staff: warehouse, products, stock -------------------------------------------------------
    ok(
        staff.post(
            f"{API}/warehouses/",
            {"code": "LDS", "name": "Leeds", "country": "GB", "priority": 1},
            format="json",
        ),
        201,
    )
    for sku, name in (("MUG-BLUE", "Blue mug"), ("TEE-M", "T-shirt M")):
        ok(
            staff.post(
                f"{API}/products/",
                {"sku": sku, "name": name, "unit_price": "9.90", "weight_grams": 300},
                format="json",
            ),
            201,
        )
    receipt = ok(
        staff.post(
            f"{API}/inventory/receipts/",
            {
                "warehouse": "LDS",
                "lines": [{"sku": "MUG-BLUE", "quantity": 5}, {"sku": "TEE-M", "quantity": 3}],
            },
            format="json",
        ),
        201,
    )
    assert [line["on_hand"] for line in receipt["lines"]] == [5, 3]

    # --- partner: availability, then an idempotent order -----------------------------------------
    mug = ok(partner_api.get(f"{API}/products/MUG-BLUE/"))
    assert mug["available"] == 5
    assert mug["warehouses"] == [{"code": "LDS", "available": 5}]

    body = order_body()
    placed = ok(
        partner_api.post(f"{API}/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="journey-1"),
        201,
    )
    again = ok(
        partner_api.post(f"{API}/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="journey-1")
    )
    assert again["number"] == placed["number"]
    number = placed["number"]
    assert placed["status"] == "allocated"
    assert placed["available_transitions"] == ["cancel"]
    [summary] = placed["shipments"]
    assert summary["warehouse"] == "LDS" and summary["status"] == "pending"
    shipment = summary["number"]

    # --- staff: pick, pack, ship, deliver ------------------------------------------------------
    listed = ok(staff.get(f"{API}/shipments/", {"order": number, "status": "pending"}))
    assert [s["number"] for s in listed["results"]] == [shipment]

    picked = ok(staff.post(f"{API}/shipments/{shipment}/pick/", format="json"))
    assert picked["status"] == "picking" and picked["pick_list"]
    assert ok(partner_api.get(f"{API}/orders/{number}/"))["status"] == "processing"

    packed = ok(staff.post(f"{API}/shipments/{shipment}/pack/", {}, format="json"))
    assert packed["status"] == "packed"
    assert packed["weight_grams"] == 900  # 3 units of 300 g, estimated
    assert packed["carrier"] == "parcelo" and packed["service"] == "standard"

    shipped = ok(
        staff.post(
            f"{API}/shipments/{shipment}/ship/",
            {"carrier": "Parcelo", "tracking_number": "PCL-0001-GB"},
            format="json",
        )
    )
    assert shipped["status"] == "shipped"
    assert shipped["tracking_url"] == "https://track.example/PCL-0001-GB"
    assert StockLevel.objects.get(product__sku="MUG-BLUE").on_hand == 3

    seen = ok(partner_api.get(f"{API}/orders/{number}/"))
    assert seen["status"] == "shipped"
    assert seen["available_transitions"] == []
    assert seen["shipments"][0]["tracking_number"] == "PCL-0001-GB"
    assert seen["shipments"][0]["carrier"] == "parcelo"
    assert seen["shipments"][0]["shipped_at"] is not None

    ok(staff.post(f"{API}/shipments/{shipment}/deliver/", format="json"))
    seen = ok(partner_api.get(f"{API}/orders/{number}/"))
    assert seen["status"] == "delivered"
    assert seen["shipments"][0]["status"] == "delivered"
    assert seen["shipments"][0]["delivered_at"] is not None
    assert seen["shipments"][0]["tracking_number"] == "PCL-0001-GB"

    # --- partner: a return; staff: approve, receive, inspect, refund ------------------------------
    opened = ok(
        partner_api.post(
            f"{API}/returns/",
            {"order": number, "lines": [{"sku": "MUG-BLUE", "quantity": 1, "reason": "other"}]},
            format="json",
        ),
        201,
    )
    rma = opened["number"]
    assert rma.startswith("RMA-")
    assert opened["order"] == number
    assert opened["status"] == "requested"  # "other" is not auto-approved by the policy
    assert opened["lines"][0]["sku"] == "MUG-BLUE" and opened["lines"][0]["quantity"] == 1

    assert ok(staff.post(f"{API}/returns/{rma}/approve/", format="json"))["status"] == "approved"
    assert ok(staff.post(f"{API}/returns/{rma}/receive/", format="json"))["status"] == "received"
    inspected = ok(
        staff.post(
            f"{API}/returns/{rma}/inspect/",
            {"lines": [{"sku": "MUG-BLUE", "sellable": 1, "damaged": 0}], "warehouse": "LDS"},
            format="json",
        )
    )
    assert inspected["status"] == "inspected" and inspected["warehouse"] == "LDS"
    assert StockLevel.objects.get(product__sku="MUG-BLUE").on_hand == 4
    refunded = ok(staff.post(f"{API}/returns/{rma}/refund/", {}, format="json"))
    assert refunded["refund"]["amount"] == "9.90"

    mine = ok(partner_api.get(f"{API}/returns/{rma}/"))
    assert mine["status"] == "refunded"
    assert mine["available_transitions"] == []
    assert [r["number"] for r in ok(partner_api.get(f"{API}/returns/"))["results"]] == [rma]
    order = ok(partner_api.get(f"{API}/orders/{number}/"))
    returned = {line["sku"]: line["quantity_returned"] for line in order["lines"]}
    assert returned == {"MUG-BLUE": 1, "TEE-M": 0}

    # --- the order's history tells the story ------------------------------------------------------
    events = ok(staff.get(f"{API}/events/", {"order": number, "page_size": 200}))
    types = [event["type"] for event in events["results"]]
    expected_types = ("placed", "picked", "packed", "shipped", "delivered", "return_requested")
    for expected in (*expected_types, "refunded"):
        assert expected in types, (expected, types)
    assert types.index("picked") < types.index("packed") < types.index("shipped")
    assert types.index("shipped") < types.index("delivered") < types.index("return_requested")
    assert types.index("return_requested") < types.index("refunded")
    refund_event = events["results"][types.index("refunded")]
    assert refund_event["user"] == "api-staff"
    assert partner_api.get(f"{API}/events/", {"order": number}).status_code == 403
