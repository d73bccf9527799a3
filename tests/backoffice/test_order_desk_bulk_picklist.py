"""The order desk's "Create pick list" for the selected orders (issue 15): their pending
shipments batched into one pick list per warehouse, each order reported; offered only to roles
that may pick."""

import pytest

from fulfillment.models import PickList, Shipment, ShipmentStatus
from orders import services as order_services
from orders.models import Order, OrderStatus
from tests.backoffice.conftest import user_with
from tests.factories import ProductFactory, WarehouseFactory, place, receive

pytestmark = pytest.mark.django_db

URL = "/fulfillment/picklists/from-orders/"


@pytest.fixture
def picker(client):
    user = user_with("orders.view_order", "fulfillment.view_shipment", "fulfillment.pick_shipment")
    client.force_login(user)
    return user


@pytest.fixture
def cap():
    product = ProductFactory(sku="CAP-1")
    receive(WarehouseFactory(code="LDS"), {product: 100})
    return product


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_selected_orders_go_on_one_pick_list_each_reported(client, picker, cap):
    web = [place({cap: 1}) for _ in range(2)]
    phone = place({cap: 1}, channel_code="phone")  # placed: nothing to pick yet
    held = place({cap: 1})
    order_services.order_hold(order=held, reason="Address check")
    numbers = [o.number for o in (*web, phone, held)] + ["SO-NOPE"]
    response = client.post(URL, {"orders": numbers, "query": "status=allocated"}, follow=True)
    assert response.redirect_chain == [("/orders/?status=allocated", 302)]
    pick_list = PickList.objects.get()
    shipments = Shipment.objects.filter(order__in=web)
    assert {s.status for s in shipments} == {ShipmentStatus.PICKING}
    assert {s.pick_list_id for s in shipments} == {pick_list.pk}
    assert {Order.objects.get(pk=o.pk).status for o in web} == {OrderStatus.PROCESSING}
    assert Shipment.objects.get(order=held).status == ShipmentStatus.PENDING
    done, refused = messages_of(response)
    assert done == (
        f"Put on a pick list: {web[0].number} ({pick_list.number}), "
        f"{web[1].number} ({pick_list.number})."
    )
    assert refused.startswith("Not put on a pick list: ")
    assert f"{held.number} — on hold" in refused
    assert f"{phone.number} — no shipment waiting to be picked (placed)" in refused
    assert "SO-NOPE — no such order" in refused
    # Again: they are on a pick list already, nothing waits.
    response = client.post(URL, {"orders": [web[0].number]}, follow=True)
    assert PickList.objects.count() == 1
    [refused] = messages_of(response)
    assert "no shipment waiting to be picked (processing)" in refused


def test_empty_or_hostile_selection_is_reported(client, picker):
    response = client.post(URL, {}, follow=True)
    assert messages_of(response) == ["Nothing was done: Select at least one order."]
    response = client.post(URL, {"orders": ["x" * 5000]}, follow=True)
    assert response.status_code == 200
    assert PickList.objects.count() == 0


def test_offered_only_to_roles_that_may_pick(client, clerk, cap):
    place({cap: 1})
    page = client.get("/orders/").content.decode()
    assert URL not in page  # the order desk clerk confirms and holds, the warehouse picks
    assert client.post(URL, {"orders": ["SO-1"]}).status_code == 403


def test_the_warehouse_sees_only_the_pick_list_button(client, picker, cap):
    place({cap: 1})
    page = client.get("/orders/").content.decode()
    assert f'formaction="{URL}"' in page
    assert "/orders/bulk/" not in page
