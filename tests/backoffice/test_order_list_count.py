"""The unfiltered order list counts at most ``COUNT_CAP`` orders (issue 7): the count's cost does
not grow with the table; filtered lists count exactly."""

import pytest
from django.contrib.auth.models import Permission

from orders import views
from tests.factories import ProductFactory, UserFactory, WarehouseFactory, place, receive

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk_client(client):
    user = UserFactory(username="desk", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_order"))
    client.force_login(user)
    return client


@pytest.fixture
def five_orders():
    product = ProductFactory(sku="CAP-1")
    receive(WarehouseFactory(code="LDS"), {product: 100})
    return [place({product: 1}, email=f"c{n}@example.com") for n in range(5)]


def test_small_list_counts_exactly(desk_client, five_orders):
    page = desk_client.get("/orders/").content.decode()
    assert "Page 1 of 1 · 5 orders" in page


def test_unfiltered_count_is_capped(desk_client, five_orders, monkeypatch):
    monkeypatch.setattr(views, "COUNT_CAP", 3)
    monkeypatch.setattr(views, "PAGE_SIZE", 1)
    page = desk_client.get("/orders/").content.decode()
    assert "Page 1 of 3+ · 3+ orders" in page
    assert "page=2" in page  # next page
    # Asking further along raises the cap so that "next" keeps working.
    page = desk_client.get("/orders/?page=4").content.decode()
    assert "Page 4 of 5 · 5 orders" in page


def test_filtered_count_is_exact(desk_client, five_orders, monkeypatch):
    monkeypatch.setattr(views, "COUNT_CAP", 3)
    page = desk_client.get("/orders/?status=allocated").content.decode()
    assert "Page 1 of 1 · 5 orders" in page
