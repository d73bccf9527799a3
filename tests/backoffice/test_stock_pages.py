"""Stock pages as warehouse staff use them: levels, receipts (filling backorders), adjustments."""

import pytest
from django.urls import reverse

from inventory.models import MovementKind, StockLevel, StockMovement
from orders.models import OrderStatus
from tests.factories import ProductFactory, place

pytestmark = pytest.mark.django_db


def receipt(warehouse="LDS", **lines):
    data = {
        "warehouse": warehouse,
        "reference": "PO-1",
        "lines-TOTAL_FORMS": str(max(len(lines), 1)),
        "lines-INITIAL_FORMS": "0",
    }
    for i, (sku, qty) in enumerate(lines.items()):
        data[f"lines-{i}-sku"] = sku.replace("_", "-")
        data[f"lines-{i}-quantity"] = str(qty)
    return data


def test_stock_list_highlights_low_stock(client, storekeeper, mug):
    StockLevel.objects.filter(product=mug).update(reorder_point=5)
    page = client.get(reverse("inventory:stock")).content.decode()
    assert "MUG-BLUE" in page and 'title="At or below the reorder point"' in page
    page = client.get(reverse("inventory:stock"), {"low": "on"}).content.decode()
    assert "MUG-BLUE" in page


def test_receive_fills_backorders(client, storekeeper, mug):
    order = place({mug: 5})
    assert order.status == OrderStatus.BACKORDERED
    response = client.post(reverse("receive"), receipt(MUG_BLUE=4), follow=True)
    page = response.content.decode()
    assert f"Backorders filled: {order.number}" in page
    order.refresh_from_db()
    assert order.status == OrderStatus.ALLOCATED
    level = StockLevel.objects.get(product=mug)
    assert (level.on_hand, level.reserved) == (7, 5)


def test_receive_errors_keep_nothing(client, storekeeper, mug):
    page = client.post(reverse("receive"), receipt(NOPE=3)).content.decode()
    assert "Unknown SKU NOPE." in page
    page = client.post(reverse("receive"), receipt(MUG_BLUE=0)).content.decode()
    assert "greater than or equal to 1" in page
    assert StockMovement.objects.filter(kind=MovementKind.RECEIPT).count() == 1  # the fixture's


def test_adjust_needs_reason_and_cannot_go_below_reserved(client, storekeeper, mug):
    place({mug: 2})
    level = StockLevel.objects.get(product=mug)
    url = reverse("inventory:adjust", args=[level.pk])
    page = client.post(url, {"quantity": "-1", "reason": ""}).content.decode()
    assert "This field is required." in page
    page = client.post(url, {"quantity": "-2", "reason": "count"}).content.decode()
    assert "below the 2 units reserved" in page
    response = client.post(url, {"quantity": "-1", "reason": "broken on shelf"})
    assert response.status_code == 302
    level.refresh_from_db()
    assert level.on_hand == 2
    page = client.get(reverse("inventory:ledger", args=["MUG-BLUE"])).content.decode()
    assert "broken on shelf" in page and "-1" in page


def test_stock_pages_need_permissions(client, django_user_model, mug):
    client.force_login(django_user_model.objects.create_user("viewer", password="pw"))
    assert client.get(reverse("inventory:stock")).status_code == 403
    assert client.get(reverse("receive")).status_code == 403


@pytest.mark.parametrize("rows", [2, 25])
def test_stock_list_queries_constant(
    client, storekeeper, leeds, rows, django_assert_max_num_queries
):
    for i in range(rows):
        StockLevel.objects.create(product=ProductFactory(sku=f"S-{i}"), warehouse=leeds)
    with django_assert_max_num_queries(10):
        assert client.get(reverse("inventory:stock")).status_code == 200


def test_adjust_with_an_absurd_quantity_is_a_form_error(client, storekeeper, mug):
    level = StockLevel.objects.get(product=mug)
    url = reverse("inventory:adjust", args=[level.pk])
    response = client.post(url, {"quantity": "10000000000000000000", "reason": "typo"})
    assert response.status_code == 200
    assert "less than or equal to 1000000" in response.content.decode()
    level.refresh_from_db()
    assert level.on_hand == 3
