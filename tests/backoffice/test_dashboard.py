"""The managers' dashboard: every KPI of ``reports.kpis`` on a small hand-built dataset with known
answers, the page (charts, definitions, date range), CSV export, access and query counts.

The dataset (``shop``) is built through the real services — orders placed and allocated by
``order_place``, shipped and delivered through fulfillment's services, returns opened through
``returns.services`` — then timestamps are moved into the past with queryset updates.
Stock: 10 mugs and 10 tees at cost 4.00 in LDS. Orders (T = today, local):

====  =======  ===============  ======================  ==================================
name  channel  lines            placed / delivered      fate
====  =======  ===============  ======================  ==================================
A     web      2 mug            T-3 / T-1 (2 days)      promised T-2, shipped T-2 (on time);
                                                        est. delivery T; damaged return
B     counter  1 tee            T-5 / T-1 (4 days)      promised T-3, shipped T-2 (late);
                                                        perfect; changed-mind return
C     web      1 mug, 12 tee    T                       9 tees reserved, 3 backordered;
                                                        promised T (not due yet)
D     web      1 mug            T                       allocated, promised T-2: late now
E     web      1 mug            T-2 / T-1 (1 day)       promised T-2, shipped T-2 (on time);
                                                        est. delivery T-3 (delivered late);
                                                        wrong-item return, cancelled
====  =======  ===============  ======================  ==================================
"""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from fulfillment.models import Carrier, CarrierService, Shipment, ShipmentStatus
from fulfillment.services import (
    PackInput,
    ShipInput,
    packed_lines,
    picklist_create,
    shipment_deliver,
    shipment_pack,
    shipment_ship,
)
from orders.models import Order, OrderStatus
from orders.services import order_line_cancel_backorder
from reports import formatting, kpis
from returns.services import return_cancel
from tests.factories import (
    ProductFactory,
    UserFactory,
    WarehouseFactory,
    place,
    receive,
    return_request_create,
)

URL = "/dashboard/"
DAY = datetime.timedelta(days=1)


# --- helpers ---------------------------------------------------------------------------------
def _service():
    carrier, _ = Carrier.objects.get_or_create(code="dash-post", defaults={"name": "Dash Post"})
    service, _ = CarrierService.objects.get_or_create(
        carrier=carrier,
        code="standard",
        defaults={"name": "Standard", "price_per_parcel": Decimal("4.00"), "transit_days": 2},
    )
    return service


def ship(order: Order) -> None:
    """Pick, pack and ship every pending shipment of ``order`` through fulfillment."""
    service = _service()
    for shipment in Shipment.objects.filter(order=order, status=ShipmentStatus.PENDING):
        picklist_create(warehouse=shipment.warehouse, shipments=[shipment])
        packed: dict[str, int] = {}
        for line in shipment.lines.select_related("order_line__product"):
            sku = line.order_line.product.sku
            packed[sku] = packed.get(sku, 0) + line.quantity
        shipment_pack(
            data=PackInput(
                shipment=Shipment.objects.get(pk=shipment.pk),
                lines=packed_lines(packed),
                weight_grams=500,
                length_cm=20,
                width_cm=20,
                height_cm=10,
                carrier_service=service,
            )
        )
        shipment_ship(data=ShipInput(shipment=Shipment.objects.get(pk=shipment.pk)))


def deliver(order: Order, *, shipped_at, delivered_at) -> Order:
    Shipment.objects.filter(order=order).update(shipped_at=shipped_at)
    for shipment in Shipment.objects.filter(order=order, status=ShipmentStatus.SHIPPED):
        shipment_deliver(shipment=shipment, occurred_at=delivered_at)
    order = Order.objects.get(pk=order.pk)
    assert order.status == OrderStatus.DELIVERED
    return order


def set_dates(order: Order, **fields) -> None:
    Order.objects.filter(pk=order.pk).update(**fields)


def delivered_order(products: dict, *, channel_code="web", placed_days_ago, promised, estimated):
    now = timezone.now()
    order = place(products, channel_code=channel_code)
    assert order.status == OrderStatus.ALLOCATED
    ship(order)
    order = deliver(order, shipped_at=now - 2 * DAY, delivered_at=now - DAY)
    set_dates(
        order,
        placed_at=now - placed_days_ago * DAY,
        promised_ship_date=promised,
        estimated_delivery_date=estimated,
    )
    return order


def rows_of(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


# --- the dataset -----------------------------------------------------------------------------
@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def products(db):
    leeds = WarehouseFactory(code="LDS", country="GB")
    mug = ProductFactory(sku="MUG", name="Mug", cost_price=Decimal("4.00"))
    tee = ProductFactory(sku="TEE", name="Tee", cost_price=Decimal("4.00"))
    receive(leeds, {mug: 10, tee: 10})
    return mug, tee


@pytest.fixture
def shop(products, today):
    mug, tee = products
    a = delivered_order({mug: 2}, placed_days_ago=3, promised=today - 2 * DAY, estimated=today)
    b = delivered_order(
        {tee: 1},
        channel_code="counter",
        placed_days_ago=5,
        promised=today - 3 * DAY,
        estimated=today,
    )
    c = place({mug: 1, tee: 12})
    assert c.status == OrderStatus.BACKORDERED
    set_dates(c, promised_ship_date=today)
    d = place({mug: 1})
    set_dates(d, promised_ship_date=today - 2 * DAY)
    e = delivered_order(
        {mug: 1}, placed_days_ago=2, promised=today - 2 * DAY, estimated=today - 3 * DAY
    )
    return_request_create(
        order=a, lines=[{"sku": "MUG", "quantity": 1, "reason": "damaged_in_transit"}]
    )
    return_request_create(order=b, lines=[{"sku": "TEE", "quantity": 1, "reason": "changed_mind"}])
    wrong = return_request_create(
        order=e, lines=[{"sku": "MUG", "quantity": 1, "reason": "wrong_item"}]
    )
    return_cancel(return_request=wrong)
    return {"A": a, "B": b, "C": c, "D": d, "E": e}


@pytest.fixture
def range_(today):
    return {"start": today - 10 * DAY, "end": today}


# --- KPIs ------------------------------------------------------------------------------------
def test_orders_per_day_by_channel(shop, range_, today):
    result = kpis.kpi_orders_per_day(**range_)
    assert result.total == 5
    assert result.channels == ["Counter", "Web shop"]
    assert len(result.days) == 11
    assert result.counts == {
        (today - 5 * DAY, "Counter"): 1,
        (today - 3 * DAY, "Web shop"): 1,
        (today - 2 * DAY, "Web shop"): 1,
        (today, "Web shop"): 2,
    }
    header, rows = formatting.table(result)
    assert header == ["date", "Counter", "Web shop", "total"]
    assert rows[-1] == [today.isoformat(), 0, 2, 2]


def test_cycle_time_median_and_p90(shop, range_):
    result = kpis.kpi_cycle_time(**range_)
    # Delivered: E 1 day, A 2 days, B 4 days. Median 2 days; p90 at position 1.8 → 2 + 0.8 × 2.
    assert result.orders == 3
    assert result.median == datetime.timedelta(days=2)
    assert result.p90 == datetime.timedelta(days=3.6)
    assert dict(result.buckets) == {
        "< 1 day": 0,
        "1–2 days": 1,
        "2–3 days": 1,
        "3–5 days": 1,
        "5–7 days": 0,
        "7–14 days": 0,
        "14 days or more": 0,
    }


def test_cycle_time_empty_range(shop, today):
    result = kpis.kpi_cycle_time(start=today - 40 * DAY, end=today - 30 * DAY)
    assert (result.orders, result.median, result.p90) == (0, None, None)


def test_cycle_time_single_order(shop, today):
    # Only the orders delivered yesterday count; on a range of yesterday alone the three remain.
    result = kpis.kpi_cycle_time(start=today - DAY, end=today - DAY)
    assert result.orders == 3
    assert kpis.kpi_cycle_time(start=today, end=today).orders == 0


def test_on_time_shipment(shop, range_, today):
    result = kpis.kpi_on_time_shipment(**range_)
    # A and E shipped by their promise; B shipped a day late; D unshipped past its promise;
    # C is promised today and not due yet.
    assert (result.orders, result.on_time) == (4, 2)
    assert result.rate == 0.5
    assert result.days == [(today - 3 * DAY, 1, 0), (today - 2 * DAY, 3, 2)]


def test_fill_rate_at_first_inventory_check(shop, range_):
    result = kpis.kpi_fill_rate(**range_)
    assert result.channels == [("Counter", 1, 1, 1, 0), ("Web shop", 4, 3, 17, 3)]
    assert result.order_fill_rate == 0.8
    assert result.unit_fill_rate == pytest.approx(15 / 18)
    header, rows = formatting.table(result)
    assert rows[1] == ["Web shop", 4, 3, "75.0", 17, 3, "82.4"]


def test_backorder_rate(shop, range_, today):
    result = kpis.kpi_backorder_rate(**range_)
    assert (result.orders, result.backordered) == (5, 1)
    assert result.rate == 0.2
    assert result.units_waiting == 3
    assert result.days[-1] == (today, 2, 1)


def test_perfect_orders(shop, range_):
    result = kpis.kpi_perfect_orders(**range_)
    # A: damaged-in-transit return; E: delivered after its estimate (its wrong-item return was
    # cancelled, so it does not count); B: perfect.
    assert (result.orders, result.perfect, result.late, result.incomplete, result.claimed) == (
        3,
        1,
        1,
        0,
        1,
    )
    assert result.rate == pytest.approx(1 / 3)


def test_perfect_orders_incomplete(products, today):
    mug, tee = products
    order = place({mug: 1, tee: 11})  # 1 tee short at the first check
    line = order.lines.get(product=tee)
    order_line_cancel_backorder(line=line)
    order = Order.objects.get(pk=order.pk)
    assert order.status == OrderStatus.ALLOCATED
    ship(order)
    now = timezone.now()
    deliver(order, shipped_at=now - DAY, delivered_at=now)
    set_dates(order, estimated_delivery_date=today)
    result = kpis.kpi_perfect_orders(start=today, end=today)
    assert (result.orders, result.perfect, result.late, result.incomplete) == (1, 0, 0, 1)


def test_return_rate_by_reason(shop, range_):
    result = kpis.kpi_return_rate(**range_)
    # Shipped: A 2 + B 1 + E 1 = 4 units; the cancelled wrong-item return is left out.
    assert result.units_shipped == 4
    units = {code: u for code, _label, u, _n in result.reasons}
    assert units["damaged_in_transit"] == 1
    assert units["changed_mind"] == 1
    assert units["wrong_item"] == 0
    assert result.rate == 0.5
    header, rows = formatting.table(result)
    assert ["Damaged in transit", 1, 1, 4, "25.0"] in rows


def test_inventory_turnover_and_days_of_inventory(shop, range_):
    result = kpis.kpi_inventory_turnover(**range_)
    rows = {(r.product_sku, r.warehouse): r for r in result.rows}
    mug = rows[("MUG", "LDS")]
    # Every movement happened today: 0 on hand at the start of the range; at its end
    # 10 received − 3 shipped (A 2, E 1) = 7.
    assert (mug.on_hand_start, mug.on_hand_end, mug.units_shipped) == (0, 7, 3)
    assert mug.cogs == Decimal("12.00")
    assert mug.average_value == Decimal("14.00")
    assert mug.turnover == pytest.approx(12 / 14)
    assert mug.days_of_inventory == pytest.approx(14 / (12 / 11))
    tee = rows[("TEE", "LDS")]
    assert (tee.on_hand_start, tee.on_hand_end, tee.units_shipped) == (0, 9, 1)
    assert tee.days_of_inventory == pytest.approx(18 / (4 / 11))
    assert [r.product_sku for r in result.rows] == ["MUG", "TEE"]  # highest COGS first
    [(code, cogs, value, turnover, doi)] = result.warehouses()
    assert (code, cogs, value) == ("LDS", Decimal("16.00"), Decimal("32.00"))
    assert turnover == 0.5 and doi == pytest.approx(22.0)


def test_inventory_before_any_movement_is_empty(shop, today):
    # Every movement lies after this range: nothing was on hand, nothing shipped.
    result = kpis.kpi_inventory_turnover(start=today - 10 * DAY, end=today - DAY)
    assert result.rows == []
    assert result.turnover is None and result.days_of_inventory is None


def test_late_orders_now(shop, range_, today):
    result = kpis.kpi_late_orders(**range_)
    assert result.count == 1
    assert result.by_status == [("Allocated", 1)]
    [row] = result.orders
    assert row["number"] == shop["D"].number
    assert row["days_late"] == 2


# --- the page --------------------------------------------------------------------------------
@pytest.fixture
def manager(client, db):
    user = UserFactory(username="manager")
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="orders", codename="view_order"),
        Permission.objects.get(content_type__app_label="inventory", codename="view_stockmovement"),
    )
    user.groups.add(Group.objects.get_or_create(name="Managers")[0])
    client.force_login(user)
    return user


def test_page_shows_charts_tables_and_definitions(shop, manager, client, range_):
    response = client.get(
        URL, {"start": range_["start"].isoformat(), "end": range_["end"].isoformat()}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<svg") == 9  # one chart per figure
    for spec in (
        kpis.OrdersPerDay,
        kpis.CycleTime,
        kpis.OnTimeShipment,
        kpis.FillRate,
        kpis.BackorderRate,
        kpis.PerfectOrders,
        kpis.ReturnRate,
        kpis.InventoryTurnover,
        kpis.LateOrders,
    ):
        assert formatting.DEFINITIONS[spec].split(".")[0][:60] in html
    assert ">Order cycle time (placed → delivered)</title>" in html
    assert "<title>Damaged in transit: 1</title>" in html  # a bar's value on hover
    assert "50.0 %" in html  # on-time shipment rate
    assert "2.0 days (48 h)" in html  # cycle-time median
    assert shop["D"].number in html  # late orders table
    assert "export=late_orders" in html


def test_default_range_is_the_last_30_days(shop, manager, client, today):
    response = client.get(URL)
    assert response.status_code == 200
    form = response.context["form"]
    assert form.cleaned_data == {"start": today - 29 * DAY, "end": today}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start": "2026-05-10", "end": "2026-05-01"}, "The end date must be on or after"),
        ({"start": "2024-01-01", "end": "2025-06-01"}, "choose at most 366"),
        ({"start": "yesterday", "end": "2026-05-01"}, "Enter a valid date."),
        ({"start": "2026-05-01"}, "This field is required."),
        ({"start": "1900-01-01", "end": "1900-01-02"}, "Choose a date between"),
    ],
)
def test_bad_date_ranges_are_explained(manager, client, params, message):
    response = client.get(URL, params)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert "<svg" not in response.content.decode()


def test_a_full_year_is_allowed(manager, client):
    assert client.get(URL, {"start": "2024-01-01", "end": "2024-12-31"}).status_code == 200


def test_csv_export(shop, manager, client, range_, today):
    params = {"start": range_["start"].isoformat(), "end": range_["end"].isoformat()}
    response = client.get(URL, {**params, "export": "late_orders"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = rows_of(response)
    assert rows[0] == [
        "order",
        "channel",
        "status",
        "placed_at",
        "promised_ship_date",
        "days_late",
        "late_since",
    ]
    assert rows[1][0] == shop["D"].number
    assert rows[1][4:6] == [(today - 2 * DAY).isoformat(), "2"]

    fill = rows_of(client.get(URL, {**params, "export": "fill_rate"}))
    assert fill[1:] == [
        ["Counter", "1", "1", "100.0", "1", "0", "100.0"],
        ["Web shop", "4", "3", "75.0", "17", "3", "82.4"],
    ]

    def export(name):
        response = client.get(URL, {**params, "export": name})
        assert response.status_code == 200, name
        return rows_of(response)

    def day(n):
        return (today - n * DAY).isoformat()

    # Placed: B (counter) 5 days ago, A 3, E 2, C and D today (C short of 3 tees).
    per_day = export("orders_per_day")
    assert per_day[0] == ["date", "Counter", "Web shop", "total"]
    counts = {day(5): ["1", "0", "1"], day(3): ["0", "1", "1"], day(2): ["0", "1", "1"]}
    counts[day(0)] = ["0", "2", "2"]
    assert per_day[1:] == [
        [day(n), *counts.get(day(n), ["0", "0", "0"])] for n in range(10, -1, -1)
    ]

    # Delivered yesterday: E after 1 day, A after 2, B after 4.
    assert export("cycle_time") == [
        ["cycle_time", "orders"],
        ["< 1 day", "0"],
        ["1–2 days", "1"],
        ["2–3 days", "1"],
        ["3–5 days", "1"],
        ["5–7 days", "0"],
        ["7–14 days", "0"],
        ["14 days or more", "0"],
    ]
    # Promised 3 days ago: B, shipped late. Two days ago: A and E on time, D not shipped.
    assert export("on_time_shipment") == [
        ["promised_ship_date", "orders", "on_time", "on_time_rate_pct"],
        [day(3), "1", "0", "0.0"],
        [day(2), "3", "2", "66.7"],
    ]
    assert export("backorder_rate") == [
        ["date_placed", "orders_checked", "orders_backordered", "backorder_rate_pct"],
        [day(5), "1", "0", "0.0"],
        [day(3), "1", "0", "0.0"],
        [day(2), "1", "0", "0.0"],
        [day(0), "2", "1", "50.0"],
    ]
    # A: damaged-in-transit return; E: delivered after its estimate; B: perfect.
    assert export("perfect_orders") == [
        ["measure", "orders", "share_pct"],
        ["delivered in range", "3", "100.0"],
        ["perfect", "1", "33.3"],
        ["delivered late", "1", "33.3"],
        ["incomplete", "0", "0.0"],
        ["damaged / wrong / defective return", "1", "33.3"],
    ]
    # 4 units shipped (A 2, B 1, E 1); E's wrong-item return was cancelled.
    assert export("return_rate") == [
        ["reason", "units_returned", "returns", "units_shipped", "return_rate_pct"],
        ["Damaged in transit", "1", "1", "4", "25.0"],
        ["Wrong item sent", "0", "0", "4", "0.0"],
        ["Defective", "0", "0", "4", "0.0"],
        ["Not as described", "0", "0", "4", "0.0"],
        ["Changed mind", "1", "1", "4", "25.0"],
        ["Other", "0", "0", "4", "0.0"],
    ]
    # Mugs: 10 in, 3 out at 4.00: COGS 12.00; average value (0 + 7) / 2 × 4 = 14.00;
    # turnover 12 / 14 = 0.86; days of inventory 14 / (12 / 11 days) = 12.83. Tees: 1 out:
    # COGS 4.00, average 18.00, turnover 0.22, 18 / (4 / 11) = 49.50 days.
    assert export("inventory_turnover") == [
        [
            "sku",
            "product",
            "warehouse",
            "on_hand_start",
            "on_hand_end",
            "cost_price",
            "units_shipped",
            "cogs",
            "average_inventory_value",
            "turnover",
            "days_of_inventory",
        ],
        ["MUG", "Mug", "LDS", "0", "7", "4.00", "3", "12.00", "14.00", "0.86", "12.83"],
        ["TEE", "Tee", "LDS", "0", "9", "4.00", "1", "4.00", "18.00", "0.22", "49.50"],
    ]


def test_csv_export_errors(manager, client):
    response = client.get(URL, {"export": "nope"})
    assert response.status_code == 400
    assert "Unknown table 'nope'" in response.content.decode()
    response = client.get(URL, {"export": "cycle_time", "start": "2026-02-30", "end": "x"})
    assert response.status_code == 400
    assert "Invalid date range" in response.content.decode()


# --- access ----------------------------------------------------------------------------------
def test_superuser_may_see_the_dashboard(client, superuser):
    client.force_login(superuser)
    assert client.get(URL).status_code == 200


def test_anonymous_is_sent_to_login(client, db):
    response = client.get(URL)
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_permissions_without_the_managers_group_are_refused(client, db):
    user = UserFactory(username="clerk")
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="orders", codename="view_order"),
        Permission.objects.get(content_type__app_label="inventory", codename="view_stockmovement"),
    )
    client.force_login(user)
    assert client.get(URL).status_code == 403
    assert client.get(URL, {"export": "late_orders"}).status_code == 403


def test_managers_group_without_the_permissions_is_refused(client, db):
    user = UserFactory(username="half-manager")
    user.groups.add(Group.objects.get_or_create(name="Managers")[0])
    client.force_login(user)
    assert client.get(URL).status_code == 403


def test_managers_group_from_setup_groups_sees_the_dashboard(client, db):
    from django.core.management import call_command

    call_command("setup_groups", stdout=io.StringIO())
    user = UserFactory(username="real-manager")
    user.groups.add(Group.objects.get(name="Managers"))
    client.force_login(user)
    assert client.get(URL).status_code == 200


# --- query counts ----------------------------------------------------------------------------
def _page_queries(client, params) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL, params)
    assert response.status_code == 200
    return len(queries.captured_queries)


def test_query_count_does_not_grow_with_data(shop, manager, client, products, range_, today):
    params = {"start": range_["start"].isoformat(), "end": range_["end"].isoformat()}
    small = _page_queries(client, params)
    mug, tee = products
    receive(WarehouseFactory(code="BRS", country="GB"), {mug: 20, tee: 20})
    for i in range(4):
        order = delivered_order(
            {mug: 1, tee: 1}, placed_days_ago=i + 1, promised=today, estimated=today
        )
        return_request_create(
            order=order, lines=[{"sku": "TEE", "quantity": 1, "reason": "defective"}]
        )
    for _ in range(3):
        late = place({mug: 2})
        set_dates(late, promised_ship_date=today - 4 * DAY)
    ProductFactory(sku="CAP")
    assert kpis.kpi_cycle_time(**range_).orders == 7
    assert _page_queries(client, params) == small


def test_csv_exports_neutralise_text_that_a_spreadsheet_would_run(shop, manager, client, range_):
    from inventory.models import Product

    Product.objects.filter(sku="MUG").update(name='=HYPERLINK("http://evil.example","x")')
    params = {"start": range_["start"].isoformat(), "end": range_["end"].isoformat()}
    rows = rows_of(client.get(URL, {**params, "export": "inventory_turnover"}))
    mug = next(row for row in rows if row[0] == "MUG")
    assert mug[1] == '\'=HYPERLINK("http://evil.example","x")'
    assert mug[9:] == ["0.86", "12.83"]  # figures stay figures
