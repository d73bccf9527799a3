"""Substituting a backordered line: the price rule (the lower of the two prices unless staff
charge the substitute's, with a reason), the recomputed total, the history, the customer's
e-mail, refusing a substitute that is not in stock, and the order page's form."""

from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse

from orders.exceptions import OrderValidationError
from orders.models import EventType, OrderStatus
from orders.services import order_line_substitute
from tests.backoffice.conftest import user_with
from tests.factories import ProductFactory, place, receive

from .helpers import fresh, snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def cheap(db):
    return ProductFactory(sku="KETTLE-S", name="Small kettle", unit_price=Decimal("9.99"))


@pytest.fixture
def mid(db):
    return ProductFactory(sku="KETTLE-M", name="Steel kettle", unit_price=Decimal("86.99"))


@pytest.fixture
def dear(db):
    return ProductFactory(sku="KETTLE-L", name="Copper kettle", unit_price=Decimal("181.99"))


def backordered_line(leeds, product, quantity=2):
    order = place({product: quantity})
    assert order.status == OrderStatus.BACKORDERED
    return order, order.lines.get()


def test_dearer_line_substituted_by_a_cheaper_item_charges_the_cheaper_price(leeds, dear, mid):
    receive(leeds, {mid: 5})
    order, line = backordered_line(leeds, dear)
    assert fresh(order).total == Decimal("363.98")
    new_line = order_line_substitute(line=line, product=mid)
    assert new_line.unit_price == Decimal("86.99")  # not the 181.99 of the line it replaces
    order = fresh(order)
    assert order.total == Decimal("173.98")
    assert order.status == OrderStatus.ALLOCATED
    event = order.events.get(type=EventType.LINE_SUBSTITUTED)
    assert event.details == {
        "original_sku": "KETTLE-L",
        "original_name": "Copper kettle",
        "original_unit_price": "181.99",
        "substitute_sku": "KETTLE-M",
        "substitute_name": "Steel kettle",
        "substitute_unit_price": "86.99",
        "unit_price_charged": "86.99",
        "price_rule": "lower_price",
        "price_reason": "",
        "quantity": 2,
    }


def test_cheaper_line_keeps_its_price_unless_staff_charge_the_substitutes(leeds, cheap, mid):
    receive(leeds, {mid: 5})
    order, line = backordered_line(leeds, cheap)
    new_line = order_line_substitute(line=line, product=mid)
    assert new_line.unit_price == Decimal("9.99")  # the rule: the lower of the two
    assert fresh(order).total == Decimal("19.98")


def test_staff_charge_the_substitutes_price_with_a_reason(leeds, cheap, mid, django_user_model):
    receive(leeds, {mid: 5})
    order, line = backordered_line(leeds, cheap)
    clerk = django_user_model.objects.create_user("clerk")
    new_line = order_line_substitute(
        line=line,
        product=mid,
        user=clerk,
        charge_substitute_price=True,
        price_reason="customer chose the upgrade and pays for it",
    )
    assert new_line.unit_price == Decimal("86.99")
    order = fresh(order)
    assert order.total == Decimal("173.98")
    event = order.events.get(type=EventType.LINE_SUBSTITUTED)
    assert event.user == clerk
    assert event.details["unit_price_charged"] == "86.99"
    assert event.details["price_rule"] == "substitute_price"
    assert event.details["price_reason"] == "customer chose the upgrade and pays for it"
    assert "charged 86.99 each" in event.message


def test_charging_the_substitutes_price_needs_a_reason(leeds, cheap, mid):
    receive(leeds, {mid: 5})
    order, line = backordered_line(leeds, cheap)
    before = snapshot(order)
    with pytest.raises(OrderValidationError) as exc:
        order_line_substitute(
            line=line, product=mid, charge_substitute_price=True, price_reason=" "
        )
    assert exc.value.errors == {
        "price_reason": ["Say why the customer pays the substitute's price."]
    }
    assert snapshot(order) == before


def test_a_substitute_with_too_little_stock_is_refused(leeds, cheap, mid):
    receive(leeds, {mid: 1})
    order, line = backordered_line(leeds, cheap, quantity=2)
    before = snapshot(order)
    with pytest.raises(OrderValidationError) as exc:
        order_line_substitute(line=line, product=mid)
    assert exc.value.errors["product"] == [
        "SKU KETTLE-M has 1 unit(s) available to ship, 2 needed: the substitute would be "
        "backordered too. Nothing was changed; choose another item, or let the line wait."
    ]
    assert snapshot(order) == before
    assert not fresh(order).events.filter(type=EventType.LINE_SUBSTITUTED).exists()


def test_the_customer_gets_one_email_naming_both_items_and_the_price(
    leeds, dear, mid, django_capture_on_commit_callbacks
):
    receive(leeds, {mid: 5})
    order, line = backordered_line(leeds, dear)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        order_line_substitute(line=line, product=mid)
    [message] = [m for m in mail.outbox if m.to == ["ada@example.com"]]
    assert message.subject == f"Your order {order.number}: KETTLE-M instead of KETTLE-L"
    body = message.body
    assert "instead of 2 x Copper kettle (KETTLE-L) at 181.99 EUR" in body
    assert "you will get 2 x Steel kettle (KETTLE-M), listed at 86.99 EUR" in body
    assert "You pay 86.99 EUR each for it." in body
    assert "Total: 173.98 EUR" in body
    html = next(b for b, kind in message.alternatives if kind == "text/html")
    assert "Steel kettle (KETTLE-M)" in html and "<strong>86.99 EUR</strong>" in html


# --- the order page -------------------------------------------------------------------------------
@pytest.fixture
def clerk(client):
    user = user_with("orders.view_order", "orders.substitute_orderline")
    client.force_login(user)
    return user


def test_the_form_shows_the_line_price_the_rule_and_the_price_choice(client, clerk, leeds, cheap):
    order, _ = backordered_line(leeds, cheap)
    page = client.get(reverse("orders:detail", args=[order.number])).content.decode()
    assert "Backordered item: KETTLE-S at 9.99 EUR each." in page
    assert "The customer pays the lower of the two prices" in page
    assert 'name="charge_substitute_price"' in page and 'name="price_reason"' in page
    assert "js/substitute_lookup.js" in page
    assert 'data-lookup="/orders/products/lookup/"' in page


def test_the_lookup_gives_price_and_availability_to_who_may_substitute(client, clerk, leeds, mid):
    receive(leeds, {mid: 4})
    response = client.get(reverse("orders:product-lookup"), {"q": "KETTLE"})
    assert response.status_code == 200
    assert response.json()["results"] == [
        {
            "sku": "KETTLE-M",
            "name": "Steel kettle",
            "unit_price": "86.99",
            "currency": "EUR",
            "available": 4,
        }
    ]


def test_page_substitution_charging_the_substitutes_price_without_reason_is_refused(
    client, clerk, leeds, cheap, mid
):
    receive(leeds, {mid: 5})
    order, line = backordered_line(leeds, cheap)
    response = client.post(
        reverse("orders:substitute", args=[order.number, line.pk]),
        {"sku": "KETTLE-M", "charge_substitute_price": "1", "price_reason": ""},
        follow=True,
    )
    assert "Say why the customer pays the substitute&#x27;s price." in response.content.decode()
    assert fresh(order).status == OrderStatus.BACKORDERED


def test_page_substitution_says_what_happened(client, clerk, leeds, cheap, mid):
    receive(leeds, {mid: 5})
    order, line = backordered_line(leeds, cheap)
    response = client.post(
        reverse("orders:substitute", args=[order.number, line.pk]),
        {"sku": "KETTLE-M", "charge_substitute_price": "1", "price_reason": "upgrade agreed"},
        follow=True,
    )
    page = response.content.decode()
    assert (
        "2 × KETTLE-M replace the backordered KETTLE-S, at 86.99 EUR each; the order is now "
        "allocated and the customer is e-mailed." in page
    )
    assert fresh(order).total == Decimal("173.98")


def test_page_substitution_out_of_stock_says_so(client, clerk, leeds, cheap, mid):
    order, line = backordered_line(leeds, cheap)
    response = client.post(
        reverse("orders:substitute", args=[order.number, line.pk]), {"sku": "KETTLE-M"}, follow=True
    )
    page = response.content.decode()
    assert "the substitute would be backordered too" in page
    assert "now replace the backorder" not in page
    assert fresh(order).status == OrderStatus.BACKORDERED
    assert fresh(order).lines.count() == 1
