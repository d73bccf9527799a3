"""Stock services: every on_hand change writes exactly one ledger row; the ledger is
append-only; the database refuses negative or over-reserved stock."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Sum

from inventory.exceptions import InsufficientStock, InventoryError
from inventory.locks import stock_levels_for_update
from inventory.models import Allocation, MovementKind, StockLevel, StockMovement
from inventory.selectors import product_list_with_availability
from inventory.services import (
    Reservation,
    stock_adjust,
    stock_consume,
    stock_receive,
    stock_release,
    stock_reserve,
    stock_restock,
)
from tests.factories import ProductFactory, UserFactory, WarehouseFactory, place


@pytest.fixture
def warehouse(db):
    return WarehouseFactory(code="LDS")


@pytest.fixture
def product(db):
    return ProductFactory(sku="MUG")


def level_of(product, warehouse) -> StockLevel:
    return StockLevel.objects.get(product=product, warehouse=warehouse)


def assert_ledger_agrees() -> None:
    for level in StockLevel.objects.all():
        total = level.movements.aggregate(s=Sum("quantity"))["s"] or 0
        assert total == level.on_hand, level
        reserved = level.allocations.aggregate(s=Sum("quantity"))["s"] or 0
        assert reserved == level.reserved, level


# --- receive -------------------------------------------------------------------------------------
def test_receive_creates_the_stock_row_and_one_movement_per_product(warehouse, product):
    other = ProductFactory(sku="TEE")
    clerk = UserFactory()
    movements = stock_receive(
        warehouse=warehouse,
        lines=[(product, 3), (other, 2), (product, 4)],
        user=clerk,
        reference="PO-1",
    )
    assert level_of(product, warehouse).on_hand == 7
    assert level_of(other, warehouse).on_hand == 2
    assert StockMovement.objects.count() == 2 == len(movements)
    mug = StockMovement.objects.get(stock_level__product=product)
    assert (mug.kind, mug.quantity, mug.on_hand_after) == (MovementKind.RECEIPT, 7, 7)
    assert (mug.reference, mug.created_by) == ("PO-1", clerk)
    stock_receive(warehouse=warehouse, lines=[(product, 1)])
    assert level_of(product, warehouse).on_hand == 8
    assert_ledger_agrees()


@pytest.mark.parametrize(
    ("lines", "text"),
    [
        ([], "at least one line"),
        ([("P", 0)], "positive whole number"),
        ([("P", -3)], "positive whole number"),
        ([("P", 1.5)], "positive whole number"),
        ([("P", True)], "positive whole number"),
    ],
)
def test_receive_refused(warehouse, product, lines, text):
    lines = [(product, q) for _p, q in lines]
    with pytest.raises(InventoryError) as exc:
        stock_receive(warehouse=warehouse, lines=lines)
    assert text in exc.value.message
    assert not StockMovement.objects.exists()
    assert not StockLevel.objects.filter(on_hand__gt=0).exists()


def test_receive_refused_into_inactive_warehouse(product):
    closed = WarehouseFactory(code="OLD", is_active=False)
    with pytest.raises(InventoryError) as exc:
        stock_receive(warehouse=closed, lines=[(product, 1)])
    assert exc.value.field == "warehouse"
    assert not StockMovement.objects.exists()


# --- adjust --------------------------------------------------------------------------------------
def test_adjust_writes_one_movement_with_its_reason(warehouse, product):
    stock_receive(warehouse=warehouse, lines=[(product, 10)])
    level = level_of(product, warehouse)
    movement = stock_adjust(stock_level=level, quantity=-3, reason=" broken in the bin ")
    assert (movement.kind, movement.quantity, movement.on_hand_after) == (
        MovementKind.ADJUSTMENT,
        -3,
        7,
    )
    assert movement.reason == "broken in the bin"
    assert level_of(product, warehouse).on_hand == 7
    assert level.on_hand == 7  # the caller's copy is up to date
    stock_adjust(stock_level=level, quantity=2, reason="found two")
    assert level_of(product, warehouse).on_hand == 9
    assert StockMovement.objects.count() == 3
    assert_ledger_agrees()


@pytest.mark.parametrize(
    ("quantity", "reason", "field", "text"),
    [
        (-1, "", "reason", "Give a reason"),
        (-1, "   ", "reason", "Give a reason"),
        (0, "count", "quantity", "non-zero whole number"),
        (1.5, "count", "quantity", "non-zero whole number"),
        (-11, "count", "quantity", "on hand would be -1"),
        (-9, "count", "quantity", "below the 2 units reserved"),
    ],
)
def test_adjust_refused(warehouse, product, quantity, reason, field, text):
    stock_receive(warehouse=warehouse, lines=[(product, 10)])
    order = place({product: 2})  # reserves 2
    assert order.lines.get().quantity_allocated == 2
    with pytest.raises(InventoryError) as exc:
        stock_adjust(stock_level=level_of(product, warehouse), quantity=quantity, reason=reason)
    assert exc.value.field == field
    assert text in exc.value.message
    level = level_of(product, warehouse)
    assert (level.on_hand, level.reserved) == (10, 2)
    assert StockMovement.objects.count() == 1


# --- reserve, release, consume -------------------------------------------------------------------
@pytest.fixture
def line(warehouse, product):
    """An order line waiting for 5 units (backordered: nothing in stock yet)."""
    order = place({product: 5})
    return order.lines.get()


def test_reserve_and_release(warehouse, product, line):
    stock_receive(warehouse=warehouse, lines=[(product, 4)])
    with transaction.atomic():
        level = stock_levels_for_update(ids=[level_of(product, warehouse).pk]).get()
        stock_reserve(reservations=[Reservation(order_line=line, stock_level=level, quantity=2)])
        stock_reserve(reservations=[Reservation(order_line=line, stock_level=level, quantity=1)])
    assert level_of(product, warehouse).reserved == 3
    allocation = Allocation.objects.get()
    assert allocation.quantity == 3  # one allocation per line and stock row
    with transaction.atomic():
        level = stock_levels_for_update(ids=[level.pk]).get()
        with pytest.raises(InsufficientStock) as exc:
            stock_reserve(
                reservations=[Reservation(order_line=line, stock_level=level, quantity=2)]
            )
    assert "2 requested, only 1 available" in exc.value.message
    assert level_of(product, warehouse).reserved == 3

    assert stock_release(allocations=[allocation]) == 3
    level = level_of(product, warehouse)
    assert (level.on_hand, level.reserved) == (4, 0)
    assert not Allocation.objects.exists()
    assert StockMovement.objects.count() == 1  # a release does not change on_hand


def test_consume_takes_units_out_of_the_building(warehouse, product, line):
    stock_receive(warehouse=warehouse, lines=[(product, 10)])
    with transaction.atomic():
        level = stock_levels_for_update(ids=[level_of(product, warehouse).pk]).get()
        (allocation,) = stock_reserve(
            reservations=[Reservation(order_line=line, stock_level=level, quantity=5)]
        )
    movement = stock_consume(allocation=allocation, quantity=2, reference="SH-1")
    assert (movement.kind, movement.quantity, movement.on_hand_after) == (
        MovementKind.SHIPMENT,
        -2,
        8,
    )
    level = level_of(product, warehouse)
    assert (level.on_hand, level.reserved) == (8, 3)
    assert Allocation.objects.get().quantity == 3

    stale = Allocation.objects.get()
    stock_consume(allocation=Allocation.objects.get(), quantity=2, reference="SH-2")
    with pytest.raises(InventoryError) as exc:  # the stale copy still says 3
        stock_consume(allocation=stale, quantity=3, reference="SH-3")
    assert "Cannot ship 3 of 1 reserved" in exc.value.message
    assert stock_release(allocations=[stale]) == 1  # releases what is left, not the stale 3
    level = level_of(product, warehouse)
    assert (level.on_hand, level.reserved) == (6, 0)
    assert_ledger_agrees()


def test_consume_refuses_bad_quantities(warehouse, product, line):
    stock_receive(warehouse=warehouse, lines=[(product, 10)])
    with transaction.atomic():
        level = stock_levels_for_update(ids=[level_of(product, warehouse).pk]).get()
        (allocation,) = stock_reserve(
            reservations=[Reservation(order_line=line, stock_level=level, quantity=2)]
        )
    for quantity in (0, -1, 3):
        with pytest.raises(InventoryError):
            stock_consume(allocation=allocation, quantity=quantity, reference="x")
    assert level_of(product, warehouse).on_hand == 10
    assert StockMovement.objects.count() == 1


def test_restock_returns_units(warehouse, product):
    stock_receive(warehouse=warehouse, lines=[(product, 1)])
    movement = stock_restock(
        stock_level=level_of(product, warehouse), quantity=2, reference="RMA-1"
    )
    assert (movement.kind, movement.on_hand_after) == (MovementKind.RETURN_RESTOCK, 3)
    with pytest.raises(InventoryError):
        stock_restock(stock_level=level_of(product, warehouse), quantity=0, reference="x")
    assert_ledger_agrees()


# --- the ledger is append-only -------------------------------------------------------------------
def test_ledger_rows_cannot_be_changed_or_deleted(warehouse, product):
    (movement,) = stock_receive(warehouse=warehouse, lines=[(product, 5)])
    movement = StockMovement.objects.get(pk=movement.pk)
    movement.quantity = 50
    with pytest.raises(ValidationError, match="append-only"):
        movement.save()
    with pytest.raises(ValidationError, match="append-only"):
        movement.delete()
    with pytest.raises(ValidationError, match="append-only"):
        StockMovement.objects.filter(pk=movement.pk).update(quantity=50)
    with pytest.raises(ValidationError, match="append-only"):
        StockMovement.objects.all().delete()
    assert StockMovement.objects.get().quantity == 5


# --- database constraints ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "change",
    [
        {"on_hand": -1, "reserved": 0},
        {"reserved": -1},
        {"reserved": F("on_hand") + 1},
    ],
    ids=["on_hand_negative", "reserved_negative", "reserved_above_on_hand"],
)
def test_database_refuses_impossible_stock(warehouse, product, change):
    stock_receive(warehouse=warehouse, lines=[(product, 3)])
    with pytest.raises(IntegrityError), transaction.atomic():
        StockLevel.objects.filter(product=product).update(**change)
    level = level_of(product, warehouse)
    assert (level.on_hand, level.reserved) == (3, 0)


# --- selectors -----------------------------------------------------------------------------------
def test_availability_counts_active_warehouses_only(warehouse, product):
    closed = WarehouseFactory(code="OLD")
    stock_receive(warehouse=warehouse, lines=[(product, 4)])
    stock_receive(warehouse=closed, lines=[(product, 7)])
    closed.is_active = False
    closed.save(update_fields=["is_active"])
    place({product: 1})
    nothing = ProductFactory(sku="NONE")
    available = {p.sku: p.available for p in product_list_with_availability()}
    assert available == {"MUG": 3, "NONE": 0}
    assert nothing.sku in available


@pytest.mark.django_db
def test_scrap_writes_off_unreserved_units_only():
    from inventory.services import stock_scrap
    from tests.factories import ProductFactory, WarehouseFactory, place, receive

    warehouse = WarehouseFactory(code="SCR")
    product = ProductFactory(sku="SCRAP-ME")
    receive(warehouse, {product: 5})
    place({product: 3})
    level = StockLevel.objects.get(product=product)
    with pytest.raises(InventoryError, match="only 2 are not reserved"):
        stock_scrap(stock_level=level, quantity=3, reference="", reason="broken")
    with pytest.raises(InventoryError, match="reason"):
        stock_scrap(stock_level=level, quantity=1, reference="", reason=" ")
    movement = stock_scrap(stock_level=level, quantity=2, reference="CNT-1", reason="broken")
    level.refresh_from_db()
    assert (level.on_hand, level.reserved) == (3, 3)
    assert (movement.kind, movement.quantity, movement.on_hand_after) == (
        MovementKind.SCRAP,
        -2,
        3,
    )
