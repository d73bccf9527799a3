"""Stock writes. Every change of on_hand writes exactly one ledger row (``StockMovement``).

Stock moves in two stages (Saleor, Oscar): *reserve* at order time (``reserved`` up, an
``Allocation`` row), then *consume* at shipping (``on_hand`` and ``reserved`` down, a ledger
row), or
*release* on cancel (``reserved`` down). Callers lock the stock rows first (``inventory.locks``)
and pass the locked instances; the functions here change them and save with ``update_fields``.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.db.models import F

from core.bulk import update_int_columns
from core.validation import is_positive_int, is_whole_number

from .exceptions import InsufficientStock, InventoryError
from .locks import stock_levels_for_update
from .models import Allocation, MovementKind, Product, StockLevel, StockMovement, Warehouse
from .signals import stock_available

# No single stock move is larger (keeps every figure far inside the database's integer range).
MAX_UNITS_PER_MOVE = 1_000_000


@dataclass(frozen=True)
class Reservation:
    order_line: Any  # an orders.OrderLine (inventory imports nothing above it)
    stock_level: StockLevel
    quantity: int


def _announce_available(product_ids: Iterable[int]) -> None:
    """After commit, tell listeners (backorder filling) that these products have free units."""
    ids = sorted(set(product_ids))
    if ids:
        transaction.on_commit(lambda: stock_available.send(sender=StockLevel, product_ids=ids))


def stock_levels_ensure(*, warehouse: Warehouse, products: Iterable[Product]) -> None:
    """Create the missing stock rows of ``products`` in ``warehouse`` (zero stock)."""
    product_ids = {p.pk for p in products}
    existing = set(
        StockLevel.objects.filter(warehouse=warehouse, product_id__in=product_ids).values_list(
            "product_id", flat=True
        )
    )
    missing = [
        StockLevel(product_id=pid, warehouse=warehouse) for pid in sorted(product_ids - existing)
    ]
    if missing:
        StockLevel.objects.bulk_create(missing, ignore_conflicts=True)


def _write_movements(movements: list[StockMovement]) -> list[StockMovement]:
    return StockMovement.objects.bulk_create(movements)


def _movement(
    level: StockLevel,
    *,
    kind: str,
    quantity: int,
    reference: str,
    reason: str,
    user: User | AnonymousUser | None,
) -> StockMovement:
    return StockMovement(
        stock_level=level,
        kind=kind,
        quantity=quantity,
        on_hand_after=level.on_hand,
        reference=reference[:100],
        reason=reason[:255],
        created_by=user if user is not None and user.is_authenticated else None,
    )


def _merge_lines(lines: Sequence[tuple[Product, int]]) -> dict[Product, int]:
    merged: dict[Product, int] = defaultdict(int)
    for position, (product, quantity) in enumerate(lines, start=1):
        if not is_positive_int(quantity):
            raise InventoryError(
                f"Line {position} ({product.sku}): quantity must be a positive whole number.",
                field="lines",
            )
        merged[product] += quantity
        if merged[product] > MAX_UNITS_PER_MOVE:
            raise InventoryError(
                f"Line {position} ({product.sku}): at most {MAX_UNITS_PER_MOVE:,} units "
                "per receipt line.",
                field="lines",
            )
    return merged


def stock_receive(
    *,
    warehouse: Warehouse,
    lines: Sequence[tuple[Product, int]],
    user: User | AnonymousUser | None = None,
    reference: str = "",
    line_references: Mapping[int, str] | None = None,
) -> list[StockMovement]:
    """Book goods received into ``warehouse``: on_hand up, one receipt movement per product.

    ``line_references``: product id → the ledger reference of that product's movement (a
    purchase order's line), instead of ``reference``.

    Backorders are not filled here (inventory knows nothing of orders); the orders app's
    ``stock_receipt_record`` calls this and then fills them in the same transaction.
    """
    if not lines:
        raise InventoryError("A receipt needs at least one line.", field="lines")
    if not warehouse.is_active:
        raise InventoryError(f"Warehouse {warehouse.code} is not active.", field="warehouse")
    merged = _merge_lines(lines)
    with transaction.atomic():
        stock_levels_ensure(warehouse=warehouse, products=merged)
        levels = {
            level.product_id: level
            for level in stock_levels_for_update(product_ids=[p.pk for p in merged]).filter(
                warehouse=warehouse
            )
        }
        movements = []
        for product, quantity in merged.items():
            level = levels[product.pk]
            level.on_hand += quantity
            movements.append(
                _movement(
                    level,
                    kind=MovementKind.RECEIPT,
                    quantity=quantity,
                    reference=(line_references or {}).get(product.pk, reference),
                    reason="",
                    user=user,
                )
            )
        StockLevel.objects.bulk_update(levels.values(), ["on_hand"])
        _announce_available(product.pk for product in merged)
        return _write_movements(movements)


def stock_adjust(
    *, stock_level: StockLevel, quantity: int, reason: str, user: User | AnonymousUser | None = None
) -> StockMovement:
    """Correct on_hand by ``quantity`` (signed), e.g. after a count; a reason is required."""
    reason = (reason or "").strip()
    if not reason:
        raise InventoryError("Give a reason for the adjustment.", field="reason")
    if not is_whole_number(quantity) or quantity == 0:
        raise InventoryError("The adjustment must be a non-zero whole number.", field="quantity")
    if abs(quantity) > MAX_UNITS_PER_MOVE:
        raise InventoryError(
            f"An adjustment moves at most {MAX_UNITS_PER_MOVE:,} units at once.", field="quantity"
        )
    with transaction.atomic():
        level = stock_levels_for_update(ids=[stock_level.pk]).get()
        if level.on_hand + quantity < level.reserved:
            raise InventoryError(
                f"{level}: on hand would be {level.on_hand + quantity}, below the "
                f"{level.reserved} units reserved for orders. If a count found that many, "
                "record the count instead: the newest orders' reservations go back to "
                "backorders.",
                field="quantity",
            )
        level.on_hand += quantity
        level.save(update_fields=["on_hand"])
        if quantity > 0:
            _announce_available([level.product_id])
        stock_level.on_hand, stock_level.reserved = level.on_hand, level.reserved
        return _movement_save(
            level,
            kind=MovementKind.ADJUSTMENT,
            quantity=quantity,
            reference="",
            reason=reason,
            user=user,
        )


@dataclass(frozen=True)
class CountedLevel:
    """One stock row's count for ``stock_counts_set``: the locked row, what was counted, and
    the reserved units to take off allocations first (a count below what is reserved)."""

    stock_level: StockLevel
    counted: int
    unreserve: Sequence[tuple[Allocation, int]] = ()


def stock_count_set(
    *,
    stock_level: StockLevel,
    counted: int,
    unreserve: Sequence[tuple[Allocation, int]] = (),
    reason: str,
    reference: str = "count",
    user: User | AnonymousUser | None = None,
) -> StockMovement | None:
    """Record a count of one stock row (``stock_counts_set`` with one row)."""
    return stock_counts_set(
        counts=[CountedLevel(stock_level=stock_level, counted=counted, unreserve=unreserve)],
        reason=reason,
        reference=reference,
        user=user,
    )[0]


def stock_counts_set(
    *,
    counts: Sequence[CountedLevel],
    reason: str,
    reference: str = "count",
    user: User | AnonymousUser | None = None,
) -> list[StockMovement | None]:
    """Record counts: each row's on_hand becomes its ``counted`` (one ``adjustment`` ledger row
    for the difference, with ``reference`` and ``reason``; None when it matched), after taking
    its ``unreserve`` units off those allocations (a count below what is reserved). The caller
    has locked the stock rows (and the orders of the allocations, through
    ``orders.stock_counts``, which decides whose units they are). A constant number of queries
    whatever the number of rows; nothing is written if any row is refused."""
    reason = (reason or "").strip()
    if not reason:
        raise InventoryError("Give a reason for the count.", field="reason")
    emptied: list[Allocation] = []
    kept: list[Allocation] = []
    for count in counts:
        level, counted = count.stock_level, count.counted
        if not is_whole_number(counted, minimum=0):
            raise InventoryError(
                f"{level}: the count must be a whole number of 0 or more.", field="counted"
            )
        if counted > MAX_UNITS_PER_MOVE:
            raise InventoryError(
                f"{level}: a count is at most {MAX_UNITS_PER_MOVE:,} units.", field="counted"
            )
        released = 0
        for allocation, quantity in count.unreserve:
            if allocation.stock_level_id != level.pk or not 0 < quantity <= allocation.quantity:
                raise InventoryError(f"Cannot take {quantity} units off {allocation}.")
            released += quantity
        if level.reserved - released > counted:
            raise InventoryError(
                f"{level}: on hand would be {counted}, below the {level.reserved - released} "
                "units reserved for orders.",
                field="counted",
            )
    movements: list[StockMovement | None] = []
    new: list[StockMovement] = []
    raised: list[int] = []
    for count in counts:
        level, counted = count.stock_level, count.counted
        for allocation, quantity in count.unreserve:
            allocation.quantity -= quantity
            level.reserved -= quantity
            (kept if allocation.quantity else emptied).append(allocation)
        difference = counted - level.on_hand
        level.on_hand = counted
        if difference > 0:
            raised.append(level.product_id)
        if difference == 0:
            movements.append(None)
            continue
        movement = _movement(
            level,
            kind=MovementKind.ADJUSTMENT,
            quantity=difference,
            reference=reference,
            reason=reason,
            user=user,
        )
        movements.append(movement)
        new.append(movement)
    if emptied:
        Allocation.objects.filter(pk__in=[a.pk for a in emptied]).delete()
    kept = [a for a in kept if a.quantity]
    if kept:
        Allocation.objects.bulk_update(kept, ["quantity"])
    update_int_columns(
        StockLevel,
        {c.stock_level.pk: (c.stock_level.on_hand, c.stock_level.reserved) for c in counts},
        ["on_hand", "reserved"],
    )
    if new:
        _write_movements(new)
    _announce_available(raised)
    return movements


def _movement_save(
    level: StockLevel,
    *,
    kind: str,
    quantity: int,
    reference: str,
    reason: str,
    user: User | AnonymousUser | None,
) -> StockMovement:
    movement = _movement(
        level, kind=kind, quantity=quantity, reference=reference, reason=reason, user=user
    )
    movement.save()
    return movement


def stock_restock(
    *,
    stock_level: StockLevel,
    quantity: int,
    reference: str,
    user: User | AnonymousUser | None = None,
) -> StockMovement:
    """Put returned, sellable units back on the shelf (ledger kind ``return_restock``)."""
    if not is_positive_int(quantity):
        raise InventoryError(
            "Restocked quantity must be a positive whole number.", field="quantity"
        )
    with transaction.atomic():
        level = stock_levels_for_update(ids=[stock_level.pk]).get()
        level.on_hand += quantity
        level.save(update_fields=["on_hand"])
        _announce_available([level.product_id])
        return _movement_save(
            level,
            kind=MovementKind.RETURN_RESTOCK,
            quantity=quantity,
            reference=reference,
            reason="",
            user=user,
        )


def stock_scrap(
    *,
    stock_level: StockLevel,
    quantity: int,
    reference: str,
    reason: str,
    user: User | AnonymousUser | None = None,
) -> StockMovement:
    """Write units off (damaged, expired): on_hand down, ledger kind ``scrap``. Units reserved
    for orders cannot be scrapped; release or reallocate them first."""
    if not is_positive_int(quantity):
        raise InventoryError("Scrapped quantity must be a positive whole number.", field="quantity")
    reason = (reason or "").strip()
    if not reason:
        raise InventoryError("Give a reason for scrapping.", field="reason")
    with transaction.atomic():
        level = stock_levels_for_update(ids=[stock_level.pk]).get()
        if level.available < quantity:
            raise InventoryError(
                f"{level}: cannot scrap {quantity}, only {level.available} are not reserved.",
                field="quantity",
            )
        level.on_hand -= quantity
        level.save(update_fields=["on_hand"])
        return _movement_save(
            level,
            kind=MovementKind.SCRAP,
            quantity=-quantity,
            reference=reference,
            reason=reason,
            user=user,
        )


def stock_reserve(
    *, reservations: Sequence[Reservation], fresh_lines: bool = False
) -> list[Allocation]:
    """Reserve units for order lines. The stock levels must be locked by the caller.

    Runs a constant number of queries whatever the number of reservations. ``fresh_lines``:
    the lines were created in this transaction and have no allocation yet (placement), so the
    look-up of allocations to add to is skipped.
    """
    if not reservations:
        return []
    needed: dict[int, int] = defaultdict(int)
    levels: dict[int, StockLevel] = {}
    for r in reservations:
        if r.quantity <= 0:
            raise InventoryError("Reserved quantity must be positive.")
        needed[r.stock_level.pk] += r.quantity
        levels[r.stock_level.pk] = r.stock_level
    for pk, quantity in needed.items():
        level = levels[pk]
        if level.available < quantity:
            raise InsufficientStock(
                f"{level}: {quantity} requested, only {level.available} available."
            )
        level.reserved += quantity
    StockLevel.objects.bulk_update(levels.values(), ["reserved"])

    existing = (
        {}
        if fresh_lines
        else {
            (a.order_line_id, a.stock_level_id): a
            for a in Allocation.objects.filter(
                order_line_id__in={r.order_line.pk for r in reservations},
                stock_level_id__in=levels.keys(),
            )
        }
    )
    new: dict[tuple[int, int], Allocation] = {}
    changed: list[Allocation] = []
    for r in reservations:
        key = (r.order_line.pk, r.stock_level.pk)
        if key in existing:
            existing[key].quantity += r.quantity
            changed.append(existing[key])
        elif key in new:
            new[key].quantity += r.quantity
        else:
            new[key] = Allocation(
                order_line=r.order_line, stock_level=r.stock_level, quantity=r.quantity
            )
    if changed:
        Allocation.objects.bulk_update(changed, ["quantity"])
    # list(): bulk_create hands an empty iterable back as it got it (dict_values has no "+").
    created = Allocation.objects.bulk_create(list(new.values())) if new else []
    return created + changed


def stock_release(*, allocations: Sequence[Allocation]) -> int:
    """Give reserved units back (order or line cancelled). The stock rows must be locked.

    Returns the number of units released. Deletes the allocations.
    """
    if not allocations:
        return 0
    with transaction.atomic():
        levels = list(stock_levels_for_update(ids={a.stock_level_id for a in allocations}))
        # Re-read under the stock locks: part of an allocation may have shipped since the
        # caller read it (stock_consume), and only what is still reserved may be released.
        current = list(Allocation.objects.filter(pk__in=[a.pk for a in allocations]))
        per_level: dict[int, int] = defaultdict(int)
        for allocation in current:
            per_level[allocation.stock_level_id] += allocation.quantity
        changed = [level for level in levels if per_level.get(level.pk)]
        for level in changed:
            level.reserved -= per_level[level.pk]
        if changed:
            StockLevel.objects.bulk_update(changed, ["reserved"])
            _announce_available(level.product_id for level in changed)
        if current:
            Allocation.objects.filter(pk__in=[a.pk for a in current]).delete()
    return sum(per_level.values())


def stock_consume(
    *,
    allocation: Allocation,
    quantity: int,
    reference: str,
    user: User | AnonymousUser | None = None,
) -> StockMovement:
    """Units leave the building (shipping): reserved and on_hand down, one shipment movement."""
    if not is_positive_int(quantity):
        raise InventoryError("Shipped quantity must be a positive whole number.", field="quantity")
    with transaction.atomic():
        level = stock_levels_for_update(ids=[allocation.stock_level_id]).get()
        # Re-read under the lock: the caller's copy may be stale (shipped or released meanwhile).
        current = Allocation.objects.filter(pk=allocation.pk).first()
        if current is None or quantity > current.quantity:
            reserved = 0 if current is None else current.quantity
            raise InventoryError(
                f"Cannot ship {quantity} of {reserved} reserved units of {level}.",
                field="quantity",
            )
        allocation.quantity = current.quantity
        level.on_hand -= quantity
        level.reserved -= quantity
        level.save(update_fields=["on_hand", "reserved"])
        if quantity == allocation.quantity:
            allocation.delete()
        else:
            Allocation.objects.filter(pk=allocation.pk).update(quantity=F("quantity") - quantity)
            allocation.quantity -= quantity
        return _movement_save(
            level,
            kind=MovementKind.SHIPMENT,
            quantity=-quantity,
            reference=reference,
            reason="",
            user=user,
        )


@dataclass(frozen=True)
class StockLevelSettings:
    """New settings of one stock row; ``None`` leaves a setting as it is."""

    warehouse: Warehouse
    product: Product
    bin_location: str | None = None
    reorder_point: int | None = None


def stock_levels_configure(*, changes: Sequence[StockLevelSettings]) -> list[StockLevel]:
    """Set the bin location and reorder point of existing stock rows (an import's columns).
    No stock moves, so no row lock: the last writer of a setting wins."""
    product_ids = {change.product.pk for change in changes}
    levels = {
        (level.warehouse_id, level.product_id): level
        for level in StockLevel.objects.filter(product_id__in=product_ids)
    }
    touched = []
    for change in changes:
        level = levels[(change.warehouse.pk, change.product.pk)]
        if change.bin_location is not None:
            level.bin_location = change.bin_location
        if change.reorder_point is not None:
            level.reorder_point = change.reorder_point
        touched.append(level)
    with transaction.atomic():
        StockLevel.objects.bulk_update(touched, ["bin_location", "reorder_point"], batch_size=500)
    return touched
