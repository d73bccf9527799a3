"""One order, one currency: an order whose products are priced in two currencies is a 400 that
names the currencies, and nothing is created or reserved."""

import pytest

from inventory.models import StockLevel
from orders.models import Order
from tests.factories import ProductFactory, receive

from .conftest import order_body

pytestmark = pytest.mark.django_db


def test_an_order_mixing_currencies_is_a_400_and_creates_nothing(
    partner_client, stocked, warehouse
):
    receive(warehouse, {ProductFactory(sku="CAP-USD", currency="USD"): 5})
    body = order_body(lines=[{"sku": "MUG-BLUE", "quantity": 1}, {"sku": "CAP-USD", "quantity": 1}])

    response = partner_client.post("/api/v1/orders/", body, format="json")

    assert response.status_code == 400
    assert response.json()["lines"] == [
        "The products are priced in different currencies (EUR, USD); place one order per currency."
    ]
    assert not Order.objects.exists()
    assert set(StockLevel.objects.values_list("reserved", flat=True)) == {0}
