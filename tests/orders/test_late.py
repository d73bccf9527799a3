"""Late orders: one definition (``Order.objects.late()``) shared by the order desk, the
dashboard and the late-orders task; a flag that follows the order's life; new estimates in
business days. The clock is frozen and every expected date is written by hand (Europe/London;
November 2026: Thu 26, Fri 27, Sat 28, Sun 29, Mon 30; Tue 1 December ...)."""

import datetime

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.core import mail
from django.urls import reverse

from orders.models import EventType, Order, OrderStatus
from orders.services import order_cancel, order_hold, order_line_substitute
from orders.tasks import late_orders_task
from reports.kpis import kpi_late_orders
from tests.factories import ProductFactory, WarehouseFactory, place, receive
from tests.fulfillment.conftest import carriers, pack, pick  # noqa: F401 (carriers: a fixture)

pytestmark = pytest.mark.django_db


def at(day: int, month: int = 11) -> datetime.datetime:
    """Noon (UTC, = London in winter) on ``day`` ``month`` 2026."""
    return datetime.datetime(2026, month, day, 12, 0, tzinfo=datetime.UTC)


THURSDAY = at(26)
FRIDAY = at(27)
SATURDAY = at(28)
MONDAY = at(30)


@pytest.fixture(autouse=True)
def _mail_settings(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.OMS_STAFF_ALERT_EMAIL = "ops@acme.test"
    settings.OMS_HANDLING_DAYS = 1
    settings.OMS_TRANSIT_DAYS_DOMESTIC = 2
    settings.OMS_BACKORDER_DAYS = 7


@pytest.fixture
def leeds(db):
    return WarehouseFactory(code="LDS", name="Leeds", country="GB", priority=1)


@pytest.fixture
def bristol(db):
    return WarehouseFactory(code="BRS", name="Bristol", country="GB", priority=2)


@pytest.fixture
def mug(db):
    return ProductFactory(sku="MUG-BLUE", name="Blue mug", weight_grams=400)


@pytest.fixture
def tee(db):
    return ProductFactory(sku="TEE-M", name="T-shirt M", weight_grams=200)


@pytest.fixture
def desk(client, django_user_model):
    user = django_user_model.objects.create_user("desk", "desk@example.com", "pw")
    user.user_permissions.set(Permission.objects.filter(codename="view_order"))
    client.force_login(user)
    return client


def run_late_task(capture) -> int:
    with capture(execute=True):
        return late_orders_task.delay().get()


def late_mails(order: Order) -> list:
    return [m for m in mail.outbox if m.subject == f"Your order {order.number} is running late"]


def ship(shipment, tracking: str):
    from fulfillment.services import ShipInput, shipment_ship

    pick(shipment)
    pack(shipment)
    return shipment_ship(data=ShipInput(shipment=shipment, tracking_number=tracking))


def desk_late_numbers(client) -> set[str]:
    page = client.get(reverse("orders:list"), {"late": "on"}).content.decode()
    return {o.number for o in Order.objects.all() if f">{o.number}</a>" in page}


# --- the new estimate -------------------------------------------------------------------------
def test_friday_promise_missed_is_flagged_on_monday_with_a_weekday_estimate(
    leeds, mug, django_capture_on_commit_callbacks
):
    receive(leeds, {mug: 5})
    with (
        time_machine.travel(THURSDAY, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        order = place({mug: 1})
    order.refresh_from_db()
    # Thu + 1 business day = Fri 27; + 2 business days of domestic transit = Tue 1 Dec.
    assert order.promised_ship_date == datetime.date(2026, 11, 27)
    assert order.estimated_delivery_date == datetime.date(2026, 12, 1)
    mail.outbox.clear()

    with time_machine.travel(FRIDAY, tick=False):  # due today: not late yet
        assert run_late_task(django_capture_on_commit_callbacks) == 0
        assert not Order.objects.late().exists()
    with time_machine.travel(MONDAY, tick=False):
        assert run_late_task(django_capture_on_commit_callbacks) == 1
        order.refresh_from_db()
        assert order.is_late
    assert order.late_notified and order.late_since is not None
    # Ships Tue 1 Dec (1 business day) and keeps its 2 business days of transit: Thu 3 Dec.
    # (2 + 2 calendar days from Fri to Tue, added in calendar days, gave Sat 5 Dec.)
    assert order.estimated_delivery_date == datetime.date(2026, 12, 3)
    assert order.promised_ship_date == datetime.date(2026, 11, 27)  # the promise it missed
    [email] = late_mails(order)
    assert email.to == ["ada@example.com"]
    assert "New estimated delivery: Thursday 3 December 2026" in email.body
    event = order.events.get(type=EventType.LATE)
    assert event.details == {"promised_ship_date": "2026-11-27", "new_estimate": "2026-12-03"}


def test_flagged_on_a_saturday_the_estimate_counts_from_monday(
    leeds, mug, django_capture_on_commit_callbacks
):
    receive(leeds, {mug: 5})
    with time_machine.travel(THURSDAY, tick=False):
        order = place({mug: 1})
    with time_machine.travel(SATURDAY, tick=False):
        assert run_late_task(django_capture_on_commit_callbacks) == 1
    order.refresh_from_db()
    # Ships Mon 30 Nov, + 2 business days: Wed 2 Dec.
    assert order.estimated_delivery_date == datetime.date(2026, 12, 2)


# --- the flag follows the order ----------------------------------------------------------------
@pytest.mark.usefixtures("carriers")
def test_shipping_a_late_order_clears_the_flag_and_the_badge(
    leeds,
    mug,
    desk,
    django_capture_on_commit_callbacks,
):
    receive(leeds, {mug: 5})
    with time_machine.travel(THURSDAY, tick=False):
        order = place({mug: 1})
    with time_machine.travel(MONDAY, tick=False):
        assert run_late_task(django_capture_on_commit_callbacks) == 1
        assert desk_late_numbers(desk) == {order.number}
        ship(order.shipments.get(), "PCL000000001")
        order.refresh_from_db()
        assert order.status == OrderStatus.SHIPPED
        assert order.late_since is None and not order.late_notified
        assert not Order.objects.late().exists()
        assert desk_late_numbers(desk) == set()
        page = desk.get(reverse("orders:list")).content.decode()
    assert order.number in page
    assert 'class="late"' not in page  # no "Shipped late"


def test_cancelling_a_late_order_clears_the_flag(leeds, mug, django_capture_on_commit_callbacks):
    receive(leeds, {mug: 5})
    with time_machine.travel(THURSDAY, tick=False):
        order = place({mug: 1})
    with time_machine.travel(MONDAY, tick=False):
        run_late_task(django_capture_on_commit_callbacks)
        order_cancel(order=Order.objects.get(pk=order.pk))
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert order.late_since is None and not order.late_notified


def test_a_new_promise_clears_the_flag_and_missing_it_sends_a_second_email(
    leeds, mug, django_capture_on_commit_callbacks
):
    with time_machine.travel(at(2), tick=False):  # Mon 2 Nov, nothing in stock
        order = place({mug: 1})
    order.refresh_from_db()
    assert order.status == OrderStatus.BACKORDERED
    # Tue 3 Nov + 7 business days of waiting for stock = Thu 12 Nov.
    assert order.promised_ship_date == datetime.date(2026, 11, 12)
    mail.outbox.clear()

    with time_machine.travel(at(13), tick=False):  # Fri 13 Nov: the first promise missed
        assert run_late_task(django_capture_on_commit_callbacks) == 1
    assert len(late_mails(order)) == 1

    with time_machine.travel(at(16), tick=False):  # Mon 16 Nov: stock arrives, a new promise
        with django_capture_on_commit_callbacks(execute=True):
            receive(leeds, {mug: 1})
        order.refresh_from_db()
        assert order.status == OrderStatus.ALLOCATED
        assert order.promised_ship_date == datetime.date(2026, 11, 17)  # Tue
        assert order.late_since is None and not order.late_notified
        assert not order.is_late
        assert run_late_task(django_capture_on_commit_callbacks) == 0

    with time_machine.travel(at(18), tick=False):  # Wed 18 Nov: the new promise missed too
        assert run_late_task(django_capture_on_commit_callbacks) == 1
    order.refresh_from_db()
    assert order.late_notified
    first, second = late_mails(order)
    assert "12 November 2026" in first.body
    assert "17 November 2026" in second.body
    assert order.events.filter(type=EventType.LATE).count() == 2


def test_a_substitution_with_stock_gives_a_new_promise_and_clears_the_flag(
    leeds, mug, tee, django_capture_on_commit_callbacks
):
    receive(leeds, {tee: 3})
    with time_machine.travel(at(2), tick=False):
        order = place({mug: 1})
    with time_machine.travel(at(13), tick=False):
        assert run_late_task(django_capture_on_commit_callbacks) == 1
    with time_machine.travel(at(16), tick=False):  # Mon 16 Nov
        order_line_substitute(line=order.lines.get(), product=tee)
        order.refresh_from_db()
        assert order.status == OrderStatus.ALLOCATED
        assert order.promised_ship_date == datetime.date(2026, 11, 17)
        assert order.late_since is None and not order.late_notified
        assert not Order.objects.late().exists()


# --- one definition: desk, dashboard and task agree --------------------------------------------
@pytest.mark.usefixtures("carriers")
def test_desk_dashboard_and_task_count_the_same_late_orders(
    leeds,
    bristol,
    mug,
    tee,
    desk,
    django_capture_on_commit_callbacks,
):
    receive(leeds, {mug: 20})
    receive(bristol, {tee: 20})
    with time_machine.travel(THURSDAY, tick=False):  # promised Fri 27 Nov
        allocated = place({mug: 1}, email="allocated@example.com")
        placed = place({mug: 1}, channel_code="phone", email="placed@example.com")
        held = place({mug: 1}, email="held@example.com")
        order_hold(order=held, reason="Address check")
        partial = place({mug: 1, tee: 1}, email="partial@example.com")  # two warehouses
        shipped = place({mug: 1}, email="shipped@example.com")
        cancelled = place({mug: 1}, email="cancelled@example.com")
        order_cancel(order=cancelled)
    with time_machine.travel(FRIDAY, tick=False):
        ship(partial.shipments.get(warehouse=leeds), "PCL000000002")
        ship(shipped.shipments.get(), "PCL000000003")
        on_time = place({mug: 1}, email="ontime@example.com")  # promised Mon 30 Nov
    assert Order.objects.get(pk=placed.pk).status == OrderStatus.PLACED
    assert Order.objects.get(pk=held.pk).status == OrderStatus.ON_HOLD
    assert Order.objects.get(pk=partial.pk).status == OrderStatus.PARTIALLY_SHIPPED
    late = {allocated, placed, held, partial}
    expected = {o.number for o in late}
    mail.outbox.clear()

    with time_machine.travel(SATURDAY, tick=False):
        assert desk_late_numbers(desk) == expected
        dashboard = kpi_late_orders()
        assert dashboard.count == 4
        assert {o["number"] for o in dashboard.orders} == expected
        assert run_late_task(django_capture_on_commit_callbacks) == 4
        assert desk_late_numbers(desk) == expected  # flagging changes nothing in the count
        assert kpi_late_orders().count == 4
    told = {m.to[0] for m in mail.outbox if "is running late" in m.subject}
    assert told == {o.customer.email for o in late}
    flagged = set(Order.objects.filter(late_notified=True).values_list("number", flat=True))
    assert flagged == expected
    assert on_time.number not in flagged and shipped.number not in flagged


# --- the calendar both apps count in ---------------------------------------------------------
@pytest.mark.parametrize(
    "start, days, expected",
    [
        (datetime.date(2026, 11, 27), 1, datetime.date(2026, 11, 30)),  # Fri + 1 = Mon
        (datetime.date(2026, 11, 28), 1, datetime.date(2026, 11, 30)),  # Sat + 1 = Mon
        (datetime.date(2026, 11, 25), 3, datetime.date(2026, 11, 30)),  # Wed + 3 = Mon
        (datetime.date(2026, 11, 29), 0, datetime.date(2026, 11, 29)),  # + 0: unchanged
        (datetime.date(2026, 11, 27), 10, datetime.date(2026, 12, 11)),  # two weeks on
    ],
)
def test_add_business_days(start, days, expected):
    from core.calendar import add_business_days, business_days_between

    assert add_business_days(start, days) == expected
    assert business_days_between(start, expected) == days
