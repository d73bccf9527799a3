"""Pick lists: aggregation by bin and SKU, walk order, batching, query counts, pages, PDF."""

import pytest

from fulfillment import services
from fulfillment.exceptions import ShipmentValidationError
from fulfillment.models import PickList, ShipmentStatus
from fulfillment.selectors import picklist_sheet
from orders.models import Order, OrderStatus
from orders.services import order_hold

from .conftest import order_of, pick

pytestmark = pytest.mark.django_db


def test_lines_are_aggregated_by_bin_and_sku_and_sorted_by_bin(stocked, mug, tee, cap):
    a = order_of({mug: 2, tee: 1}).shipments.get()
    b = order_of({mug: 1, cap: 4}).shipments.get()
    c = order_of({tee: 3}).shipments.get()
    pick_list = pick(a, b, c)

    sheet = picklist_sheet(pick_list=pick_list)
    assert [(r.bin_location, r.sku, r.quantity) for r in sheet.rows] == [
        ("A-01", "TEE-M", 4),
        ("B-02", "CAP-RED", 4),
        ("C-03", "MUG-BLUE", 3),
    ]
    totes = {s.number: tote for tote, s in sheet.totes}
    assert totes == {a.number: 1, b.number: 2, c.number: 3}
    tee_row = sheet.rows[0]
    assert tee_row.put_away == [(1, a.number, 1), (3, c.number, 3)]
    assert sheet.rows[2].put_away == [(1, a.number, 2), (2, b.number, 1)]
    assert sheet.total_units == 11


def test_next_n_oldest_takes_the_oldest_pending_of_that_warehouse(stocked, mug):
    shipments = [order_of({mug: 1}).shipments.get() for _ in range(4)]
    pick_list = services.picklist_create(warehouse=stocked, count=3)
    picked = set(pick_list.shipments.values_list("number", flat=True))
    assert picked == {s.number for s in shipments[:3]}
    shipments[3].refresh_from_db()
    assert shipments[3].status == ShipmentStatus.PENDING
    # Every order with a picked shipment is now processing; the last one is not.
    statuses = [Order.objects.get(pk=s.order_id).status for s in shipments]
    assert statuses == ["processing"] * 3 + ["allocated"]


def test_orders_on_hold_are_not_picked(stocked, mug, superuser):
    held = order_of({mug: 1})
    order_hold(order=held, user=superuser, reason="address check")
    with pytest.raises(ShipmentValidationError, match="No pending shipments"):
        services.picklist_create(warehouse=stocked, count=5)
    with pytest.raises(ShipmentValidationError, match="on hold"):
        pick(held.shipments.get())


def test_a_shipment_cannot_be_picked_twice_or_from_another_warehouse(split_stock, mug, tee):
    leeds, bristol = split_stock
    order = order_of({mug: 1, tee: 1})
    in_leeds = order.shipments.get(warehouse=leeds)
    in_bristol = order.shipments.get(warehouse=bristol)
    pick(in_leeds)
    with pytest.raises(ShipmentValidationError, match="picking, not pending"):
        pick(in_leeds)
    with pytest.raises(ShipmentValidationError, match="ships from BRS, not LDS"):
        services.picklist_create(warehouse=leeds, shipments=[in_bristol])
    with pytest.raises(ShipmentValidationError, match="not both"):
        services.picklist_create(warehouse=leeds, shipments=[in_bristol], count=1)
    with pytest.raises(ShipmentValidationError, match="whole number"):
        services.picklist_create(warehouse=leeds, count=0)
    assert PickList.objects.count() == 1


def _queries_for(n, warehouse, products, django_assert_max_num_queries, limit):
    shipments = [order_of(products).shipments.get() for _ in range(n)]
    with django_assert_max_num_queries(limit) as captured:
        services.picklist_create(warehouse=warehouse, shipments=shipments)
    return len(captured.captured_queries)


def test_fulfillment_queries_do_not_grow_with_the_number_of_shipments(
    stocked, mug, tee, django_assert_max_num_queries, monkeypatch
):
    # The notification hook of events_save (notifications.builders) is measured separately below.
    import notifications.builders

    monkeypatch.setattr(notifications.builders, "notify_events", lambda saved: [])
    five = _queries_for(5, stocked, {mug: 1, tee: 1}, django_assert_max_num_queries, 20)
    twenty = _queries_for(20, stocked, {mug: 1, tee: 1}, django_assert_max_num_queries, 20)
    assert twenty == five
    assert Order.objects.filter(status=OrderStatus.PROCESSING).count() == 25


def test_query_count_does_not_grow_with_the_number_of_shipments(
    stocked, mug, tee, django_assert_max_num_queries
):
    five = _queries_for(5, stocked, {mug: 1, tee: 1}, django_assert_max_num_queries, 60)
    twenty = _queries_for(20, stocked, {mug: 1, tee: 1}, django_assert_max_num_queries, 60)
    assert twenty == five


def test_picklist_page_and_pdf(staff_client, stocked, mug, tee):
    a = order_of({mug: 2}).shipments.get()
    b = order_of({tee: 1, mug: 1}).shipments.get()
    pick_list = pick(a, b)
    response = staff_client.get(f"/fulfillment/picklists/{pick_list.number}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("A-01") < html.index("C-03")  # the walk goes bin by bin
    assert f"1: {a.number} × 2" in html
    assert "@media print" in html and "window.print()" in html

    response = staff_client.get(f"/fulfillment/picklists/{pick_list.number}/pdf/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def test_create_pick_list_from_the_pending_page(staff_client, stocked, mug):
    shipments = [order_of({mug: 1}).shipments.get() for _ in range(3)]
    page = staff_client.get("/fulfillment/shipments/?warehouse=LDS")
    assert page.status_code == 200
    for s in shipments:
        assert s.number in page.content.decode()

    response = staff_client.post(
        "/fulfillment/picklists/create/",
        {"warehouse": "LDS", "mode": "selected", "shipments": [shipments[1].number]},
    )
    pick_list = PickList.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/fulfillment/picklists/{pick_list.number}/"
    assert list(pick_list.shipments.all()) == [shipments[1]]

    response = staff_client.post(
        "/fulfillment/picklists/create/", {"warehouse": "LDS", "mode": "oldest", "count": "5"}
    )
    assert response.status_code == 302
    assert PickList.objects.count() == 2


def test_pending_page_shows_errors_and_keeps_input(staff_client, stocked, mug):
    shipment = order_of({mug: 1}).shipments.get()
    response = staff_client.post(
        "/fulfillment/picklists/create/", {"warehouse": "LDS", "mode": "oldest", "count": "x"}
    )
    assert response.status_code == 400
    assert "Enter a whole number" in response.content.decode()
    response = staff_client.post(
        "/fulfillment/picklists/create/", {"warehouse": "LDS", "mode": "selected"}
    )
    assert response.status_code == 400
    assert "Select at least one shipment" in response.content.decode()
    pick(shipment)
    response = staff_client.post(
        "/fulfillment/picklists/create/",
        {"warehouse": "LDS", "mode": "selected", "shipments": [shipment.number]},
    )
    assert response.status_code == 400
    assert "not one of the available choices" in response.content.decode()


def test_staff_pages_need_login_and_permission(client, django_user_model, stocked, mug):
    shipment = order_of({mug: 1}).shipments.get()
    response = client.get("/fulfillment/shipments/")
    assert response.status_code == 302 and "login" in response["Location"]
    user = django_user_model.objects.create_user("nobody", "n@example.com", "pw")
    client.force_login(user)
    assert client.get("/fulfillment/shipments/").status_code == 403
    assert (
        client.post(
            "/fulfillment/picklists/create/", {"warehouse": "LDS", "mode": "oldest", "count": 1}
        ).status_code
        == 403
    )
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.PENDING
