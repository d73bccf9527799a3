"""The order page's "Cancel backordered units" button (orders.views.line_cancel_backorder): the
customer would rather not wait. The backordered units of the line are cancelled, the order moves
on (allocated when the rest is reserved, cancelled when nothing is left), the history says so,
and the page shows the result."""

import html
import re

import pytest
from django.urls import reverse

from inventory.models import StockLevel
from orders.models import EventType, Order, OrderLine, OrderStatus
from tests.factories import ProductFactory, place
from tests.orders.helpers import assert_invariants, snapshot

from .conftest import user_with

pytestmark = pytest.mark.django_db

S = OrderStatus
BUTTON = "Cancel backordered units"


def detail(order) -> str:
    return reverse("orders:detail", args=[order.number])


def cancel_url(order, line) -> str:
    return reverse("orders:cancel-backorder", args=[order.number, line.pk])


def line_row(page: str, line) -> str:
    match = re.search(rf'<tr id="line-{line.pk}">(.*?)</tr>', page, re.S)
    assert match, f"line {line.pk} not on the page"
    return match.group(1)


def cells(row: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    ]


def status_badge(page: str) -> str:
    return re.search(r'<span class="status status-[a-z_]+">([^<]+)</span>', page).group(1)


def messages_of(page: str) -> list[str]:
    block = re.search(r'<ul class="messages"[^>]*>(.*?)</ul>', page, re.S)
    return (
        [html.unescape(m) for m in re.findall(r"<li[^>]*>(.*?)</li>", block.group(1))]
        if block
        else []
    )


@pytest.fixture
def tee(db):
    """Nothing of it in stock anywhere."""
    return ProductFactory(sku="TEE-M", name="T-shirt M")


def test_cancelling_the_backordered_part_allocates_the_reserved_rest(client, clerk, leeds, mug):
    order = place({mug: 5})  # 3 in stock: 3 reserved, 2 backordered
    line = order.lines.get()
    assert (order.status, line.quantity_allocated, line.quantity_backordered) == (
        S.BACKORDERED,
        3,
        2,
    )
    page = client.get(detail(order)).content.decode()
    assert cancel_url(order, line) in page and BUTTON in page

    response = client.post(cancel_url(order, line))

    assert response.status_code == 302 and response["Location"] == detail(order)
    order = Order.objects.get(pk=order.pk)
    line = OrderLine.objects.get(pk=line.pk)
    assert order.status == S.ALLOCATED
    assert (line.quantity_allocated, line.quantity_cancelled, line.quantity_backordered) == (
        3,
        2,
        0,
    )
    assert str(order.total) == "30.00"  # 3 × 10.00: the cancelled units are no longer charged
    level = StockLevel.objects.get(product=mug, warehouse=leeds)
    assert (level.on_hand, level.reserved) == (3, 3)
    shipment = order.shipments.get()
    assert [(sl.order_line_id, sl.quantity) for sl in shipment.lines.all()] == [(line.pk, 3)]
    cancelled = order.events.get(type=EventType.LINE_CANCELLED)
    assert (cancelled.user, cancelled.message) == (clerk, "2 × MUG-BLUE cancelled.")
    assert cancelled.details["quantity"] == 2
    change = order.events.filter(type=EventType.STATUS_CHANGED).latest("pk")
    assert (change.from_status, change.to_status) == (S.BACKORDERED, S.ALLOCATED)
    assert_invariants()

    page = client.get(response["Location"]).content.decode()
    assert messages_of(page) == ["The backordered units of the line were cancelled."]
    assert status_badge(page) == "Allocated"
    # SKU, product, ordered, allocated, backordered, shipped, returned, cancelled, price
    assert cells(line_row(page, line))[:9] == [
        "MUG-BLUE", "Blue mug", "5", "3", "0", "0", "0", "2", "10.00"
    ]  # fmt: skip
    assert "<strong>30.00 EUR</strong>" in page
    assert "2 × MUG-BLUE cancelled." in page
    assert "3 × MUG-BLUE" in page  # the shipment created for the reserved units
    assert BUTTON not in page


def test_cancelling_the_only_backordered_line_cancels_the_order(client, clerk, leeds, tee):
    order = place({tee: 2})
    line = order.lines.get()
    assert order.status == S.BACKORDERED

    response = client.post(cancel_url(order, line), follow=True)

    order = Order.objects.get(pk=order.pk)
    assert order.status == S.CANCELLED and order.cancelled_at is not None
    line = OrderLine.objects.get(pk=line.pk)
    assert (line.quantity_cancelled, line.quantity_backordered) == (2, 0)
    assert str(order.total) == "0.00"
    assert not order.shipments.exists()
    change = order.events.filter(type=EventType.STATUS_CHANGED).latest("pk")
    assert (change.from_status, change.to_status, change.message) == (
        S.BACKORDERED,
        S.CANCELLED,
        "Every line cancelled.",
    )
    page = response.content.decode()
    assert messages_of(page) == ["The backordered units of the line were cancelled."]
    assert status_badge(page) == "Cancelled"
    assert "Every line cancelled." in page
    assert BUTTON not in page
    assert_invariants()


def test_cancelling_one_backordered_line_ships_the_other(client, clerk, leeds, mug, tee):
    order = place({mug: 1, tee: 2})
    mug_line, tee_line = order.lines.get(product=mug), order.lines.get(product=tee)
    assert order.status == S.BACKORDERED
    page = client.get(detail(order)).content.decode()
    assert BUTTON in line_row(page, tee_line)
    assert BUTTON not in line_row(page, mug_line)  # nothing of it waits

    page = client.post(cancel_url(order, tee_line), follow=True).content.decode()

    order = Order.objects.get(pk=order.pk)
    assert order.status == S.ALLOCATED
    assert str(order.total) == "10.00"
    shipment = order.shipments.get()
    assert [(sl.order_line_id, sl.quantity) for sl in shipment.lines.all()] == [(mug_line.pk, 1)]
    assert status_badge(page) == "Allocated"
    assert cells(line_row(page, tee_line))[7] == "2"  # cancelled column
    assert_invariants()


def test_a_stale_button_is_refused_with_a_message_and_changes_nothing(client, clerk, leeds, mug):
    order = place({mug: 5})
    line = order.lines.get()
    client.post(cancel_url(order, line), follow=True)  # the first click worked (and was shown)
    before = snapshot(order)

    page = client.post(cancel_url(order, line), follow=True).content.decode()  # a second tab

    assert snapshot(order) == before
    assert messages_of(page) == [f"Order {order.number} cannot be changed while it is allocated."]


def test_a_line_with_nothing_backordered_is_refused(client, clerk, leeds, mug, tee):
    order = place({mug: 1, tee: 1})
    mug_line = order.lines.get(product=mug)
    before = snapshot(order)

    page = client.post(cancel_url(order, mug_line), follow=True).content.decode()

    assert snapshot(order) == before
    assert messages_of(page) == ["Line MUG-BLUE has nothing backordered to cancel."]


def test_without_the_change_permission_there_is_no_button_and_the_post_is_403(client, leeds, mug):
    viewer = user_with("orders.view_order")
    client.force_login(viewer)
    order = place({mug: 5})
    line = order.lines.get()
    before = snapshot(order)
    assert BUTTON not in client.get(detail(order)).content.decode()

    assert client.post(cancel_url(order, line)).status_code == 403
    assert snapshot(order) == before


def test_a_get_changes_nothing(client, clerk, leeds, mug):
    order = place({mug: 5})
    before = snapshot(order)
    assert client.get(cancel_url(order, order.lines.get())).status_code == 405
    assert snapshot(order) == before


def test_a_line_of_another_order_is_404(client, clerk, leeds, mug):
    order, other = place({mug: 5}), place({mug: 1}, email="other@example.com")
    before = snapshot(order)
    assert client.post(cancel_url(other, order.lines.get())).status_code == 404
    assert snapshot(order) == before
