"""Stock counts racing placements on PostgreSQL: orders then stock rows, in id order; a
placement that reserves between the count's reading of the orders and its locking of the row
makes the count start over, never lose or double units."""

import random
import threading
import time

import pytest
from django.db import connection

from inventory.models import StockLevel
from orders import stock_counts
from orders.models import Channel, OrderStatus
from orders.stock_counts import stock_count_record
from tests.concurrency import run_together
from tests.factories import ProductFactory, WarehouseFactory, place, receive
from tests.orders.helpers import assert_invariants, fresh

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

S = OrderStatus


@pytest.fixture(autouse=True)
def channels():
    """transaction=True flushes the tables after each test, the data migration's rows too."""
    for code, auto in (("web", True), ("phone", False), ("counter", True), ("partner", True)):
        Channel.objects.get_or_create(code=code, defaults={"name": code, "auto_confirm": auto})


def test_a_count_and_placements_on_the_same_sku_never_lose_units():
    leeds = WarehouseFactory(code="LDS")
    mug = ProductFactory(sku="MUG")
    rng = random.Random(12)
    for round_ in range(8):
        receive(leeds, {mug: 10})
        level = StockLevel.objects.get(product=mug)
        counted = rng.randint(0, level.on_hand)
        delay = rng.uniform(0, 0.01)

        def placement(delay=delay, round_=round_):
            time.sleep(delay)
            return place({mug: 3}, email=f"r{round_}@example.com")

        results = run_together(
            [
                placement,
                lambda counted=counted: stock_count_record(
                    warehouse=leeds, sku="MUG", counted=counted
                ),
            ]
        )
        errors = [r for r in results if isinstance(r, BaseException)]
        assert not errors, (round_, errors)
        order, count = results
        level = StockLevel.objects.get(product=mug)
        # The count is the last word on the shelf, or the placement reserved from what it left.
        assert level.on_hand == counted
        assert level.reserved <= counted
        assert fresh(order).status in (S.ALLOCATED, S.BACKORDERED)
        assert_invariants()


def test_a_placement_slipping_in_before_the_row_lock_makes_the_count_start_over(monkeypatch):
    leeds = WarehouseFactory(code="LDS")
    mug = ProductFactory(sku="MUG")
    receive(leeds, {mug: 10})
    older = place({mug: 4}, email="older@example.com")
    placed = []
    real_lock = stock_counts.stock_levels_for_update

    def lock_after_a_placement(**kwargs):
        if not placed:  # first attempt: another client reserves now, and commits
            worker = threading.Thread(
                target=lambda: (
                    placed.append(place({mug: 3}, email="newer@example.com")),
                    connection.close(),
                )
            )
            worker.start()
            worker.join(10)
            assert not worker.is_alive(), "the placement waited for the count's locks"
        return real_lock(**kwargs)

    monkeypatch.setattr(stock_counts, "stock_levels_for_update", lock_after_a_placement)

    result = stock_count_record(warehouse=leeds, sku="MUG", counted=5)

    newer = placed[0]
    # The second attempt locked the newer order too and took its units first.
    assert result.backordered == {newer.number: {"MUG": 2}}
    assert fresh(newer).status == S.BACKORDERED and fresh(older).status == S.ALLOCATED
    level = StockLevel.objects.get(product=mug)
    assert (level.on_hand, level.reserved) == (5, 5)
    assert_invariants()
