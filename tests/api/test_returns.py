"""Returns API: partners open and read returns of their own orders; staff move them on."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from inventory.models import StockLevel
from orders.models import Order
from returns.models import ReturnRequest
from tests.factories import UserFactory, place

from .conftest import deliver_order, ship_order, token_client

pytestmark = pytest.mark.django_db

RETURNS = "/api/v1/returns/"


def url(number: str, action: str = "") -> str:
    return f"{RETURNS}{number}/" + (f"{action}/" if action else "")


def delivered(partner, lines, at=None) -> Order:
    order = place(lines, channel_code="partner", partner=partner)
    return deliver_order(ship_order(order), at=at)


@pytest.fixture
def order(partner, stocked, mug, tee, carrier_service) -> Order:
    """Delivered: 2 × MUG-BLUE, 1 × TEE-M at 9.90."""
    return delivered(partner, {mug: 2, tee: 1})


def open_return(client, order, lines=None, **extra):
    lines = lines or [{"sku": "MUG-BLUE", "quantity": 1, "reason": "changed_mind"}]
    return client.post(RETURNS, {"order": order.number, "lines": lines, **extra}, format="json")


def on_hand(sku: str) -> int:
    return StockLevel.objects.get(product__sku=sku, warehouse__code="LDS").on_hand


# --- opening --------------------------------------------------------------------------------------
def test_partner_opens_a_return_in_contract_shape(partner_client, order):
    response = open_return(partner_client, order)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["number"].startswith("RMA-")
    assert body["order"] == order.number
    assert body["status"] == "requested"
    assert body["source"] == "api"
    assert body["lines"][0]["sku"] == "MUG-BLUE"
    assert body["lines"][0]["quantity"] == 1
    assert body["lines"][0]["reason"] == "changed_mind"
    assert body["refund"] is None and body["available_transitions"] == []


def test_a_new_return_is_requested_by_default(partner_client, order):
    """The contract's example: damaged in transit, and the return waits for staff."""
    lines = [{"sku": "TEE-M", "quantity": 1, "reason": "damaged_in_transit"}]
    response = open_return(partner_client, order, lines)
    assert response.status_code == 201
    assert response.json()["status"] == "requested"


def test_a_return_the_policy_auto_approves_is_approved_at_once(partner_client, order):
    from returns.models import ReturnPolicy

    policy = ReturnPolicy.load()
    policy.auto_approve_reasons = ["damaged_in_transit"]
    policy.save()
    lines = [{"sku": "TEE-M", "quantity": 1, "reason": "damaged_in_transit"}]
    response = open_return(partner_client, order, lines)
    assert response.status_code == 201
    assert response.json()["status"] == "approved"


@pytest.mark.parametrize(
    "lines, expected",
    [
        ([{"sku": "MUG-BLUE", "quantity": 3, "reason": "other"}], "only 2 can be returned"),
        ([{"sku": "CAP-RED", "quantity": 1, "reason": "other"}], "not on order"),
    ],
)
def test_over_return_and_unknown_sku_are_400(partner_client, order, lines, expected):
    response = open_return(partner_client, order, lines)
    assert response.status_code == 400
    assert expected in " ".join(response.json()["lines"])
    assert not ReturnRequest.objects.exists()


def test_invalid_line_fields_are_400(partner_client, order):
    lines = [{"sku": "MUG-BLUE", "quantity": 0, "reason": "bored"}]
    response = open_return(partner_client, order, lines)
    assert response.status_code == 400
    errors = response.json()["lines"]
    first = errors[0] if isinstance(errors, list) else errors["0"]  # DRF: a dict by position
    assert set(first) == {"quantity", "reason"}


def test_an_open_return_counts_against_what_can_still_be_returned(partner_client, order):
    assert open_return(partner_client, order).status_code == 201
    lines = [{"sku": "MUG-BLUE", "quantity": 2, "reason": "other"}]
    response = open_return(partner_client, order, lines)
    assert response.status_code == 400
    assert "only 1 can be returned" in response.json()["lines"][0]


def test_return_window_passed_is_400(partner, partner_client, stocked, mug, carrier_service):
    old = delivered(partner, {mug: 1}, at=timezone.now() - datetime.timedelta(days=40))
    response = open_return(partner_client, old)
    assert response.status_code == 400
    assert "return window" in response.json()["order"][0]


def test_nothing_shipped_is_400(partner, partner_client, stocked, mug):
    order = place({mug: 1}, channel_code="partner", partner=partner)
    response = open_return(partner_client, order)
    assert response.status_code == 400
    assert "has shipped" in response.json()["order"][0]


def test_another_partners_order_is_not_found(other_client, order):
    response = open_return(other_client, order)
    assert response.status_code == 400
    assert response.json() == {"code": "invalid", "order": [f"No order {order.number}."]}
    unknown = other_client.post(RETURNS, {"order": "SO-999999", "lines": []}, format="json")
    assert unknown.status_code == 400
    assert set(unknown.json()) == {"code", "order", "lines"}  # every problem named at once


def test_staff_may_open_a_return_for_any_order(staff_client, order):
    response = open_return(staff_client, order)
    assert response.status_code == 201
    assert response.json()["source"] == "staff"
    assert "approve" in response.json()["available_transitions"]


# --- reading --------------------------------------------------------------------------------------
def test_partner_reads_only_its_own_returns(partner_client, other_client, staff_client, order):
    number = open_return(partner_client, order).json()["number"]

    assert partner_client.get(url(number)).status_code == 200
    assert other_client.get(url(number)).status_code == 404
    assert other_client.get(RETURNS).json()["count"] == 0
    assert [r["number"] for r in partner_client.get(RETURNS).json()["results"]] == [number]
    assert staff_client.get(RETURNS).json()["count"] == 1
    assert partner_client.get(RETURNS, {"status": "requested"}).json()["count"] == 1
    assert partner_client.get(RETURNS, {"status": "refunded"}).json()["count"] == 0
    assert partner_client.get(RETURNS, {"order": order.number}).json()["count"] == 1
    assert partner_client.get(RETURNS, {"status": "lost"}).status_code == 400


def test_return_list_query_count_does_not_grow(
    partner,
    partner_client,
    staff_client,
    stocked,
    mug,
    carrier_service,
    django_assert_max_num_queries,
):
    from tests.factories import receive

    receive(stocked, {mug: 100})

    def count_queries(n):
        for _ in range(n):
            assert open_return(partner_client, delivered(partner, {mug: 1})).status_code == 201
        counts = []
        for client in (partner_client, staff_client):
            with django_assert_max_num_queries(12) as captured:
                response = client.get(RETURNS, {"page_size": 200})
            assert response.status_code == 200
            counts.append((len(captured.captured_queries), response.json()["count"]))
        return counts

    small = count_queries(5)
    large = count_queries(25)
    assert [c for _, c in small] == [5, 5] and [c for _, c in large] == [30, 30]
    assert [q for q, _ in large] == [q for q, _ in small]


# --- staff actions --------------------------------------------------------------------------------
def test_staff_flow_with_damaged_goods_and_refund(partner_client, staff_client, order):
    lines = [
        {"sku": "MUG-BLUE", "quantity": 2, "reason": "changed_mind"},
        {"sku": "TEE-M", "quantity": 1, "reason": "other"},
    ]
    number = open_return(partner_client, order, lines).json()["number"]
    mugs, tees = on_hand("MUG-BLUE"), on_hand("TEE-M")

    assert staff_client.post(url(number, "approve")).json()["status"] == "approved"
    again = staff_client.post(url(number, "approve"))
    assert again.status_code == 409
    assert again.json()["status"] == "approved"
    assert number in again.json()["detail"]

    assert staff_client.post(url(number, "receive")).json()["status"] == "received"
    inspected = staff_client.post(
        url(number, "inspect"),
        {
            "lines": [
                {"sku": "MUG-BLUE", "sellable": 1, "damaged": 1, "condition": "one chipped"},
                {"sku": "TEE-M", "sellable": 1},
            ],
            "warehouse": "LDS",
        },
        format="json",
    )
    assert inspected.status_code == 200, inspected.json()
    mug_line = inspected.json()["lines"][0]
    assert (mug_line["quantity_sellable"], mug_line["quantity_damaged"]) == (1, 1)
    assert mug_line["disposition"] == "partly_restocked"
    assert (on_hand("MUG-BLUE"), on_hand("TEE-M")) == (mugs + 1, tees + 1)

    refunded = staff_client.post(url(number, "refund"), {"reference": "PAY-1"}, format="json")
    assert refunded.status_code == 200, refunded.json()
    refund = refunded.json()["refund"]
    # 3 units × 9.90 received, minus 10 % restocking fee on the changed-mind mugs (1.98).
    assert (refund["amount"], refund["restocking_fee"]) == ("27.72", "1.98")
    assert refunded.json()["status"] == "refunded"
    seen = partner_client.get(url(number)).json()
    assert seen["status"] == "refunded" and seen["refund"]["amount"] == "27.72"
    lines = partner_client.get(f"/api/v1/orders/{order.number}/").json()["lines"]
    assert {line["sku"]: line["quantity_returned"] for line in lines} == {
        "MUG-BLUE": 2,
        "TEE-M": 1,
    }
    closed = staff_client.post(url(number, "close"))
    assert closed.status_code == 200 and closed.json()["status"] == "closed"


def test_exchange_creates_a_replacement_order(partner_client, staff_client, order, stocked, mug):
    from tests.factories import receive

    receive(stocked, {mug: 5})
    lines = [{"sku": "MUG-BLUE", "quantity": 1, "reason": "defective"}]
    number = open_return(partner_client, order, lines).json()["number"]
    staff_client.post(url(number, "approve"))
    staff_client.post(url(number, "receive"))
    staff_client.post(
        url(number, "inspect"),
        {"lines": [{"sku": "MUG-BLUE", "damaged": 1}], "warehouse": "LDS"},
        format="json",
    )
    response = staff_client.post(url(number, "exchange"), {}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "exchanged"
    replacement = Order.objects.get(number=response.json()["replacement_order"])
    assert replacement.total == 0
    assert partner_client.get(f"/api/v1/orders/{replacement.number}/").status_code == 200


def test_reject_needs_a_reason_and_cancel_withdraws(partner_client, staff_client, order):
    number = open_return(partner_client, order).json()["number"]
    missing = staff_client.post(url(number, "reject"), {}, format="json")
    assert missing.status_code == 400 and "reason" in missing.json()
    rejected = staff_client.post(url(number, "reject"), {"reason": "Used item"}, format="json")
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["rejection_reason"] == "Used item"
    late = staff_client.post(url(number, "cancel"), {}, format="json")
    assert late.status_code == 409 and late.json()["status"] == "rejected"

    other = open_return(partner_client, order).json()["number"]
    assert staff_client.post(url(other, "cancel"), {}, format="json").json()["status"] == (
        "cancelled"
    )


@pytest.mark.parametrize(
    "body, field",
    [
        ({"lines": [{"sku": "MUG-BLUE", "sellable": 1}], "warehouse": "NOPE"}, "warehouse"),
        ({"lines": [{"sku": "TEE-M", "sellable": 1}], "warehouse": "LDS"}, "lines"),
        ({"lines": [{"sku": "MUG-BLUE", "sellable": 2}], "warehouse": "LDS"}, "lines"),
        (
            {
                "lines": [{"sku": "MUG-BLUE", "sellable": 1}, {"sku": "MUG-BLUE", "damaged": 1}],
                "warehouse": "LDS",
            },
            "lines",
        ),
        ({"lines": [{"sku": "MUG-BLUE", "sellable": -1}], "warehouse": "LDS"}, "lines"),
        ({"warehouse": "LDS"}, "lines"),
        # Nothing counted: 0 sellable + 0 damaged.
        (
            {"lines": [{"sku": "MUG-BLUE", "sellable": 0, "damaged": 0}], "warehouse": "LDS"},
            "lines",
        ),
    ],
)
def test_inspection_refuses_bad_counts(partner_client, staff_client, order, body, field):
    number = open_return(partner_client, order).json()["number"]
    staff_client.post(url(number, "approve"))
    staff_client.post(url(number, "receive"))
    response = staff_client.post(url(number, "inspect"), body, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()
    assert ReturnRequest.objects.get(number=number).status == "received"


def test_actions_are_staff_with_permission_only(partner_client, order):
    number = open_return(partner_client, order).json()["number"]
    assert partner_client.post(url(number, "approve")).status_code == 403

    user = UserFactory(username="receiver", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["receive_returnrequest", "view_returnrequest"])
    )
    receiver = token_client(user)
    refused = receiver.post(url(number, "approve"))
    assert refused.status_code == 403
    assert "returns.approve_returnrequest" in refused.json()["detail"]
    assert receiver.get(url(number)).json()["available_transitions"] == []
    assert receiver.post(url("RMA-999999", "receive")).status_code == 404


def test_staff_without_the_permissions_may_not_open_or_read_returns(
    bare_staff_client, partner_client, order
):
    number = open_return(partner_client, order).json()["number"]
    response = open_return(bare_staff_client, order)
    assert response.status_code == 403
    assert "returns.add_returnrequest" in response.json()["detail"]
    assert bare_staff_client.get("/api/v1/returns/").status_code == 403
    assert bare_staff_client.get(f"/api/v1/returns/{number}/").status_code == 403
    assert ReturnRequest.objects.count() == 1


def test_inspection_without_a_warehouse_uses_the_one_the_goods_shipped_from(
    partner_client, staff_client, order
):
    number = open_return(partner_client, order).json()["number"]
    staff_client.post(url(number, "approve"))
    staff_client.post(url(number, "receive"))
    mugs = on_hand("MUG-BLUE")

    response = staff_client.post(
        url(number, "inspect"), {"lines": [{"sku": "MUG-BLUE", "sellable": 1}]}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert response.json()["warehouse"] == "LDS"
    assert on_hand("MUG-BLUE") == mugs + 1


def test_an_inspection_counting_nothing_names_the_problem(partner_client, staff_client, order):
    number = open_return(partner_client, order).json()["number"]
    staff_client.post(url(number, "approve"))
    staff_client.post(url(number, "receive"))
    response = staff_client.post(
        url(number, "inspect"),
        {"lines": [{"sku": "MUG-BLUE", "sellable": 0, "damaged": 0}], "warehouse": "LDS"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["lines"][0].startswith("Nothing was counted")
    cancelled = staff_client.post(url(number, "cancel"), {"reason": "Empty parcel"}, format="json")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"


# --- exchanges with explicit lines: within what came back -----------------------------------------
@pytest.fixture
def one_mug_inspected(partner_client, staff_client, order, stocked, mug):
    """A return of 1 MUG-BLUE (paid 9.90), received and accepted (damaged)."""
    number = open_return(
        partner_client, order, [{"sku": "MUG-BLUE", "quantity": 1, "reason": "defective"}]
    ).json()["number"]
    staff_client.post(url(number, "approve"))
    staff_client.post(url(number, "receive"))
    inspected = staff_client.post(
        url(number, "inspect"),
        {"lines": [{"sku": "MUG-BLUE", "damaged": 1}], "warehouse": "LDS"},
        format="json",
    )
    assert inspected.json()["status"] == "inspected"
    return number


def exchange(client, number, **body):
    return client.post(url(number, "exchange"), body, format="json")


def test_one_mug_returned_cannot_become_fifty_televisions(staff_client, one_mug_inspected):
    from tests.factories import ProductFactory

    ProductFactory(sku="TV-55", name="Television 55", unit_price=Decimal("499.00"))
    orders_before = Order.objects.count()

    response = exchange(staff_client, one_mug_inspected, lines=[{"sku": "TV-55", "quantity": 50}])

    assert response.status_code == 400
    body = response.json()
    assert "accepted 1 unit(s) back" in body["lines"][0] and "not 50" in body["lines"][0]
    assert "24950.00" in body["price_difference"][0] and "9.90" in body["price_difference"][0]
    assert Order.objects.count() == orders_before
    seen = staff_client.get(url(one_mug_inspected)).json()
    assert seen["status"] == "inspected" and seen["replacement_order"] is None


def test_a_same_value_swap_is_allowed(staff_client, one_mug_inspected):
    response = exchange(staff_client, one_mug_inspected, lines=[{"sku": "TEE-M", "quantity": 1}])

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "exchanged" and body["exchange_price_difference"] is None
    replacement = Order.objects.get(number=body["replacement_order"])
    assert [(line.product.sku, line.quantity) for line in replacement.lines.all()] == [("TEE-M", 1)]
    assert replacement.total == 0


def test_exchange_lines_find_skus_in_any_case(staff_client, one_mug_inspected):
    response = exchange(staff_client, one_mug_inspected, lines=[{"sku": "tee-m", "quantity": 1}])

    assert response.status_code == 200, response.json()
    replacement = Order.objects.get(number=response.json()["replacement_order"])
    assert [(line.product.sku, line.quantity) for line in replacement.lines.all()] == [("TEE-M", 1)]


def test_a_higher_value_swap_needs_the_difference_and_the_permission(
    staff_client, api_staff, one_mug_inspected, order
):
    from tests.factories import ProductFactory

    ProductFactory(sku="MUG-XL", name="Big mug", unit_price=Decimal("14.90"))
    lines = [{"sku": "MUG-XL", "quantity": 1}]

    free = exchange(staff_client, one_mug_inspected, lines=lines)
    assert free.status_code == 400
    assert "charge the difference of 5.00 EUR" in free.json()["price_difference"][0]

    wrong = exchange(
        staff_client, one_mug_inspected, lines=lines, price_difference="1.00", difference_reason="x"
    )
    assert wrong.status_code == 400 and "= 5.00 EUR" in wrong.json()["price_difference"][0]

    no_reason = exchange(staff_client, one_mug_inspected, lines=lines, price_difference="5.00")
    assert no_reason.status_code == 400 and "difference_reason" in no_reason.json()

    unpermitted = exchange(
        staff_client,
        one_mug_inspected,
        lines=lines,
        price_difference="5.00",
        difference_reason="Customer wants the big one",
    )
    assert unpermitted.status_code == 400
    assert "returns.exchange_over_value" in unpermitted.json()["price_difference"][0]
    assert staff_client.get(url(one_mug_inspected)).json()["status"] == "inspected"

    api_staff.user_permissions.add(
        Permission.objects.get(content_type__app_label="returns", codename="exchange_over_value")
    )
    allowed = exchange(
        staff_client,
        one_mug_inspected,
        lines=lines,
        price_difference="5.00",
        difference_reason="Customer wants the big one",
    )
    assert allowed.status_code == 200, allowed.json()
    body = allowed.json()
    assert body["status"] == "exchanged"
    assert body["exchange_price_difference"] == "5.00"
    assert body["exchange_difference_reason"] == "Customer wants the big one"
    history = staff_client.get(f"/api/v1/events/?order={order.number}").json()["results"]
    exchanged = [event for event in history if event["type"] == "exchanged"]
    assert len(exchanged) == 1
    details = exchanged[0]["details"]
    assert details["price_difference"] == "5.00"
    assert details["difference_reason"] == "Customer wants the big one"
    assert "5.00 EUR will be charged to you" in details["message"]
