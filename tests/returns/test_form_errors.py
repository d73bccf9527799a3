"""The reject and refund forms of the back-office return page (returns.views.return_action): bad
input is shown on the form, next to its field (HTTP 400), and the return stays as it was."""

import html
import re

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from orders.models import EventType, OrderEvent, OrderLine
from returns.models import Refund, ReturnRequest, ReturnStatus
from returns.services import return_receive
from tests.factories import UserFactory, return_inspect, return_request_create

from .conftest import fresh, stock

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, db):
    user = UserFactory(username="returns-desk", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="returns"))
    client.force_login(user)
    return client


def action_url(rma, action: str) -> str:
    return reverse("returns:action", args=[rma.number, action])


def form_html(page: str, rma, action: str) -> str:
    """The <form> that posts to ``action`` on the page."""
    match = re.search(
        rf'<form method="post" action="{re.escape(action_url(rma, action))}".*?</form>', page, re.S
    )
    assert match, f"no {action} form on the page"
    return match.group(0)


def field_errors(form: str) -> list[str]:
    return [
        html.unescape(e)
        for block in re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', form, re.S)
        for e in re.findall(r"<li>(.*?)</li>", block)
    ]


def history(rma) -> list[tuple]:
    return list(
        OrderEvent.objects.filter(details__return=rma.number)
        .order_by("pk")
        .values_list("type", "details__status")
    )


def state(rma) -> dict:
    """What a refused form must leave untouched."""
    rma = ReturnRequest.objects.get(pk=rma.pk)
    return {
        "return": ReturnRequest.objects.filter(pk=rma.pk).values().get(),
        "lines": list(OrderLine.objects.filter(order=rma.order).values().order_by("pk")),
        "refunds": Refund.objects.count(),
        "history": history(rma),
    }


# --- reject ---------------------------------------------------------------------------------------
@pytest.fixture
def requested(delivered_order):
    """A change of mind: not approved by the policy, it waits for staff (reject is possible)."""
    rma = return_request_create(
        order=delivered_order,
        lines=[{"sku": "MUG-BLUE", "quantity": 1, "reason": "changed_mind"}],
    )
    assert fresh(rma).status == ReturnStatus.REQUESTED
    return rma


@pytest.mark.parametrize(
    "data, error",
    [
        ({}, "This field is required."),
        ({"reason": ""}, "This field is required."),
        ({"reason": "   "}, "This field is required."),
        ({"reason": "x" * 256}, "Ensure this value has at most 255 characters (it has 256)."),
    ],
)
def test_reject_without_a_usable_reason_shows_the_error_and_changes_nothing(
    staff_client, requested, data, error
):
    before = state(requested)

    response = staff_client.post(action_url(requested, "reject"), data)

    assert response.status_code == 400
    page = response.content.decode()
    assert field_errors(form_html(page, requested, "reject")) == [error]
    assert "(Requested)" in page  # the page still shows the return as it is
    assert state(requested) == before
    assert fresh(requested).status == ReturnStatus.REQUESTED


def test_reject_with_a_reason_rejects_it(staff_client, requested):
    response = staff_client.post(
        action_url(requested, "reject"), {"reason": "Opened and used"}, follow=True
    )
    assert response.status_code == 200
    rma = fresh(requested)
    assert (rma.status, rma.rejection_reason) == (ReturnStatus.REJECTED, "Opened and used")
    assert "Opened and used" in response.content.decode()
    assert history(rma)[-1] == (EventType.RETURN_UPDATED, ReturnStatus.REJECTED)


# --- refund ---------------------------------------------------------------------------------------
@pytest.fixture
def inspected(delivered_order, warehouse):
    rma = return_request_create(
        order=delivered_order, lines=[{"sku": "MUG-BLUE", "quantity": 2, "reason": "defective"}]
    )
    return_receive(return_request=rma)
    return_inspect(
        return_request=rma, lines={"MUG-BLUE": {"sellable": 2, "damaged": 0}}, warehouse=warehouse
    )
    assert fresh(rma).status == ReturnStatus.INSPECTED
    return rma


@pytest.mark.parametrize(
    "data, errors",
    [
        ({}, ["This field is required."]),
        ({"method": "cash"}, ["Select a valid choice. cash is not one of the available choices."]),
        (
            {"method": "store_credit", "reference": "R" * 101},
            ["Ensure this value has at most 100 characters (it has 101)."],
        ),
        (
            {"method": "cash", "reference": "R" * 101},
            [
                "Select a valid choice. cash is not one of the available choices.",
                "Ensure this value has at most 100 characters (it has 101).",
            ],
        ),
    ],
)
def test_refund_with_bad_input_shows_the_error_and_refunds_nothing(
    staff_client, inspected, warehouse, mug, data, errors
):
    before = state(inspected)

    response = staff_client.post(action_url(inspected, "refund"), data)

    assert response.status_code == 400
    page = response.content.decode()
    form = form_html(page, inspected, "refund")
    assert field_errors(form) == errors
    if "reference" in data:
        assert f'value="{data["reference"]}"' in form  # what was typed is kept
    assert "Refunded" not in page
    assert state(inspected) == before
    assert fresh(inspected).status == ReturnStatus.INSPECTED
    assert not Refund.objects.exists()
    assert OrderLine.objects.get(order=inspected.order, product=mug).quantity_returned == 0
    assert stock(warehouse, mug).on_hand == 2  # the inspection's restock, nothing more


@pytest.mark.parametrize("amount", [None, "-10.00", "5000.00"])
def test_refund_with_good_input_refunds_what_came_back_once(staff_client, inspected, mug, amount):
    """The form takes no amount: the refund is what was received × the price paid, and an
    amount slipped into the POST changes nothing."""
    data = {"method": "store_credit", "reference": "GC-42"}
    if amount is not None:
        data["amount"] = amount
    response = staff_client.post(action_url(inspected, "refund"), data, follow=True)
    assert response.status_code == 200
    assert "Refunded 20.00 EUR." in response.content.decode()
    refund = Refund.objects.get(return_request=inspected)
    assert (str(refund.amount), refund.method, refund.reference) == (
        "20.00",
        "store_credit",
        "GC-42",
    )
    assert fresh(inspected).status == ReturnStatus.REFUNDED
    assert OrderLine.objects.get(order=inspected.order, product=mug).quantity_returned == 2


# --- exchange -------------------------------------------------------------------------------------
def test_exchange_beyond_what_came_back_shows_the_errors_and_changes_nothing(
    staff_client, inspected
):
    from tests.factories import ProductFactory

    ProductFactory(sku="TV-55", name="Television 55", unit_price="499.00")
    before = state(inspected)
    orders_before = OrderLine.objects.values("order").distinct().count()

    response = staff_client.post(action_url(inspected, "exchange"), {"lines": "TV-55 50"})

    assert response.status_code == 400
    errors = field_errors(form_html(response.content.decode(), inspected, "exchange"))
    assert any("accepted 2 unit(s) back" in e and "not 50" in e for e in errors), errors
    assert any("charge the difference of 24930.00 EUR" in e for e in errors), errors
    assert state(inspected) == before
    assert OrderLine.objects.values("order").distinct().count() == orders_before

    for quantity in ("lots", "²"):  # "²" is a Unicode digit that int() refuses
        bad = staff_client.post(action_url(inspected, "exchange"), {"lines": f"TV-55 {quantity}"})
        assert bad.status_code == 400
        assert field_errors(form_html(bad.content.decode(), inspected, "exchange")) == [
            'Line 1: write "SKU quantity", e.g. "TEE-L 1".'
        ]
    assert state(inspected) == before


def test_exchange_for_the_same_value_sends_the_replacement(staff_client, inspected):
    response = staff_client.post(
        action_url(inspected, "exchange"), {"lines": "PLATE-WHITE 2"}, follow=True
    )

    assert response.status_code == 200
    rma = fresh(inspected)
    assert rma.status == ReturnStatus.EXCHANGED
    assert [(line.product.sku, line.quantity) for line in rma.replacement_order.lines.all()] == [
        ("PLATE-WHITE", 2)
    ]
    assert f"Replacement order {rma.replacement_order.number} created." in (
        response.content.decode()
    )
