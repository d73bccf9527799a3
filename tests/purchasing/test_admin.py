"""The purchasing admin: lists with filters, a supplier with what it sells, the FSM actions
running the services."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from purchasing.models import PurchaseOrderEvent, PurchaseOrderStatus
from tests.factories import UserFactory

from .conftest import draft

pytestmark = pytest.mark.django_db


@pytest.fixture
def clerk_client(client):
    call_command("setup_groups", stdout=open("/dev/null", "w"))  # noqa: SIM115
    user = UserFactory(username="clerk", is_staff=True)
    user.groups.add(Group.objects.get(name="Purchasing staff"))
    client.force_login(user)
    return client


def test_pages_open(clerk_client, supplier, warehouse, mug):
    po = draft(supplier, warehouse, {mug: 2})
    for url in (
        "/admin/purchasing/supplier/",
        f"/admin/purchasing/supplier/{supplier.pk}/change/",
        "/admin/purchasing/purchaseorder/?status__exact=draft",
        f"/admin/purchasing/purchaseorder/?supplier__id__exact={supplier.pk}",
        f"/admin/purchasing/purchaseorder/{po.pk}/change/",
    ):
        response = clerk_client.get(url)
        assert response.status_code == 200, url
    assert po.number in clerk_client.get("/admin/purchasing/purchaseorder/").content.decode()


def test_send_and_cancel_actions_run_the_services(clerk_client, supplier, warehouse, mug):
    first = draft(supplier, warehouse, {mug: 2})
    second = draft(supplier, warehouse, {mug: 3})
    response = clerk_client.post(
        "/admin/purchasing/purchaseorder/",
        {"action": "send_purchase_orders", "_selected_action": [first.pk]},
    )
    assert response.status_code == 302
    response = clerk_client.post(
        "/admin/purchasing/purchaseorder/",
        {"action": "cancel_purchase_orders", "_selected_action": [first.pk, second.pk]},
        follow=True,
    )
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == PurchaseOrderStatus.CANCELLED  # sent, nothing received
    assert second.status == PurchaseOrderStatus.CANCELLED
    assert PurchaseOrderEvent.objects.filter(purchase_order=first, type="sent").exists()
