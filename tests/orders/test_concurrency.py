"""Real concurrency on PostgreSQL: row locks in one order, no lost units, no lost edits, no
deadlocks. On SQLite these tests are skipped (it serialises every writer)."""

import random
import time

import pytest

from inventory.exceptions import InventoryError
from inventory.models import Allocation, StockLevel
from inventory.services import stock_adjust
from orders.exceptions import OrderValidationError, TransitionNotAllowedNow
from orders.models import Channel, EventType, Order, OrderEvent, OrderLine, OrderStatus
from orders.services import (
    order_cancel,
    order_hold,
    order_line_substitute,
    order_release,
    stock_receipt_record,
)
from tests.concurrency import run_together
from tests.factories import ProductFactory, WarehouseFactory, place, receive

from .helpers import assert_invariants, fresh

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

S = OrderStatus


@pytest.fixture(autouse=True)
def channels():
    """transaction=True flushes the tables after each test, the data migration's rows too."""
    for code, auto in (("web", True), ("phone", False), ("counter", True), ("partner", True)):
        Channel.objects.get_or_create(code=code, defaults={"name": code, "auto_confirm": auto})


def test_twenty_clients_race_for_the_last_five_units():
    warehouse = WarehouseFactory(code="LDS")
    product = ProductFactory(sku="LAST")
    receive(warehouse, {product: 5})

    results = run_together(
        [lambda i=i: place({product: 1}, email=f"c{i}@example.com") for i in range(20)]
    )
    assert not [r for r in results if isinstance(r, BaseException)], results
    statuses = sorted(fresh(o).status for o in results)
    assert statuses.count(S.ALLOCATED) == 5
    assert statuses.count(S.BACKORDERED) == 15
    level = StockLevel.objects.get(product=product)
    assert (level.on_hand, level.reserved) == (5, 5)
    assert sum(OrderLine.objects.values_list("quantity_allocated", flat=True)) == 5
    assert_invariants()


def test_orders_locking_the_same_skus_in_opposite_order_never_deadlock():
    warehouses = [WarehouseFactory(code="W1"), WarehouseFactory(code="W2")]
    a, b, c = (ProductFactory(sku=s) for s in ("A", "B", "C"))
    for w in warehouses:
        receive(w, {a: 100, b: 100, c: 100})
    for round_ in range(8):
        results = run_together(
            [
                lambda: place({a: 3, b: 3, c: 3}, email="x@example.com"),
                lambda: place({c: 3, b: 3, a: 3}, email="y@example.com"),
                lambda: place({b: 60, a: 60}, email="z@example.com"),  # needs both warehouses
            ]
        )
        errors = [r for r in results if isinstance(r, BaseException)]
        assert not errors, (round_, errors)
        for order in results:
            order_cancel(order=order)
    assert_invariants()


def test_receipt_and_placement_never_deadlock():
    """A receipt into the second warehouse that fills backorders locks stock rows of every
    warehouse; a placement that needs both warehouses locks them too. Lower ids first always."""
    w1, w2 = WarehouseFactory(code="W1"), WarehouseFactory(code="W2")
    a, b, c = ProductFactory(sku="A"), ProductFactory(sku="B"), ProductFactory(sku="C")
    receive(w1, {a: 500, b: 500})
    receive(w2, {a: 500, b: 500})
    rng = random.Random(7)
    for round_ in range(10):
        waiting = place({c: 1}, email="w@example.com")  # the receipt will fill it
        assert fresh(waiting).status == S.BACKORDERED
        delay = rng.uniform(0, 0.01)  # shifts the placement's lock into the receipt's window

        def big(delay=delay):
            time.sleep(delay)
            return place({b: 520, a: 520}, email="big@example.com")

        results = run_together(
            [big, lambda: stock_receipt_record(warehouse=w2, lines=[(b, 1), (a, 1), (c, 1)])]
        )
        errors = [r for r in results if isinstance(r, BaseException)]
        assert not errors, (round_, errors)
        order_cancel(order=results[0])
        assert fresh(waiting).status == S.ALLOCATED
    assert_invariants()


def test_hold_and_cancel_at_once_exactly_one_wins():
    warehouse = WarehouseFactory(code="LDS")
    product = ProductFactory(sku="MUG")
    receive(warehouse, {product: 10})
    for _round in range(5):
        order = fresh(place({product: 1}))
        changes = OrderEvent.objects.filter(order=order, type=EventType.STATUS_CHANGED)
        events_before = changes.count()
        mine, theirs = fresh(order), fresh(order)
        results = run_together(
            [
                lambda mine=mine: order_hold(order=mine, reason="check"),
                lambda theirs=theirs: order_cancel(order=theirs),
            ]
        )
        won = [r for r in results if isinstance(r, Order)]
        lost = [r for r in results if isinstance(r, BaseException)]
        assert len(won) == 1 and len(lost) == 1, results
        assert isinstance(lost[0], TransitionNotAllowedNow), lost
        assert fresh(order).status == won[0].status
        assert changes.count() == events_before + 1  # one state change in the history
        if fresh(order).status == S.ON_HOLD:
            order_cancel(order=fresh(order))
    assert_invariants()


def expected_refusal(op: str, exc: Exception) -> bool:
    """Is ``exc`` a refusal that ``op`` may meet in the random mix?

    - placing and receiving always succeed (short stock is backordered, not refused);
    - an adjustment may be refused for taking on hand below what is reserved;
    - cancel, hold, release and substitute may find the order in a state that no longer
      allows them (another thread moved it), or a line that can no longer be substituted."""
    if type(exc) is InventoryError:
        return op == "adjust" and "below the" in exc.message
    if isinstance(exc, TransitionNotAllowedNow):
        return op in {"cancel", "hold", "substitute"}
    if type(exc) is OrderValidationError:
        return op == "substitute"
    return False


def test_random_mix_of_operations_keeps_every_invariant():
    warehouses = [
        WarehouseFactory(code="W1", country="GB"),
        WarehouseFactory(code="W2", country="FR"),
    ]
    products = [ProductFactory(sku=f"P{i}") for i in range(5)]
    for w in warehouses:
        receive(w, dict.fromkeys(products, 5))
    threads, per_thread = 4, 125  # 500 operations
    unexpected: list = []

    def worker(seed: int) -> int:
        rng = random.Random(seed)
        done = 0
        for _ in range(per_thread):
            op = rng.choice(
                ["place", "place", "place", "cancel", "receive", "hold", "substitute", "adjust"]
            )
            try:
                if op == "place":
                    chosen = rng.sample(products, rng.randint(1, 3))
                    place(
                        {p: rng.randint(1, 4) for p in chosen},
                        email=f"t{seed}@example.com",
                        country=rng.choice(["GB", "FR", "DE"]),
                    )
                elif op == "receive":
                    chosen = rng.sample(products, rng.randint(1, 2))
                    stock_receipt_record(
                        warehouse=rng.choice(warehouses),
                        lines=[(p, rng.randint(1, 6)) for p in chosen],
                    )
                elif op == "adjust":
                    level = rng.choice(list(StockLevel.objects.all()))
                    stock_adjust(
                        stock_level=level, quantity=rng.choice([-2, -1, 1, 2]), reason="count"
                    )
                else:
                    orders = list(Order.objects.exclude(status__in=[S.CANCELLED]).order_by("?")[:1])
                    if not orders:
                        done += 1
                        continue
                    order = orders[0]
                    if op == "cancel":
                        order_cancel(order=order)
                    elif op == "hold":
                        if order.status == S.ON_HOLD:
                            order_release(order=order)
                        else:
                            order_hold(order=order)
                    elif op == "substitute":
                        line = order.lines.order_by("?").first()
                        order_line_substitute(line=line, product=rng.choice(products))
                done += 1
            except Exception as exc:
                # Only the refusals an operation may meet when another thread got there first
                # count as done; anything else (a stale plan's InsufficientStock, a deadlock, a
                # constraint) is a bug.
                if expected_refusal(op, exc):
                    done += 1
                else:
                    unexpected.append((op, repr(exc)))
        return done

    results = run_together([lambda s=s: worker(s) for s in range(threads)], timeout=120)
    assert not unexpected, unexpected[:5]
    assert results == [per_thread] * threads, results
    assert Order.objects.exists() and Allocation.objects.exists()
    assert_invariants()
