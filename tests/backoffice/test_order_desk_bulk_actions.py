"""Bulk actions on the order desk's selection (issue 15): confirm, hold and release, each order
through its service; every order reported (done, or refused with the reason), never a 500, and
the buttons only for roles that may use them."""

import pytest
from django.contrib.auth.models import Permission

from orders.models import Order, OrderEvent, OrderStatus
from tests.factories import ProductFactory, UserFactory, WarehouseFactory, place, receive

pytestmark = pytest.mark.django_db


@pytest.fixture
def cap():
    product = ProductFactory(sku="CAP-1")
    receive(WarehouseFactory(code="LDS"), {product: 100})
    return product


def phone_orders(product, n: int) -> list[Order]:
    """Phone orders wait for review (placed)."""
    return [place({product: 1}, channel_code="phone", email=f"c{i}@example.com") for i in range(n)]


def status(order: Order) -> str:
    return Order.objects.get(pk=order.pk).status


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_confirm_the_selection_reports_each_order(client, clerk, cap):
    placed = phone_orders(cap, 2)
    web = place({cap: 1})  # a web order is allocated at once: not placed any more
    response = client.post(
        "/orders/bulk/confirm/",
        {
            "orders": [placed[0].number, placed[1].number, web.number, "SO-NOPE"],
            "query": "status=placed",
        },
        follow=True,
    )
    assert response.redirect_chain == [("/orders/?status=placed", 302)]
    assert status(placed[0]) == status(placed[1]) == OrderStatus.ALLOCATED
    assert status(web) == OrderStatus.ALLOCATED
    done, refused = messages_of(response)
    assert done == f"Confirmed: {placed[0].number}, {placed[1].number}."
    assert refused.startswith("Not confirmed: ")
    assert f"{web.number} — " in refused
    assert "SO-NOPE — no such order" in refused


def test_hold_needs_a_reason_and_then_holds_each(client, clerk, cap):
    orders = [place({cap: 1}) for _ in range(2)]
    response = client.post(
        "/orders/bulk/hold/", {"orders": [o.number for o in orders]}, follow=True
    )
    assert messages_of(response)[0].startswith("Nothing was done: ")
    assert {status(o) for o in orders} == {OrderStatus.ALLOCATED}
    response = client.post(
        "/orders/bulk/hold/",
        {"orders": [o.number for o in orders], "reason": "Address check"},
        follow=True,
    )
    assert {status(o) for o in orders} == {OrderStatus.ON_HOLD}
    assert messages_of(response) == [f"Put on hold: {orders[0].number}, {orders[1].number}."]
    # History written once per order, with the reason.
    held = OrderEvent.objects.filter(order__in=orders, to_status=OrderStatus.ON_HOLD)
    assert held.count() == 2
    response = client.post("/orders/bulk/release/", {"orders": [orders[0].number]}, follow=True)
    assert status(orders[0]) != OrderStatus.ON_HOLD
    assert status(orders[1]) == OrderStatus.ON_HOLD
    assert messages_of(response) == [f"Released: {orders[0].number}."]


def test_release_of_orders_not_on_hold_is_refused_with_the_reason(client, clerk, cap):
    order = place({cap: 1})
    response = client.post("/orders/bulk/release/", {"orders": [order.number]}, follow=True)
    assert response.status_code == 200
    [refused] = messages_of(response)
    assert refused.startswith(f"Not released: {order.number} — ")
    assert status(order) == OrderStatus.ALLOCATED


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"orders": ""},
        {"orders": ["SO-\x00"]},
        {"orders": ["x" * 5000]},
        {"orders": [f"SO-{n}" for n in range(201)]},
        {"orders": ["SO-1"], "query": "\x00&&=="},
    ],
)
def test_hostile_selection_never_500s(client, clerk, data):
    response = client.post("/orders/bulk/confirm/", data)
    values = [v for value in data.values() for v in ([value] if isinstance(value, str) else value)]
    if any("\x00" in v for v in values):
        assert response.status_code == 400  # core.middleware names the field with a NUL
    else:
        assert response.status_code == 302
        assert response["Location"].startswith("/orders/")


def test_unknown_action_is_404(client, clerk):
    assert client.post("/orders/bulk/cancel/", {"orders": ["SO-1"]}).status_code == 404
    assert client.post("/orders/bulk/nope/", {"orders": ["SO-1"]}).status_code == 404
    assert client.get("/orders/bulk/confirm/").status_code == 405


def test_buttons_only_for_what_the_role_may_do(client, cap):
    phone_orders(cap, 1)
    reader = UserFactory()
    reader.user_permissions.add(Permission.objects.get(codename="view_order"))
    client.force_login(reader)
    page = client.get("/orders/").content.decode()
    assert 'name="orders"' not in page  # nothing to do with a selection: no checkboxes
    assert client.post("/orders/bulk/confirm/", {"orders": ["SO-1"]}).status_code == 403
    reader.user_permissions.add(Permission.objects.get(codename="confirm_order"))
    client.force_login(reader)
    page = client.get("/orders/").content.decode()
    assert 'name="orders"' in page
    assert 'formaction="/orders/bulk/confirm/"' in page
    assert 'formaction="/orders/bulk/hold/"' not in page


def test_page_queries_do_not_grow_with_the_checkboxes(
    client, clerk, cap, django_assert_max_num_queries
):
    phone_orders(cap, 3)
    with django_assert_max_num_queries(20) as few:
        client.get("/orders/")
    phone_orders(cap, 20)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/orders/")
