"""Real concurrency on PostgreSQL: the backorders' estimates made again while purchase orders
move (issue 14). A purchase order's new expected date races a placement that backorders the same
SKU, and a receipt races a new date on another purchase order of the same SKU: nobody sees a
deadlock (or any error), and every backordered order ends with the estimate its lines' expected
dates give (what a fresh estimate computes from the purchase orders as they ended)."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from orders.models import Channel, Order, OrderLine, OrderStatus
from orders.services.allocation import estimates_follow_expected
from purchasing.models import PurchaseOrder
from purchasing.services import (
    PurchaseOrderLineInput,
    purchase_order_create,
    purchase_order_expected_at_change,
    purchase_order_receive,
    purchase_order_send,
    supplier_create,
    supplier_product_upsert,
)
from tests.concurrency import run_together
from tests.factories import ProductFactory, WarehouseFactory, place

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TODAY = timezone.localdate()
ROUNDS = 6


@pytest.fixture(autouse=True)
def channels():
    for code, auto in (("web", True), ("phone", False), ("counter", True), ("partner", True)):
        Channel.objects.get_or_create(code=code, defaults={"name": code, "auto_confirm": auto})


@pytest.fixture
def mug():
    WarehouseFactory(code="LDS", country="GB")
    product = ProductFactory(sku="MUG-BLUE")
    supplier = supplier_create(code="ACME", name="Acme", email="po@acme.test")
    supplier_product_upsert(supplier=supplier, product=product, unit_cost=Decimal("2.00"))
    return product


def sent_po(quantity: int, days: int) -> PurchaseOrder:
    po = purchase_order_create(
        supplier="ACME",
        warehouse="LDS",
        expected_at=TODAY + datetime.timedelta(days=days),
        lines=[PurchaseOrderLineInput(sku="MUG-BLUE", quantity=quantity)],
    ).purchase_order
    purchase_order_send(purchase_order=po)
    return po


def errors(results):
    return [r for r in results if isinstance(r, BaseException)]


def stale_estimates() -> list[str]:
    """The backordered orders whose stored estimate differs from the one their lines' expected
    dates give now (empty when every estimate is consistent)."""
    orders = list(Order.objects.filter(status=OrderStatus.BACKORDERED).order_by("pk"))
    lines = {o.pk: [] for o in orders}
    for line in OrderLine.objects.filter(order__in=orders).select_related("product"):
        lines[line.order_id].append(line)
    stored = {o.pk: (o.promised_ship_date, o.estimated_delivery_date) for o in orders}
    changed, _ = estimates_follow_expected([(o, lines[o.pk]) for o in orders])
    return [
        f"{o.number}: stored {stored[o.pk]}, "
        f"expected {(o.promised_ship_date, o.estimated_delivery_date)}"
        for o in changed
    ]


def test_a_new_expected_date_racing_a_placement_that_backorders_the_sku(mug):
    po = sent_po(100, days=10)
    place({mug: 2}, email="early@example.com")  # already waiting for the purchase order
    for round_ in range(ROUNDS):
        new_date = TODAY + datetime.timedelta(days=12 + 3 * round_)
        results = run_together(
            [
                lambda d=new_date: purchase_order_expected_at_change(
                    purchase_order=po, expected_at=d
                ),
                lambda r=round_: place({mug: 1}, email=f"c{r}@example.com"),
            ]
        )
        assert not errors(results), results
        assert stale_estimates() == [], f"round {round_ + 1}"
    assert Order.objects.filter(status=OrderStatus.BACKORDERED).count() == ROUNDS + 1


def test_a_receipt_racing_a_new_date_on_another_po_of_the_sku(mug):
    first = sent_po(4, days=5)
    second = sent_po(100, days=20)
    for i in range(8):  # 8 orders of 1 unit: 4 are filled by the first PO, 4 wait for the second
        place({mug: 1}, email=f"w{i}@example.com")
    results = run_together(
        [
            lambda: purchase_order_receive(purchase_order=first, lines=[(mug, 4)]),
            lambda: purchase_order_expected_at_change(
                purchase_order=second, expected_at=TODAY + datetime.timedelta(days=30)
            ),
        ]
    )
    assert not errors(results), results
    assert Order.objects.filter(status=OrderStatus.ALLOCATED).count() == 4
    assert Order.objects.filter(status=OrderStatus.BACKORDERED).count() == 4
    assert stale_estimates() == []
    # Several rounds: receipts of one unit against the new dates of the second purchase order.
    third = sent_po(10, days=7)
    for round_ in range(ROUNDS):
        results = run_together(
            [
                lambda: purchase_order_receive(purchase_order=third, lines=[(mug, 1)]),
                lambda r=round_: purchase_order_expected_at_change(
                    purchase_order=second, expected_at=TODAY + datetime.timedelta(days=31 + r)
                ),
            ]
        )
        assert not errors(results), results
        assert stale_estimates() == [], f"round {round_ + 1}"
    assert Order.objects.filter(status=OrderStatus.BACKORDERED).count() == 0
