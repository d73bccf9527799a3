"""The transfers API (docs/api-notes.md, "Transfers"): shapes, codes, filters, 404s,
permissions (purchasing staff own transfers, the warehouse ships and receives them), and a
constant number of queries on the list."""

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from inventory.models import StockLevel, StockMovement
from purchasing.models import Transfer
from purchasing.services import TransferLineInput, transfer_create, transfer_ship
from tests.factories import ProductFactory, UserFactory, WarehouseFactory, place, receive

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _groups_and_fresh_throttle_counts():
    cache.clear()
    call_command("setup_groups", stdout=open("/dev/null", "w"))  # noqa: SIM115
    yield
    cache.clear()


def client_in(group: str, username: str) -> APIClient:
    user = UserFactory(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def clerk():
    return client_in("Purchasing staff", "clerk")


@pytest.fixture
def floor():
    return client_in("Warehouse staff", "picker")


@pytest.fixture
def world(db):
    madrid = WarehouseFactory(code="MAD", name="Madrid", country="ES")
    leeds = WarehouseFactory(code="LDS", name="Leeds", country="GB")
    mug = ProductFactory(sku="MUG-BLUE")
    tee = ProductFactory(sku="TEE-M")
    receive(madrid, {mug: 10, tee: 4})
    return madrid, leeds, mug, tee


def create(lines, source="MAD", destination="LDS") -> Transfer:
    return transfer_create(
        source=source,
        destination=destination,
        lines=[TransferLineInput(sku=p.sku, quantity=q) for p, q in lines.items()],
    ).transfer


def test_request_ship_receive_through_the_api(clerk, world):
    madrid, leeds, mug, tee = world
    response = clerk.post(
        "/api/v1/transfers/",
        {
            "source": "mad",
            "destination": "LDS",
            "notes": "For the sale",
            "lines": [{"sku": "mug-blue", "quantity": 6}, {"sku": "TEE-M", "quantity": 4}],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    transfer = Transfer.objects.get()
    assert body == {
        "number": transfer.number,
        "source": "MAD",
        "destination": "LDS",
        "status": "requested",
        "in_transit": 0,
        "lines": [{"sku": "MUG-BLUE", "quantity": 6}, {"sku": "TEE-M", "quantity": 4}],
        "notes": "For the sale",
        "requested_by": "clerk",
        "created_at": body["created_at"],
        "shipped_at": None,
        "received_at": None,
        "cancelled_at": None,
    }
    url = f"/api/v1/transfers/{transfer.number}"
    assert clerk.get(f"{url}/").json() == body

    early = clerk.post(f"{url}/receive/", {}, format="json")
    assert early.status_code == 409
    assert early.json()["code"] == "not_allowed_now"
    assert early.json()["status"] == "requested"

    shipped = clerk.post(f"{url}/ship/", {}, format="json")
    assert shipped.status_code == 200, shipped.json()
    assert shipped.json()["status"] == "shipped"
    assert shipped.json()["in_transit"] == 10
    assert shipped.json()["shipped_at"]
    available = clerk.get("/api/v1/inventory/stock/?sku=MUG-BLUE").json()["results"]
    assert {(row["warehouse"], row["available"]) for row in available} == {("MAD", 4)}

    waiting = place({tee: 1})  # nothing available anywhere: backordered
    received = clerk.post(f"{url}/receive/", {}, format="json")
    assert received.status_code == 200, received.json()
    assert received.json()["status"] == "received"
    assert received.json()["in_transit"] == 0
    assert received.json()["filled_orders"] == [waiting.number]
    assert StockLevel.objects.get(product=mug, warehouse=leeds).on_hand == 6
    again = clerk.post(f"{url}/receive/", {}, format="json")
    assert again.status_code == 409
    assert again.json()["status"] == "received"
    cancel = clerk.post(f"{url}/cancel/", {}, format="json")
    assert cancel.status_code == 409
    assert "cannot be cancelled while it is received" in cancel.json()["detail"]


def test_bad_input_is_a_400_naming_the_problem_and_creates_nothing(clerk, world):
    def post(body):
        response = clerk.post("/api/v1/transfers/", body, format="json")
        assert response.status_code == 400, response.json()
        assert response.json()["code"] == "invalid"
        return response.json()

    same = post({"source": "LDS", "destination": "lds", "lines": [{"sku": "TEE-M", "quantity": 1}]})
    assert "both LDS" in same["destination"][0]
    unknown = post(
        {"source": "MAD", "destination": "LDS", "lines": [{"sku": "NOPE", "quantity": 1}]}
    )
    assert unknown["lines"] == ["Line 1: unknown SKU NOPE."]
    zero = post({"source": "MAD", "destination": "LDS", "lines": [{"sku": "TEE-M", "quantity": 0}]})
    assert zero["lines"] == ["Line 1 (TEE-M): quantity must be a positive whole number, not 0."]
    text = post(
        {"source": "MAD", "destination": "LDS", "lines": [{"sku": "TEE-M", "quantity": "two"}]}
    )
    assert text["lines"] == {"0": {"quantity": ["A valid integer is required."]}}
    WarehouseFactory(code="OLD", is_active=False)
    inactive = post(
        {"source": "MAD", "destination": "OLD", "lines": [{"sku": "TEE-M", "quantity": 1}]}
    )
    assert inactive["destination"] == ["Warehouse OLD is not active."]
    assert post({"source": "MAD", "destination": "LDS", "lines": []})["lines"]
    nul = post({"source": "MAD\x00", "destination": "LDS", "lines": [{"sku": "X", "quantity": 1}]})
    assert nul
    assert not Transfer.objects.exists()


def test_shipping_more_than_available_is_refused_with_the_sku_and_what_is_available(clerk, world):
    madrid, leeds, mug, tee = world
    place({mug: 7})  # reserves 7 of the 10 at Madrid
    transfer = create({mug: 5})
    response = clerk.post(f"/api/v1/transfers/{transfer.number}/ship/", {}, format="json")
    assert response.status_code == 409
    assert response.json() == {
        "code": "insufficient_stock",
        "lines": [
            "MUG-BLUE: 5 to send, only 3 available at MAD (10 on hand, 7 reserved for orders)."
        ],
    }
    assert StockLevel.objects.get(product=mug, warehouse=madrid).on_hand == 10
    assert not StockMovement.objects.filter(reference__startswith=transfer.number).exists()
    assert clerk.get(f"/api/v1/transfers/{transfer.number}/").json()["status"] == "requested"


def test_list_filters_and_404s(clerk, world):
    madrid, leeds, mug, tee = world
    first = create({mug: 1})
    second = create({tee: 1}, source="LDS", destination="MAD")
    third = create({mug: 2, tee: 1})
    transfer_ship(transfer=third)

    def numbers(query: str) -> list[str]:
        response = clerk.get(f"/api/v1/transfers/{query}")
        assert response.status_code == 200, response.json()
        return [row["number"] for row in response.json()["results"]]

    assert numbers("") == [third.number, second.number, first.number]
    assert numbers("?status=shipped") == [third.number]
    assert numbers("?source=lds") == [second.number]
    assert numbers("?destination=LDS&sku=tee-m") == [third.number]
    assert numbers("?sku=NOPE") == []
    bad = clerk.get("/api/v1/transfers/?status=lost")
    assert bad.status_code == 400
    assert bad.json()["code"] == "invalid"
    for method, path in (("get", "TR-999999/"), ("post", "TR-999999/ship/")):
        missing = getattr(clerk, method)(f"/api/v1/transfers/{path}", {}, format="json")
        assert missing.status_code == 404
        assert missing.json()["code"] == "not_found"


def test_list_query_count_does_not_grow(clerk, world):
    madrid, leeds, mug, tee = world

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert clerk.get("/api/v1/transfers/").status_code == 200
        return len(queries)

    receive(madrid, {tee: 10})
    create({mug: 1})
    few = count()
    for _ in range(6):
        transfer_ship(transfer=create({mug: 1, tee: 1}, source="MAD"))
    assert count() == few


def test_permissions(clerk, floor, world):
    madrid, leeds, mug, tee = world
    transfer = create({mug: 2})
    url = f"/api/v1/transfers/{transfer.number}"
    body = {"source": "MAD", "destination": "LDS", "lines": [{"sku": "MUG-BLUE", "quantity": 1}]}
    # The warehouse reads, ships and receives; it neither requests nor cancels.
    assert floor.get("/api/v1/transfers/").status_code == 200
    denied = floor.post("/api/v1/transfers/", body, format="json")
    assert denied.status_code == 403
    assert denied.json()["code"] == "permission_denied"
    assert floor.post(f"{url}/cancel/", {}, format="json").status_code == 403
    assert floor.post(f"{url}/ship/", {}, format="json").status_code == 200
    assert floor.post(f"{url}/receive/", {}, format="json").status_code == 200
    assert APIClient().get("/api/v1/transfers/").status_code == 401
    partner_like = client_in("Managers", "boss")
    assert partner_like.post("/api/v1/transfers/", body, format="json").status_code == 201
    assert Transfer.objects.count() == 2


def test_schema_documents_the_transfer_endpoints():
    paths = APIClient().get("/api/v1/schema/?format=json").json()["paths"]
    for path in (
        "/api/v1/transfers/",
        "/api/v1/transfers/{number}/",
        "/api/v1/transfers/{number}/ship/",
        "/api/v1/transfers/{number}/receive/",
        "/api/v1/transfers/{number}/cancel/",
    ):
        assert path in paths, path
    assert "409" in paths["/api/v1/transfers/{number}/ship/"]["post"]["responses"]


def test_hostile_input_is_never_a_5xx(clerk, world):
    for body in (
        {"source": "MAD", "destination": "LDS", "lines": [{"sku": "A\x00B", "quantity": 1}]},
        {"source": "MAD", "destination": "LDS", "lines": [{"sku": "MUG-BLUE", "quantity": 10**30}]},
        {"source": ["MAD"], "destination": {"x": 1}, "lines": "MUG-BLUE"},
        {"source": "M" * 5000, "destination": "LDS", "lines": [{}]},
    ):
        response = clerk.post("/api/v1/transfers/", body, format="json")
        assert response.status_code == 400, (body, response.json())
        assert response.json()["code"] == "invalid"
    assert not Transfer.objects.exists()
    far = clerk.get("/api/v1/transfers/?page=99999&page_size=100000")
    assert far.status_code == 404 and far.json()["code"] == "not_found"
