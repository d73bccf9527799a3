"""Customers: merging a duplicate (orders kept, history written), exporting a customer's data."""

import json

import pytest
from django.urls import reverse

from orders.exceptions import OrderValidationError
from orders.models import Customer, EventType, Order, OrderEvent
from orders.services import (
    CustomerMergeInput,
    customer_duplicates,
    customer_erase,
    customer_merge,
    order_cancel,
)
from tests.backoffice.conftest import user_with
from tests.factories import UserFactory, WarehouseFactory, place, receive

pytestmark = pytest.mark.django_db


@pytest.fixture
def stocked(product):
    receive(WarehouseFactory(code="LDS", country="GB"), {product: 20})
    return product


@pytest.fixture
def twins(stocked):
    """Ada twice: placement found no match for a mistyped e-mail, fixed afterwards by hand."""
    first = place({stocked: 1})
    kept = first.customer
    second = place({stocked: 2}, email="ADA.twin@example.com")
    duplicate = second.customer
    Customer.objects.filter(pk=duplicate.pk).update(email="ADA@Example.com", line2="Flat 2")
    Customer.objects.filter(pk=kept.pk).update(line2="")
    kept.refresh_from_db()
    duplicate.refresh_from_db()
    return kept, duplicate, first, second


def test_merging_moves_every_order_and_removes_the_duplicate(twins):
    kept, duplicate, first, second = twins
    clerk = UserFactory(username="jo")
    assert customer_duplicates(kept) == [duplicate]
    merged = customer_merge(data=CustomerMergeInput(duplicate=duplicate, into=kept), user=clerk)
    assert merged.orders_moved == 1
    assert merged.customer.pk == kept.pk
    assert not Customer.objects.filter(pk=duplicate.pk).exists()
    assert set(Order.objects.filter(customer=kept)) == {first, second}
    kept.refresh_from_db()
    assert kept.line2 == "Flat 2"  # blank on the kept one: filled from the duplicate
    note = OrderEvent.objects.get(order=second, type=EventType.STAFF_NOTE)
    assert note.user == clerk
    assert f"(#{duplicate.pk}) merged into" in note.message
    assert not OrderEvent.objects.filter(order=first, type=EventType.STAFF_NOTE).exists()


def test_a_customer_is_never_merged_into_itself(twins):
    kept, *_ = twins
    before = OrderEvent.objects.count()
    with pytest.raises(OrderValidationError) as exc:
        customer_merge(data=CustomerMergeInput(duplicate=kept, into=kept), user=UserFactory())
    assert "cannot be merged into itself" in exc.value.message
    assert Customer.objects.filter(pk=kept.pk).exists()
    assert OrderEvent.objects.count() == before


def test_a_duplicate_removed_meanwhile_is_refused(twins):
    kept, duplicate, _first, second = twins
    stale = Customer(pk=duplicate.pk, name=duplicate.name, email=duplicate.email)
    customer_merge(data=CustomerMergeInput(duplicate=duplicate, into=kept), user=UserFactory())
    with pytest.raises(OrderValidationError, match="no longer exists"):
        customer_merge(data=CustomerMergeInput(duplicate=stale, into=kept), user=UserFactory())
    assert Order.objects.get(pk=second.pk).customer_id == kept.pk


# --- pages ----------------------------------------------------------------------------------------
@pytest.fixture
def desk(client):
    user = user_with("orders.view_customer", "orders.change_customer", "orders.view_order")
    client.force_login(user)
    return user


def test_the_clerk_merges_the_duplicate_from_the_customer_page(client, desk, twins):
    kept, duplicate, first, second = twins
    page = client.get(reverse("customers:detail", args=[kept.pk])).content.decode()
    assert f"Merge #{duplicate.pk} into this customer" in page
    response = client.post(
        reverse("customers:merge", args=[kept.pk]), {"duplicate": duplicate.pk}, follow=True
    )
    page = response.content.decode()
    assert "merged into this customer: 1 order(s) moved." in page
    assert first.number in page and second.number in page
    assert not Customer.objects.filter(pk=duplicate.pk).exists()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("self", "cannot be merged into itself"),
        ("abc", "Give the duplicate customer&#x27;s number"),
        ("99999999999999999999", "Nothing was merged"),
        ("987654", "no customer #987654"),
        ("", "Nothing was merged"),
    ],
)
def test_a_bad_merge_is_refused_on_the_page_and_nothing_changes(
    client, desk, twins, value, message
):
    kept, duplicate, *_ = twins
    value = str(kept.pk) if value == "self" else value
    response = client.post(
        reverse("customers:merge", args=[kept.pk]), {"duplicate": value}, follow=True
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert Customer.objects.filter(pk__in=[kept.pk, duplicate.pk]).count() == 2


def test_merging_needs_the_change_permission(client, twins):
    kept, duplicate, *_ = twins
    client.force_login(user_with("orders.view_customer", "orders.view_order"))
    page = client.get(reverse("customers:detail", args=[kept.pk])).content.decode()
    assert 'id="merge"' not in page
    response = client.post(reverse("customers:merge", args=[kept.pk]), {"duplicate": duplicate.pk})
    assert response.status_code == 403
    assert Customer.objects.filter(pk=duplicate.pk).exists()


def test_export_downloads_the_customers_data_with_its_orders(client, desk, twins):
    kept, _duplicate, first, _second = twins
    response = client.get(reverse("customers:export", args=[kept.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="customer-{kept.pk}.json"'
    data = json.loads(response.content)
    assert data["customer"]["email"] == kept.email
    assert data["customer"]["name"] == "Ada Park"
    [order] = data["orders"]
    assert order["number"] == first.number
    assert order["currency"] == first.currency
    assert order["lines"] == [
        {
            "sku": "MUG-BLUE",
            "name": first.lines.get().product.name,
            "quantity": 1,
            "unit_price": "9.90",
        }
    ]


def test_export_queries_do_not_grow_with_orders(
    client, desk, stocked, django_assert_max_num_queries
):
    order = place({stocked: 1})
    for _ in range(5):
        place({stocked: 1})
    with django_assert_max_num_queries(8):
        response = client.get(reverse("customers:export", args=[order.customer_id]))
    assert len(json.loads(response.content)["orders"]) == 6


# --- erase ----------------------------------------------------------------------------------------
def test_erasing_anonymises_the_customer_and_keeps_the_orders_for_the_books(twins):
    kept, _duplicate, first, _second = twins
    order_cancel(order=first, reason="Customer asked")
    total, lines = first.total, list(first.lines.values_list("quantity", "unit_price"))
    manager = UserFactory(username="boss")
    erased = customer_erase(customer=kept, user=manager)
    assert erased.orders_anonymised == 1
    kept.refresh_from_db()
    assert kept.name == f"Erased customer #{kept.pk}"
    assert "ada" not in kept.email.lower()
    assert str(kept.phone) == "" and kept.line1 == "" and kept.postal_code == ""
    order = Order.objects.get(pk=first.pk)
    assert order.shipping_name == kept.name
    assert order.contact_email == "" and str(order.contact_phone) == ""
    assert "High St" not in order.shipping_line1
    assert order.total == total and order.currency == first.currency
    assert list(order.lines.values_list("quantity", "unit_price")) == lines
    assert OrderEvent.objects.filter(order=order, type=EventType.STAFF_NOTE, user=manager).exists()


def test_erasing_is_refused_while_an_order_is_open(twins):
    kept, _duplicate, first, _second = twins
    with pytest.raises(OrderValidationError, match=f"Orders still open: {first.number}"):
        customer_erase(customer=kept, user=UserFactory())
    kept.refresh_from_db()
    assert kept.name == "Ada Park"
    assert Order.objects.get(pk=first.pk).shipping_name == "Ada Park"


def test_only_who_may_erase_sees_and_uses_the_button(client, desk, twins):
    kept, _duplicate, first, _second = twins
    order_cancel(order=first, reason="Customer asked")
    url = reverse("customers:detail", args=[kept.pk])
    assert 'id="erase"' not in client.get(url).content.decode()
    response = client.post(reverse("customers:erase", args=[kept.pk]), {"confirm": "ERASE"})
    assert response.status_code == 403
    client.force_login(user_with("orders.view_customer", "orders.erase_customer"))
    assert 'id="erase"' in client.get(url).content.decode()
    page = client.post(
        reverse("customers:erase", args=[kept.pk]), {"confirm": "erase?"}, follow=True
    ).content.decode()
    assert "type ERASE to confirm" in page
    assert Customer.objects.get(pk=kept.pk).name == "Ada Park"
    page = client.post(
        reverse("customers:erase", args=[kept.pk]), {"confirm": "ERASE"}, follow=True
    ).content.decode()
    assert "Personal data erased; 1 order(s) kept for the books." in page
    assert f"Erased customer #{kept.pk}" in page
