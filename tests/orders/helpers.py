"""Checks shared by the order tests: the stock and order-line invariants of architecture.md."""

from django.db.models import Sum

from inventory.models import Allocation, StockLevel, StockMovement
from orders.models import Order, OrderEvent, OrderLine


def assert_invariants() -> None:
    """Every stock level agrees with its allocations and its ledger; no line is over-allocated."""
    reserved = dict(
        Allocation.objects.values("stock_level")
        .annotate(s=Sum("quantity"))
        .values_list("stock_level", "s")
    )
    ledger = dict(
        StockMovement.objects.values("stock_level")
        .annotate(s=Sum("quantity"))
        .values_list("stock_level", "s")
    )
    for level in StockLevel.objects.all():
        assert 0 <= level.reserved <= level.on_hand, level
        assert reserved.get(level.pk, 0) == level.reserved, level
        assert ledger.get(level.pk, 0) == level.on_hand, level
    allocated = dict(
        Allocation.objects.values("order_line")
        .annotate(s=Sum("quantity"))
        .values_list("order_line", "s")
    )
    for line in OrderLine.objects.all():
        used = line.quantity_allocated + line.quantity_shipped + line.quantity_cancelled
        assert used <= line.quantity, line
        assert allocated.get(line.pk, 0) == line.quantity_allocated, line


def fresh(order: Order) -> Order:
    return Order.objects.get(pk=order.pk)


def snapshot(order: Order) -> dict:
    """What a refused action must leave untouched: the row, its lines and its history."""
    row = Order.objects.filter(pk=order.pk).values().get()
    lines = list(OrderLine.objects.filter(order=order).order_by("pk").values())
    events = OrderEvent.objects.filter(order=order).count()
    allocations = list(Allocation.objects.filter(order_line__order=order).order_by("pk").values())
    return {"row": row, "lines": lines, "events": events, "allocations": allocations}
