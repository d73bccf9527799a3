import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from inventory.models import StockLevel
from returns.models import ReturnRequest, ReturnStatus
from returns.services import customer_return_url, return_approve, return_receive, return_refund
from tests.factories import (
    UserFactory,
    WarehouseFactory,
    place,
    receive,
    return_inspect,
    return_request_create,
)
from tests.returns.conftest import deliver, ship

pytestmark = pytest.mark.django_db


@pytest.fixture
def clerk(db):
    user = UserFactory(username="clerk", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="returns"))
    return user


@pytest.fixture
def staff_client(client, clerk):
    client.force_login(clerk)
    return client


def test_staff_open_a_return_for_a_customer_on_the_phone(staff_client, delivered_order, clerk):
    url = reverse("returns:create")
    page = staff_client.get(url, {"order": delivered_order.number})
    assert page.status_code == 200
    assert "2 returnable" in page.content.decode()

    response = staff_client.post(
        url,
        {
            "order": delivered_order.number,
            "qty_MUG-BLUE": "1",
            "reason_MUG-BLUE": "wrong_item",
            "note_MUG-BLUE": "Sent green",
        },
    )
    rma = ReturnRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("returns:detail", args=[rma.number])
    assert rma.status == ReturnStatus.APPROVED
    assert rma.created_by == clerk
    detail = staff_client.get(response["Location"]).content.decode()
    assert "Sent green" in detail
    assert "is authorised" in detail


def test_over_return_shows_the_error_on_the_form(staff_client, delivered_order):
    response = staff_client.post(
        reverse("returns:create"),
        {"order": delivered_order.number, "qty_MUG-BLUE": "3", "reason_MUG-BLUE": "defective"},
    )
    assert response.status_code == 400
    assert "Ensure this value is less than or equal to 2" in response.content.decode()
    assert not ReturnRequest.objects.exists()


def test_unknown_order_is_named(staff_client, db):
    response = staff_client.get(reverse("returns:create"), {"order": "SO-999999"})
    assert "No order SO-999999." in response.content.decode()


def test_inspection_page_restocks_sellable_units(staff_client, delivered_order, warehouse, mug):
    rma = return_request_create(
        order=delivered_order, lines=[{"sku": "MUG-BLUE", "quantity": 2, "reason": "defective"}]
    )
    return_receive(return_request=rma)
    url = reverse("returns:action", args=[rma.number, "inspect"])
    bad = staff_client.post(
        url, {"warehouse": warehouse.pk, "sellable_MUG-BLUE": "2", "damaged_MUG-BLUE": "1"}
    )
    assert bad.status_code == 400
    assert "more than the 2 units on the return" in bad.content.decode()

    response = staff_client.post(
        url, {"warehouse": warehouse.pk, "sellable_MUG-BLUE": "1", "damaged_MUG-BLUE": "1"}
    )
    assert response.status_code == 302
    assert ReturnRequest.objects.get().status == ReturnStatus.INSPECTED
    assert StockLevel.objects.get(warehouse=warehouse, product=mug).on_hand == 1

    refund = staff_client.post(
        reverse("returns:action", args=[rma.number, "refund"]),
        {"method": "original_payment", "reference": "PSP-1"},
    )
    assert refund.status_code == 302
    detail = staff_client.get(refund["Location"]).content.decode()
    assert "20.00 EUR" in detail


def test_action_without_permission_is_forbidden(client, delivered_order):
    rma = return_request_create(
        order=delivered_order, lines=[{"sku": "MUG-BLUE", "quantity": 1, "reason": "other"}]
    )
    viewer = UserFactory(username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_returnrequest"))
    client.force_login(viewer)
    response = client.post(reverse("returns:action", args=[rma.number, "approve"]))
    assert response.status_code == 403
    assert ReturnRequest.objects.get().status == ReturnStatus.REQUESTED


def test_action_in_the_wrong_state_says_why(staff_client, delivered_order):
    rma = return_request_create(
        order=delivered_order, lines=[{"sku": "MUG-BLUE", "quantity": 1, "reason": "other"}]
    )
    response = staff_client.post(reverse("returns:action", args=[rma.number, "close"]), follow=True)
    assert "close is not possible while it is requested" in response.content.decode()


def test_customer_opens_a_return_from_the_signed_link(client, delivered_order):
    url = customer_return_url(delivered_order)
    page = client.get(url)
    assert page.status_code == 200
    assert delivered_order.number in page.content.decode()
    response = client.post(url, {"qty_PLATE-WHITE": "1", "reason_PLATE-WHITE": "changed_mind"})
    rma = ReturnRequest.objects.get()
    assert response.status_code == 302
    assert rma.source == "customer"
    assert rma.status == ReturnStatus.REQUESTED
    page = client.get(response["Location"]).content.decode()
    assert f"Your return {rma.number} is registered" in page


def test_forged_customer_link_is_refused(client, delivered_order):
    url = customer_return_url(delivered_order)
    response = client.get(url[:-3] + "xyz/")
    assert response.status_code == 404
    assert "not valid" in response.content.decode()


def test_return_list_needs_login(client, db, settings):
    settings.LOGIN_URL = "/admin/login/"
    response = client.get(reverse("returns:list"))
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def _received(order, lines):
    rma = return_request_create(order=order, lines=lines)
    if rma.status == ReturnStatus.REQUESTED:
        return_approve(return_request=rma)
    return_receive(return_request=rma)
    return rma


def test_inspection_form_prefills_by_reason_and_the_shipping_warehouse(staff_client, mug, plate):
    WarehouseFactory(code="LDS", name="Leeds", priority=1)  # first in the list, ships nothing
    york = WarehouseFactory(code="YRK", name="York", priority=200)
    receive(york, {mug: 2, plate: 1})
    order = deliver(ship(place({mug: 2, plate: 1})))
    rma = _received(
        order,
        [
            {"sku": "MUG-BLUE", "quantity": 2, "reason": "damaged_in_transit"},
            {"sku": "PLATE-WHITE", "quantity": 1, "reason": "changed_mind"},
        ],
    )

    html = staff_client.get(reverse("returns:detail", args=[rma.number])).content.decode()

    def value(name):
        match = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
        return re.search(r'value="(\d+)"', match.group(0)).group(1)

    assert (value("sellable_MUG-BLUE"), value("damaged_MUG-BLUE")) == ("0", "2")
    assert (value("sellable_PLATE-WHITE"), value("damaged_PLATE-WHITE")) == ("1", "0")
    assert f'<option value="{york.pk}" selected>' in html


def test_an_inspection_counting_nothing_shows_the_error(staff_client, delivered_order, warehouse):
    rma = _received(delivered_order, [{"sku": "MUG-BLUE", "quantity": 2, "reason": "defective"}])
    response = staff_client.post(
        reverse("returns:action", args=[rma.number, "inspect"]),
        {"warehouse": warehouse.pk, "sellable_MUG-BLUE": "0", "damaged_MUG-BLUE": "0"},
    )
    assert response.status_code == 400
    assert "Nothing was counted" in response.content.decode()
    assert ReturnRequest.objects.get().status == ReturnStatus.RECEIVED
    # The page offers to cancel a return whose parcel held nothing.
    assert reverse("returns:action", args=[rma.number, "cancel"]) in response.content.decode()


def test_refund_amount_and_fee_are_shown_before_refunding(staff_client, delivered_order, warehouse):
    rma = _received(delivered_order, [{"sku": "MUG-BLUE", "quantity": 2, "reason": "changed_mind"}])
    return_inspect(return_request=rma, lines={"MUG-BLUE": {"sellable": 2}}, warehouse=warehouse)

    html = staff_client.get(reverse("returns:detail", args=[rma.number])).content.decode()

    # 2 × 10.00 minus the policy's 10 % restocking fee on a change of mind.
    assert (
        "Refund <strong>18.00 EUR</strong> for 2 units received, after a restocking fee of "
        "2.00 EUR." in html
    )
    refund = return_refund(return_request=rma)
    assert (refund.amount, refund.restocking_fee) == (Decimal("18.00"), Decimal("2.00"))
