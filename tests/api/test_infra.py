"""API infrastructure: create_partner, schema and docs, throttling, JSON errors."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from orders.models import Partner

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders/"
PRODUCTS = "/api/v1/products/"
RECEIPTS = "/api/v1/inventory/receipts/"


# --- create_partner ------------------------------------------------------------------------------
def test_create_partner_prints_a_working_token_last(stocked):
    out = StringIO()
    call_command("create_partner", "Globex Trading", stdout=out)

    token = out.getvalue().strip().splitlines()[-1]
    partner = Partner.objects.get(name="Globex Trading")
    assert partner.channel.code == "partner"
    assert partner.user.auth_token.key == token
    assert not partner.user.has_usable_password()

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/orders/").status_code == 200
    assert api.get("/api/v1/products/").json()["count"] == 2


def test_create_partner_refuses_a_duplicate_name(db):
    call_command("create_partner", "Globex", stdout=StringIO())
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_partner", "globex", stdout=StringIO())
    assert Partner.objects.count() == 1


# --- schema and docs ------------------------------------------------------------------------------
def test_schema_is_served_and_describes_the_contract(client):
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    for path in (
        "/api/v1/products/",
        "/api/v1/products/{sku}/",
        "/api/v1/orders/",
        "/api/v1/orders/{number}/",
        "/api/v1/orders/{number}/cancel/",
        "/api/v1/orders/{number}/hold/",
        "/api/v1/warehouses/",
        "/api/v1/inventory/receipts/",
        "/api/v1/inventory/stock/",
        "/api/v1/events/",
    ):
        assert path in paths, path
    place = paths["/api/v1/orders/"]["post"]
    assert {"200", "201", "400", "401", "403", "409", "429"} <= set(place["responses"])
    assert any(p["name"] == "Idempotency-Key" for p in place["parameters"])
    assert "409" in paths["/api/v1/orders/{number}/hold/"]["post"]["responses"]


def test_schema_validates_without_warnings():
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=StringIO())


def test_swagger_ui_is_served_from_local_assets(client):
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger-ui" in page
    assert "cdn" not in page.lower()


# --- errors are JSON ------------------------------------------------------------------------------
def test_unknown_api_path_is_json_404(partner_client):
    for path in ("/api/v1/nope/", "/api/v1/orders/SO-1/teleport/", "/api/v1/x"):
        response = partner_client.get(path)
        assert response.status_code == 404, path
        assert response["Content-Type"] == "application/json"
        assert response.json() == {"code": "not_found", "detail": "Not found."}


def test_wrong_method_is_json_405(partner_client):
    response = partner_client.delete("/api/v1/orders/")
    assert response.status_code == 405
    assert response.json()["detail"]


# Every 4xx body carries a lower-case "code" (shared docs/api.md, "Error codes"): one bad request
# of each kind, with the code each answers.
def _bad_requests(partner_client, staff_client, mug, settings):
    from tests.api.conftest import order_body
    from tests.factories import place

    anonymous = APIClient()
    wrong_token = APIClient()
    wrong_token.credentials(HTTP_AUTHORIZATION="Token nope")
    partner = Partner.objects.get()
    allocated = place({mug: 1}, channel_code="partner", partner=partner, reference="T-1")
    partner_client.post(ORDERS, order_body(), format="json", HTTP_IDEMPOTENCY_KEY="same")
    yield "validation", 400, "invalid", partner_client.post(ORDERS, {}, format="json")
    yield (
        "malformed JSON",
        400,
        "parse_error",
        partner_client.post(ORDERS, "{", content_type="application/json"),
    )
    yield "no token", 401, "not_authenticated", anonymous.get(ORDERS)
    yield "wrong token", 401, "authentication_failed", wrong_token.get(ORDERS)
    yield "partner on a staff endpoint", 403, "permission_denied", partner_client.get(RECEIPTS)
    yield "unknown order", 404, "not_found", partner_client.get(f"{ORDERS}SO-999999/")
    yield "unknown path", 404, "not_found", partner_client.get("/api/v1/nope/")
    yield "wrong method", 405, "method_not_allowed", partner_client.delete(ORDERS)
    yield (
        "transition not allowed now",
        409,
        "not_allowed_now",
        staff_client.post(f"{ORDERS}{allocated.number}/confirm/"),
    )
    yield (
        "idempotency key with another body",
        409,
        "duplicate",
        partner_client.post(
            ORDERS, order_body(reference="other"), format="json", HTTP_IDEMPOTENCY_KEY="same"
        ),
    )
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    yield (
        "body too large",
        413,
        "too_large",
        partner_client.post(ORDERS, {"notes": "x" * 2_000}, format="json"),
    )
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = limit
    yield (
        "form body",
        415,
        "unsupported_media_type",
        partner_client.post(ORDERS, {"a": "b"}, format="multipart"),
    )
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"partner": "1/min", "staff": "100/min", "anon": "100/min"},
    }
    partner_client.get(PRODUCTS)
    yield "throttled", 429, "throttled", partner_client.get(PRODUCTS)


def test_every_4xx_body_carries_a_lower_case_code(
    partner_client, staff_client, stocked, mug, settings
):
    seen = []
    bad = _bad_requests(partner_client, staff_client, mug, settings)
    for name, status, code, response in bad:
        assert response.status_code == status, (name, response.content)
        assert response["Content-Type"] == "application/json", name
        body = response.json()
        assert body["code"] == code, (name, body)
        assert body["code"].islower() and body["code"].replace("_", "").isalpha(), name
        assert len(body) > 1, (name, body)  # the messages are still there, next to the code
        seen.append(status)
    assert set(seen) == {400, 401, 403, 404, 405, 409, 413, 415, 429}


def test_api_root_lists_endpoints(partner_client):
    response = partner_client.get("/api/v1/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert "orders" in response.json()


# --- throttling -----------------------------------------------------------------------------------
def test_partner_is_throttled_with_retry_after(partner_client, other_client, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"partner": "3/min", "staff": "100/min", "anon": "100/min"},
    }
    codes = [partner_client.get("/api/v1/products/").status_code for _ in range(4)]

    assert codes == [200, 200, 200, 429]
    throttled = partner_client.get("/api/v1/products/")
    assert throttled.status_code == 429
    assert 0 < int(throttled["Retry-After"]) <= 60
    assert throttled.json()["detail"]
    # Budgets are per token: another partner is not affected.
    assert other_client.get("/api/v1/products/").status_code == 200


def test_root_error_handlers_answer_json_under_api(rf):
    from core.api.errors import handler404, handler500

    assert handler404(rf.get("/api/v2/orders/"), None)["Content-Type"] == "application/json"
    assert handler500(rf.get("/api/v1/orders/")).status_code == 500
    assert handler500(rf.get("/api/v1/orders/"))["Content-Type"] == "application/json"
    assert "html" in handler404(rf.get("/admin/nope/"), None)["Content-Type"]
