"""Expected dates on backorders (issue 14): the open purchase orders' units go to the
backordered lines oldest first, like the fill; the API, the order page and the e-mails show the
date, the order's estimate follows it, and a moved or passed date is told once a day."""

import datetime
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core.calendar import add_business_days
from notifications.models import OutboxMessage
from orders.expected import expected_dates
from orders.models import EventType, Order, OrderStatus
from orders.services import expected_dates_passed
from purchasing.models import PurchaseOrder
from purchasing.services import (
    PurchaseOrderLineInput,
    purchase_order_cancel,
    purchase_order_create,
    purchase_order_expected_at_change,
    purchase_order_receive,
    purchase_order_send,
    supplier_create,
    supplier_product_upsert,
)
from tests.backoffice.conftest import user_with
from tests.factories import UserFactory, WarehouseFactory, place, receive

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
D1 = TODAY + datetime.timedelta(days=10)
D2 = TODAY + datetime.timedelta(days=20)


@pytest.fixture
def supplier(db, leeds, product, other_product):
    acme = supplier_create(code="ACME", name="Acme", email="po@acme.test")
    for p in (product, other_product):
        supplier_product_upsert(supplier=acme, product=p, unit_cost=Decimal("2.00"))
    return acme


def po(product, quantity, expected_at, *, send=True, warehouse="LDS") -> PurchaseOrder:
    detail = purchase_order_create(
        supplier="ACME",
        warehouse=warehouse,
        lines=[PurchaseOrderLineInput(sku=product.sku, quantity=quantity)],
        expected_at=expected_at,
    )
    if send:
        purchase_order_send(purchase_order=detail.purchase_order)
    return detail.purchase_order


def dates(orders):
    fresh = [Order.objects.get(pk=o.pk) for o in orders]
    pairs = [(o, list(o.lines.select_related("product").order_by("pk"))) for o in fresh]
    found = expected_dates(pairs)
    return [[found.of(line) for line in lines] for _, lines in pairs]


def estimate(expected_at: datetime.date) -> datetime.date:
    """What the order promises for a backorder expected on ``expected_at`` (no reservations:
    the international transit, as ``_estimate_dates`` says)."""
    ship = add_business_days(max(expected_at, TODAY), settings.OMS_HANDLING_DAYS)
    return add_business_days(ship, settings.OMS_TRANSIT_DAYS_INTERNATIONAL)


def test_oldest_backorder_gets_the_earliest_units_the_next_the_rest_then_the_next_po(
    supplier, product
):
    first = place({product: 3}, email="a@example.com")
    second = place({product: 4}, email="b@example.com")
    third = place({product: 2}, email="c@example.com")
    assert {o.status for o in (first, second, third)} == {OrderStatus.BACKORDERED}
    # Nothing on order: no date (a draft is not on order).
    po(product, 5, D1, send=False)
    assert dates([first, second, third]) == [[None], [None], [None]]

    po(product, 5, D1)
    po(product, 3, D2)
    # first: 3 of the 5 of D1; second: the other 2, then 2 of D2; third: 1 of D2 left → none.
    assert dates([first, second, third]) == [[D1], [D2], [None]]
    # The same whichever orders are asked about (a page of one is still behind the older ones).
    assert dates([second]) == [[D2]]
    assert dates([third, first]) == [[None], [D1]]


def test_the_estimate_follows_a_sent_po_and_a_moved_date(supplier, product):
    order = place({product: 2})
    guess = Order.objects.get(pk=order.pk).estimated_delivery_date
    sent = po(product, 10, D2)
    order.refresh_from_db()
    assert order.estimated_delivery_date == estimate(D2) != guess
    purchase_order_expected_at_change(purchase_order=sent, expected_at=D1)
    order.refresh_from_db()
    assert order.estimated_delivery_date == estimate(D1)
    event = order.events.filter(type=EventType.ESTIMATE_UPDATED).last()
    assert event.details["lines"] == {product.sku: D1.isoformat()}
    assert event.details["notify"] is True
    # Cancelled: nothing on order any more, back to the guess.
    purchase_order_cancel(purchase_order=sent)
    order.refresh_from_db()
    assert order.estimated_delivery_date == guess


def test_a_backorder_made_with_a_po_on_the_way_is_estimated_from_it(supplier, product, mail_ready):
    po(product, 10, D1)
    order = place({product: 2})
    assert order.estimated_delivery_date == estimate(D1)
    event = order.events.get(type=EventType.BACKORDERED)
    assert event.details["expected"] == {product.sku: D1.isoformat()}


def test_a_receipt_fills_the_oldest_and_leaves_the_next_on_the_next_po(supplier, product, leeds):
    first = place({product: 3}, email="a@example.com")
    second = place({product: 4}, email="b@example.com")
    one, _two = po(product, 5, D1), po(product, 5, D2)
    purchase_order_receive(purchase_order=one, lines=[(product, 3)])
    first.refresh_from_db()
    assert first.status == OrderStatus.ALLOCATED
    # second: the 2 left on the first PO, then 2 of the second.
    assert dates([second]) == [[D2]]
    second.refresh_from_db()
    assert second.estimated_delivery_date == estimate(D2)


# --- API -----------------------------------------------------------------------------------
@pytest.fixture
def staff_api(db):
    user = UserFactory(username="expected-staff", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="orders", codename="view_order")
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def test_the_api_shows_expected_at_on_backordered_lines_only(
    supplier, product, other_product, staff_api
):
    receive(WarehouseFactory(code="MAN"), {other_product: 5})
    order = place({product: 2, other_product: 1})
    po(product, 10, D1)
    body = staff_api.get(f"/api/v1/orders/{order.number}/").json()
    by_sku = {line["sku"]: line for line in body["lines"]}
    assert by_sku[product.sku]["expected_at"] == D1.isoformat()
    assert by_sku[other_product.sku]["expected_at"] is None  # nothing waits
    assert (
        body["estimated_delivery_date"]
        == Order.objects.get(pk=order.pk).estimated_delivery_date.isoformat()
    )


def test_a_page_of_backordered_orders_with_pos_reads_the_dates_in_constant_queries(
    supplier, product, other_product, staff_api
):
    po(product, 4, D1)
    po(other_product, 50, D2)

    def page(n):
        for i in range(n):
            place({product: 2, other_product: 1}, email=f"p{n}-{i}@example.com")
        with CaptureQueriesContext(connection) as ctx:
            body = staff_api.get("/api/v1/orders/?page_size=100").json()
        return body, len(ctx.captured_queries)

    small_body, small = page(2)
    assert [
        {line["sku"]: line["expected_at"] for line in o["lines"]}
        for o in reversed(small_body["results"])
    ] == [
        {product.sku: D1.isoformat(), other_product.sku: D2.isoformat()},
        {product.sku: D1.isoformat(), other_product.sku: D2.isoformat()},
    ]
    large_body, large = page(10)
    assert large == small
    oldest_last = list(reversed(large_body["results"]))
    assert oldest_last[2]["lines"][0]["expected_at"] is None  # the 4 units went to the first two


# --- page and e-mails ------------------------------------------------------------------------
def test_the_order_page_shows_each_backordered_lines_expected_date(client, supplier, product):
    client.force_login(user_with("orders.view_order"))
    order = place({product: 2})
    po(product, 10, D1)
    page = client.get(f"/orders/{order.number}/").content.decode()
    assert f"expected {D1:%Y-%m-%d}" in page


@pytest.fixture
def mail_ready(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def estimate_mails(order):
    return [
        m for m in mail.outbox if m.subject == f"Your order {order.number}: new delivery estimate"
    ]


def test_a_moved_date_is_told_once_per_order_per_day(
    supplier, product, mail_ready, django_capture_on_commit_callbacks, monkeypatch
):
    with django_capture_on_commit_callbacks(execute=True):
        first = place({product: 2}, email="a@example.com")
        second = place({product: 2}, email="b@example.com")
        sent = po(product, 10, D2)
    # The delay e-mail (sent at confirmation, before the PO) has no date; sending tells nobody.
    assert not estimate_mails(first)
    with django_capture_on_commit_callbacks(execute=True):
        purchase_order_expected_at_change(purchase_order=sent, expected_at=D1)
    # Moved again to a Monday–Thursday, so that the day after it passes is a working day and
    # the estimate really moves (a date passing on a Friday moves nothing before Monday).
    moved = D1 + datetime.timedelta(days=3)
    while moved.weekday() >= 4:
        moved += datetime.timedelta(days=1)
    with django_capture_on_commit_callbacks(execute=True):
        purchase_order_expected_at_change(purchase_order=sent, expected_at=moved)
    for order in (first, second):
        [told] = estimate_mails(order)
        assert f"expected in our warehouse on {D1:%A %-d %B %Y}" in told.body
        assert (
            order.events.filter(type=EventType.ESTIMATE_UPDATED, details__notify=True).count() == 2
        )
    assert OutboxMessage.objects.filter(purpose="order_estimate_updated", order=first).count() == 1

    # The next day the expected date passes: told once more (and only once).
    passed_day = moved + datetime.timedelta(days=1)
    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: passed_day)
    with django_capture_on_commit_callbacks(execute=True):
        assert expected_dates_passed() == 2
    with django_capture_on_commit_callbacks(execute=True):
        assert expected_dates_passed() == 0
    assert len(estimate_mails(first)) == 2
    first.refresh_from_db()
    ship = add_business_days(passed_day, settings.OMS_HANDLING_DAYS)
    assert first.estimated_delivery_date == add_business_days(
        ship, settings.OMS_TRANSIT_DAYS_INTERNATIONAL
    )


def test_the_delay_email_shows_the_expected_date(
    supplier, product, mail_ready, django_capture_on_commit_callbacks
):
    po(product, 10, D1)
    with django_capture_on_commit_callbacks(execute=True):
        order = place({product: 2})
    [notice] = [m for m in mail.outbox if m.to == ["ada@example.com"]]
    assert order.number in notice.subject
    assert f"2 x {product.name} ({product.sku}): expected in our warehouse on {D1:%-d %B %Y}" in (
        notice.body
    )
