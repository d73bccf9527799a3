"""The KPI queries as rewritten for a million orders (issue 7) give the answers of their
definitions in the cases the rewrite leans on:

- an order's delivery is its *last* shipment's: a delivery before the range does not pull
  the order out of it, and one after the range pushes it out (cycle time, perfect orders);
- "delivered on time" and "shipped on time" compare local dates, whichever shipment is late;
- an order with several late shipments counts once;
- the oldest order of the range (lowest id) is counted as well as the newest;
- the number of queries stays the same whatever the data.

Orders are placed, shipped and delivered through the real services (helpers of the dashboard
tests); a second shipment is added to an order as a row, then timestamps are moved.
"""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from fulfillment.models import Shipment, ShipmentStatus
from orders.models import Order
from reports import kpis
from tests.backoffice.test_dashboard import deliver, set_dates, ship
from tests.factories import ProductFactory, WarehouseFactory, place, receive

DAY = datetime.timedelta(days=1)


def local(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    """An aware datetime at ``hour:minute`` local time (site time zone) on ``day``."""
    naive = datetime.datetime.combine(day, datetime.time(hour, minute))
    return timezone.make_aware(naive, timezone.get_current_timezone())


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def mug(db):
    leeds = WarehouseFactory(code="LDS", country="GB")
    mug = ProductFactory(sku="MUG", name="Mug", cost_price=Decimal("4.00"))
    receive(leeds, {mug: 50})
    return mug


def delivered(mug, *, placed, shipped, delivered_at, promised=None, estimated=None) -> Order:
    """One order of one mug, shipped and delivered through fulfillment, dates moved."""
    order = place({mug: 1})
    ship(order)
    order = deliver(order, shipped_at=shipped, delivered_at=delivered_at)
    set_dates(
        order,
        placed_at=placed,
        promised_ship_date=promised or timezone.localdate(placed),
        estimated_delivery_date=estimated or timezone.localdate(delivered_at),
    )
    return order


def second_shipment(order: Order, *, shipped, delivered_at=None) -> Shipment:
    """A second shipment of ``order`` (shipped, or delivered when ``delivered_at``)."""
    first = order.shipments.first()
    return Shipment.objects.create(
        number=f"{first.number}-2",
        order=order,
        warehouse=first.warehouse,
        status=ShipmentStatus.DELIVERED if delivered_at else ShipmentStatus.SHIPPED,
        shipped_at=shipped,
        delivered_at=delivered_at,
    )


# --- delivered in the range = last delivery in the range ---------------------------------------
def test_the_last_delivery_decides_the_range(mug, today):
    # Oldest order (lowest id): first shipment delivered before the range, the last in it.
    early_then_in = delivered(
        mug,
        placed=local(today - 20 * DAY, 9),
        shipped=local(today - 19 * DAY, 9),
        delivered_at=local(today - 15 * DAY, 9),
    )
    second_shipment(
        early_then_in, shipped=local(today - 3 * DAY, 9), delivered_at=local(today - 1 * DAY, 9)
    )
    # First shipment delivered in the range, the last after it.
    in_then_after = delivered(
        mug,
        placed=local(today - 8 * DAY, 9),
        shipped=local(today - 7 * DAY, 9),
        delivered_at=local(today - 6 * DAY, 9),
    )
    second_shipment(
        in_then_after, shipped=local(today - 3 * DAY, 9), delivered_at=local(today - 2 * DAY, 9)
    )
    # A plain order delivered in the range: 2 days.
    delivered(
        mug,
        placed=local(today - 7 * DAY, 9),
        shipped=local(today - 6 * DAY, 9),
        delivered_at=local(today - 5 * DAY, 9),
    )

    # Range T-10 .. T-3: the plain order only (the others' last delivery is later).
    week = kpis.kpi_cycle_time(start=today - 10 * DAY, end=today - 3 * DAY)
    assert week.orders == 1
    assert week.median == datetime.timedelta(days=2)
    assert kpis.kpi_perfect_orders(start=today - 10 * DAY, end=today - 3 * DAY).orders == 1

    # Range T-10 .. T: all three; the oldest took 19 days (placed T-20, last delivery T-1).
    cycle = kpis.kpi_cycle_time(start=today - 10 * DAY, end=today)
    assert cycle.orders == 3
    assert cycle.median == datetime.timedelta(days=6)  # 2, 6 and 19 days
    assert dict(cycle.buckets)["14 days or more"] == 1
    assert kpis.kpi_perfect_orders(start=today - 10 * DAY, end=today).orders == 3

    # Range T-16 .. T-14 holds only the oldest order's first delivery: nothing delivered.
    old = kpis.kpi_cycle_time(start=today - 16 * DAY, end=today - 14 * DAY)
    assert (old.orders, old.median) == (0, None)


def test_perfect_orders_on_time_by_local_date_of_the_last_delivery(mug, today):
    estimated = today - 3 * DAY
    # Two shipments, the last one at 23:30 local on the estimated day: on time.
    on_time = delivered(
        mug,
        placed=local(today - 8 * DAY, 9),
        shipped=local(today - 7 * DAY, 9),
        delivered_at=local(today - 6 * DAY, 9),
        estimated=estimated,
    )
    second_shipment(on_time, shipped=local(estimated, 9), delivered_at=local(estimated, 23, 30))
    # Two shipments, the first on time, the last at 00:30 local the day after: late.
    late = delivered(
        mug,
        placed=local(today - 8 * DAY, 9),
        shipped=local(today - 7 * DAY, 9),
        delivered_at=local(today - 6 * DAY, 9),
        estimated=estimated,
    )
    second_shipment(late, shipped=local(estimated, 9), delivered_at=local(estimated + DAY, 0, 30))

    result = kpis.kpi_perfect_orders(start=today - 10 * DAY, end=today)

    assert (result.orders, result.late, result.perfect) == (2, 1, 1)
    assert (result.incomplete, result.claimed) == (0, 0)


# --- on-time shipment ------------------------------------------------------------------------
def test_on_time_shipment_by_local_date_with_several_shipments(mug, today):
    promised = today - 4 * DAY
    # Shipped at 23:30 local on the promised day: on time.
    delivered(
        mug,
        placed=local(promised - DAY, 9),
        shipped=local(promised, 23, 30),
        delivered_at=local(promised + DAY, 9),
        promised=promised,
    )
    # One shipment on time, a second one shipped the next day: late.
    partly_late = delivered(
        mug,
        placed=local(promised - DAY, 9),
        shipped=local(promised, 9),
        delivered_at=local(promised + DAY, 9),
        promised=promised,
    )
    second_shipment(partly_late, shipped=local(promised + DAY, 0, 30))
    # Two late shipments: one late order, counted once.
    twice_late = delivered(
        mug,
        placed=local(promised - DAY, 9),
        shipped=local(promised + DAY, 9),
        delivered_at=local(promised + 2 * DAY, 9),
        promised=promised,
    )
    second_shipment(twice_late, shipped=local(promised + 2 * DAY, 9))
    # Not shipped, promised date passed: late.
    waiting = place({mug: 1})
    set_dates(waiting, promised_ship_date=promised)

    result = kpis.kpi_on_time_shipment(start=today - 10 * DAY, end=today)

    assert result.days == [(promised, 4, 1)]
    assert (result.orders, result.on_time) == (4, 1)


def test_on_time_shipment_with_nothing_promised_in_the_range(mug, today):
    result = kpis.kpi_on_time_shipment(start=today - 10 * DAY, end=today)
    assert (result.orders, result.on_time, result.days, result.rate) == (0, 0, [], None)


# --- constant number of queries --------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "queries"),
    [
        ("kpi_cycle_time", 4),  # lowest delivered order, aggregate (+ 2 percentiles off PG)
        ("kpi_perfect_orders", 2),
        ("kpi_on_time_shipment", 2),
    ],
)
def test_rewritten_kpis_run_a_fixed_number_of_queries(
    mug, today, name, queries, django_assert_max_num_queries
):
    for i in range(3):
        order = delivered(
            mug,
            placed=local(today - (8 + i) * DAY, 9),
            shipped=local(today - 6 * DAY, 9),
            delivered_at=local(today - 5 * DAY, 9),
        )
        second_shipment(order, shipped=local(today - 3 * DAY, 9), delivered_at=local(today, 8))
    with django_assert_max_num_queries(queries):
        getattr(kpis, name)(start=today - 10 * DAY, end=today)


def test_an_empty_range_runs_one_query(mug, today, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert kpis.kpi_cycle_time(start=today - 10 * DAY, end=today).orders == 0
    with django_assert_num_queries(1):
        assert kpis.kpi_perfect_orders(start=today - 10 * DAY, end=today).orders == 0
