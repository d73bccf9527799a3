"""Real concurrency on PostgreSQL: two clerks shipping the same transfer ship it once; shipping
racing placements for the last units at the source never drives stock negative nor gives a
unit twice; receiving racing placements at the destination never deadlocks."""

import pytest
from django.db.models import Sum

from inventory.exceptions import InsufficientStock
from inventory.models import StockLevel, StockMovement
from orders.models import Channel, Order, OrderStatus
from purchasing.exceptions import TransferNotAllowedNow
from purchasing.models import Transfer, TransferEvent, TransferStatus
from purchasing.services import (
    TransferLineInput,
    transfer_create,
    transfer_receive,
    transfer_ship,
)
from tests.concurrency import run_together
from tests.factories import ProductFactory, WarehouseFactory, place, receive

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def channels():
    for code, auto in (("web", True), ("phone", False), ("counter", True), ("partner", True)):
        Channel.objects.get_or_create(code=code, defaults={"name": code, "auto_confirm": auto})


@pytest.fixture
def world():
    # Madrid ships first to GB orders only when Leeds has nothing: same country wins.
    madrid = WarehouseFactory(code="MAD", country="ES", priority=50)
    leeds = WarehouseFactory(code="LDS", country="GB", priority=10)
    mug = ProductFactory(sku="MUG-BLUE")
    receive(madrid, {mug: 5})
    transfer = transfer_create(
        source="MAD", destination="LDS", lines=[TransferLineInput(sku="MUG-BLUE", quantity=5)]
    ).transfer
    return madrid, leeds, mug, transfer


def level(product, warehouse) -> StockLevel:
    return StockLevel.objects.get(product=product, warehouse=warehouse)


def ledger_total(product, warehouse) -> int:
    return (
        StockMovement.objects.filter(
            stock_level__product=product, stock_level__warehouse=warehouse
        ).aggregate(total=Sum("quantity"))["total"]
        or 0
    )


def test_two_clerks_shipping_the_same_transfer_ship_it_once(world):
    madrid, leeds, mug, transfer = world
    results = run_together(
        [
            lambda: transfer_ship(transfer=Transfer.objects.get(pk=transfer.pk)),
            lambda: transfer_ship(transfer=Transfer.objects.get(pk=transfer.pk)),
        ]
    )
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(refused) == 1, results
    assert isinstance(refused[0], TransferNotAllowedNow)
    assert refused[0].status == "shipped"
    assert level(mug, madrid).on_hand == 0
    assert StockMovement.objects.filter(reference__startswith=transfer.number).count() == 1
    assert TransferEvent.objects.filter(transfer=transfer, type="shipped").count() == 1


def test_shipping_racing_placements_for_the_last_units_never_gives_a_unit_twice(world):
    madrid, leeds, mug, transfer = world
    jobs = [lambda: transfer_ship(transfer=Transfer.objects.get(pk=transfer.pk))]
    jobs += [lambda i=i: place({mug: 1}, email=f"c{i}@example.com") for i in range(4)]
    results = run_together(jobs)
    ship_result, placements = results[0], results[1:]
    assert not [r for r in placements if isinstance(r, BaseException)], placements
    stock = level(mug, madrid)
    assert 0 <= stock.reserved <= stock.on_hand
    assert stock.on_hand == ledger_total(mug, madrid)
    allocated = Order.objects.filter(status=OrderStatus.ALLOCATED).count()
    status = Transfer.objects.get(pk=transfer.pk).status
    if isinstance(ship_result, InsufficientStock):
        # A placement reserved first: the transfer stays requested, nothing left Madrid.
        assert status == TransferStatus.REQUESTED
        assert stock.on_hand == 5 and stock.reserved == allocated >= 1
    else:
        assert not isinstance(ship_result, BaseException), ship_result
        # The transfer took all 5 first: every placement after it found nothing available.
        assert status == TransferStatus.SHIPPED
        assert (stock.on_hand, stock.reserved, allocated) == (0, 0, 0)
        assert Order.objects.filter(status=OrderStatus.BACKORDERED).count() == 4


def test_receiving_racing_placements_at_the_destination_never_deadlocks(world):
    madrid, leeds, mug, transfer = world
    transfer_ship(transfer=transfer)
    place({mug: 2}, email="early@example.com")  # backordered: waits for the transfer
    jobs = [lambda: transfer_receive(transfer=Transfer.objects.get(pk=transfer.pk))]
    jobs += [lambda i=i: place({mug: 1}, email=f"c{i}@example.com") for i in range(3)]
    results = run_together(jobs)
    assert not [r for r in results if isinstance(r, BaseException)], results
    stock = level(mug, leeds)
    assert stock.on_hand == 5 == ledger_total(mug, leeds)
    assert stock.reserved == 5  # the early order (2) and every placement (3)
    assert Transfer.objects.get(pk=transfer.pk).status == TransferStatus.RECEIVED
