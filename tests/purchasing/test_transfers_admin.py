"""The transfers in the admin: list filters, a transfer with its lines and history, and the FSM
actions running the services (per role: the warehouse ships and receives, never cancels)."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from inventory.models import StockLevel
from purchasing.models import Transfer, TransferStatus
from purchasing.services import TransferLineInput, transfer_create
from tests.factories import ProductFactory, UserFactory, WarehouseFactory, receive

pytestmark = pytest.mark.django_db
LIST = "/admin/purchasing/transfer/"


def login(client, group: str):
    call_command("setup_groups", stdout=open("/dev/null", "w"))  # noqa: SIM115
    user = UserFactory(username=group.split()[0].lower(), is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    client.force_login(user)
    return client


@pytest.fixture
def world(db):
    madrid = WarehouseFactory(code="MAD", country="ES")
    leeds = WarehouseFactory(code="LDS", country="GB")
    mug = ProductFactory(sku="MUG-BLUE")
    receive(madrid, {mug: 5})

    def create(quantity: int) -> Transfer:
        return transfer_create(
            source="MAD", destination="LDS", lines=[TransferLineInput("MUG-BLUE", quantity)]
        ).transfer

    return madrid, leeds, mug, create


def test_list_filters_and_the_change_page(client, world):
    madrid, leeds, mug, create = world
    login(client, "Purchasing staff")
    transfer = create(2)
    for url in (
        LIST,
        f"{LIST}?status__exact=requested",
        f"{LIST}?source__id__exact={madrid.pk}",
        f"{LIST}?q=MUG-BLUE",
        f"{LIST}{transfer.pk}/change/",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
    page = client.get(f"{LIST}{transfer.pk}/change/").content.decode()
    assert "Requested 2 units from MAD to LDS." in page  # the history inline
    assert client.get(f"{LIST}add/").status_code == 403


def test_actions_run_the_services_and_skip_what_the_state_forbids(client, world):
    madrid, leeds, mug, create = world
    login(client, "Purchasing staff")
    first, second, third = create(2), create(4), create(1)
    response = client.post(
        LIST, {"action": "ship_transfers", "_selected_action": [first.pk, second.pk]}, follow=True
    )
    page = response.content.decode()
    assert "Ship: 1 transfer(s)." in page
    assert f"Skipped {second.number}: MUG-BLUE: 4 to send, only 3 available at MAD." in page
    client.post(LIST, {"action": "receive_transfers", "_selected_action": [first.pk]})
    client.post(LIST, {"action": "cancel_transfers", "_selected_action": [third.pk, first.pk]})
    statuses = dict(Transfer.objects.values_list("number", "status"))
    assert statuses == {
        first.number: TransferStatus.RECEIVED,
        second.number: TransferStatus.REQUESTED,
        third.number: TransferStatus.CANCELLED,
    }
    assert StockLevel.objects.get(product=mug, warehouse=leeds).on_hand == 2


def test_the_warehouse_ships_and_receives_but_does_not_cancel(client, world):
    madrid, leeds, mug, create = world
    login(client, "Warehouse staff")
    transfer = create(2)
    page = client.get(LIST).content.decode()
    assert "ship_transfers" in page and "receive_transfers" in page
    assert "cancel_transfers" not in page
    client.post(LIST, {"action": "ship_transfers", "_selected_action": [transfer.pk]})
    assert Transfer.objects.get(pk=transfer.pk).status == TransferStatus.SHIPPED
