import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from inventory.models import StockLevel
from returns.models import ReturnRequest, ReturnStatus
from returns.services import customer_return_url, return_receive, return_request_create
from tests.factories import UserFactory

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
