"""Real concurrency on PostgreSQL: receiving against the same purchase order line at once never
over-receives, and a receipt racing placements of the same SKU never deadlocks."""

from decimal import Decimal

import pytest

from inventory.models import StockLevel, StockMovement
from orders.models import Channel
from purchasing.exceptions import PurchaseOrderNotAllowedNow, PurchasingValidationError
from purchasing.models import PurchaseOrderLine
from purchasing.services import (
    PurchaseOrderLineInput,
    purchase_order_create,
    purchase_order_receive,
    purchase_order_send,
    supplier_create,
    supplier_product_upsert,
)
from tests.concurrency import run_together
from tests.factories import ProductFactory, WarehouseFactory, place

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def channels():
    for code, auto in (("web", True), ("phone", False), ("counter", True), ("partner", True)):
        Channel.objects.get_or_create(code=code, defaults={"name": code, "auto_confirm": auto})


@pytest.fixture
def open_po():
    warehouse = WarehouseFactory(code="LDS")
    product = ProductFactory(sku="MUG-BLUE")
    supplier = supplier_create(code="ACME", name="Świętokrzyska Hurtownia", email="po@acme.test")
    supplier_product_upsert(supplier=supplier, product=product, unit_cost=Decimal("2.00"))
    po = purchase_order_create(
        supplier="ACME",
        warehouse="LDS",
        lines=[PurchaseOrderLineInput(sku="MUG-BLUE", quantity=10)],
    ).purchase_order
    purchase_order_send(purchase_order=po)
    return po, product, warehouse


def test_two_clerks_receiving_the_same_line_never_over_receive(open_po):
    po, product, warehouse = open_po
    results = run_together(
        [
            lambda: purchase_order_receive(purchase_order=po, lines=[(product, 7)]),
            lambda: purchase_order_receive(purchase_order=po, lines=[(product, 7)]),
        ]
    )
    refused = [r for r in results if isinstance(r, PurchasingValidationError)]
    assert len(refused) == 1, results
    assert "only 3 of 10 are still outstanding" in refused[0].fields["lines"][0]
    line = PurchaseOrderLine.objects.get(purchase_order=po)
    assert line.quantity_received == 7
    level = StockLevel.objects.get(product=product, warehouse=warehouse)
    assert level.on_hand == 7
    assert StockMovement.objects.filter(stock_level=level).count() == 1


def test_many_small_receipts_add_up_exactly(open_po):
    po, product, warehouse = open_po
    results = run_together(
        [lambda: purchase_order_receive(purchase_order=po, lines=[(product, 1)]) for _ in range(12)]
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 10
    # The late ones find the line full (400) or the order received already (409).
    assert all(
        isinstance(r, PurchasingValidationError | PurchaseOrderNotAllowedNow)
        for r in results
        if isinstance(r, BaseException)
    ), results
    assert PurchaseOrderLine.objects.get(purchase_order=po).quantity_received == 10
    assert StockLevel.objects.get(product=product, warehouse=warehouse).on_hand == 10


def test_a_receipt_racing_placements_never_deadlocks(open_po):
    po, product, warehouse = open_po
    place({product: 2}, email="early@example.com")  # backordered, waits for the receipt
    jobs = [lambda: purchase_order_receive(purchase_order=po, lines=[(product, 10)])]
    jobs += [lambda i=i: place({product: 1}, email=f"c{i}@example.com") for i in range(6)]
    results = run_together(jobs)
    assert not [r for r in results if isinstance(r, BaseException)], results
    level = StockLevel.objects.get(product=product, warehouse=warehouse)
    assert level.on_hand == 10
    assert level.reserved == 8  # the early order (2) and every placement (6)
