"""Posting a count sheet while placements reserve from the same rows, on PostgreSQL: the sheet
locks the orders holding reservations on its rows, then the rows (by id); a placement either
reserves before (and may lose its units to the count, newest first) or after (from what was
counted). Every invariant holds: on_hand >= reserved >= 0, reserved is the sum of the
allocations, on_hand the sum of the ledger."""

import random

import pytest

from inventory.cycle_counts import CycleCountInput, cycle_count_counts_save, cycle_count_create
from inventory.models import StockLevel
from orders.cycle_counts import cycle_count_post
from orders.models import Channel, OrderStatus
from tests.concurrency import run_together
from tests.factories import ProductFactory, WarehouseFactory, place, receive
from tests.orders.helpers import assert_invariants, fresh

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def channels():
    """transaction=True flushes the tables after each test, the data migration's rows too."""
    for code, auto in (("web", True), ("phone", False), ("counter", True), ("partner", True)):
        Channel.objects.get_or_create(code=code, defaults={"name": code, "auto_confirm": auto})


def test_posting_a_sheet_while_orders_reserve_keeps_every_invariant():
    leeds = WarehouseFactory(code="LDS")
    products = [ProductFactory(sku=f"BOLT-{i}") for i in range(4)]
    rng = random.Random(14)
    for round_ in range(6):
        receive(leeds, dict.fromkeys(products, 6))
        for p in products[:2]:  # reservations already on the rows
            place({p: 2}, email=f"early{round_}@example.com")
        made = cycle_count_create(data=CycleCountInput(warehouse="LDS"))
        counts = {
            line.pk: rng.randint(0, line.on_hand_snapshot)
            for line in made.lines
            if rng.random() < 0.8
        }
        counts[made.lines[0].pk] = 0  # at least one row below what is reserved
        cycle_count_counts_save(cycle_count_id=made.cycle_count.pk, counts=counts)
        expected = {
            line.stock_level_id: counts[line.pk] for line in made.lines if line.pk in counts
        }

        def placement(i, round_=round_):
            return place(
                {products[i % 4]: 2, products[(i + 1) % 4]: 1}, email=f"r{round_}-{i}@example.com"
            )

        jobs = [lambda i=i: placement(i) for i in range(4)]
        jobs.insert(2, lambda sheet=made.cycle_count.pk: cycle_count_post(cycle_count_id=sheet))
        results = run_together(jobs)
        errors = [r for r in results if isinstance(r, BaseException)]
        assert not errors, (round_, errors)
        posted = results[2]
        assert posted.detail.cycle_count.status == "posted"
        for order in results[:2] + results[3:]:
            assert fresh(order).status in (OrderStatus.ALLOCATED, OrderStatus.BACKORDERED)
        for level in StockLevel.objects.filter(pk__in=list(expected)):
            # The count set on_hand; a placement after it may only have reserved from it.
            assert level.on_hand == expected[level.pk], (round_, level)
            assert 0 <= level.reserved <= level.on_hand
        assert_invariants()
