"""Stock counts: a count is a fact. ``stock_count_record`` sets a stock row's on-hand quantity to
what was counted, even below what is reserved for orders: the shortage goes back to backorders,
the newest orders' reservations first (backorders are filled oldest order first, so the order
that waited longest keeps its stock), with the orders' history and one staff alert.

``stock_counts_record`` is the same rule for many rows at once (a count sheet, posted by
``orders.cycle_counts``): all or nothing, one set of locks, one ledger row per difference with
the sheet's number as reference, one staff alert for every row that came short.

It lives in orders (not inventory) because it changes orders; inventory never imports orders.
Pages call it from ``orders.stock_views.stock_count``, like a receipt, and through
``orders.cycle_counts.cycle_count_post``.

Only reservations of orders that have not started picking lose units: an order that is being
picked, packed or has partly shipped (``processing``, ``partially_shipped``, or on hold from
them) holds units the warehouse has already taken off the shelf, so a count below those is
refused and names the orders. An allocated order that loses units goes back to ``backordered``
and its pending shipments are cancelled (``order_stock_lost``: fulfillment listens); it gets new
ones when stock arrives.

Locks, in the order of docs/decisions.md: the orders holding reservations on the rows (by id),
then the stock rows (by id). A placement that reserved from a row after the orders were read
and before the rows were locked holds an order this count has not locked; the count then starts over
(a savepoint: the locks taken inside it are let go), at most ``ATTEMPTS`` times.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from core.validation import is_whole_number
from inventory.exceptions import InventoryError
from inventory.locks import stock_levels_for_update
from inventory.models import Allocation, Product, StockLevel, StockMovement, Warehouse
from inventory.services import CountedLevel, stock_counts_set, stock_levels_ensure

from . import events
from .exceptions import OrderValidationError
from .locks import orders_for_update
from .models import EventType, Order, OrderLine, OrderStatus
from .services.allocation import _allocation_sites
from .services.common import _estimate_dates
from .signals import StockCountShortage, stock_count_came_short

# Sent inside the count's transaction with the orders that went from allocated back to
# backordered (on hold ones included): fulfillment cancels their pending shipments.
# Arguments: orders (a list), user, reason.
order_stock_lost = Signal()

ATTEMPTS = 5

# Orders whose reservations a count may take back (nothing of them is picked yet).
NOT_PICKED = (OrderStatus.CONFIRMED, OrderStatus.BACKORDERED, OrderStatus.ALLOCATED)


@dataclass(frozen=True)
class StockCountResult:
    stock_level: StockLevel
    counted: int
    previous_on_hand: int
    movement: StockMovement | None  # the ledger row of the difference; None if it matched
    # Order number → {SKU: units} that went back to backorders, newest order first.
    backordered: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def difference(self) -> int:
        return self.counted - self.previous_on_hand

    @property
    def units_backordered(self) -> int:
        return sum(q for lines in self.backordered.values() for q in lines.values())


class _ReservationsChanged(Exception):
    """A placement reserved from the row between reading its orders and locking the row."""


def _product(sku) -> Product:
    if isinstance(sku, Product):
        return sku
    sku = sku.strip() if isinstance(sku, str) else ""
    if not sku:
        raise OrderValidationError({"sku": ["Give the SKU that was counted."]})
    found = list(Product.objects.filter(sku__iexact=sku)[:2])
    exact = [p for p in found if p.sku == sku]
    if exact:
        return exact[0]
    if len(found) == 1:
        return found[0]
    raise OrderValidationError({"sku": [f"Unknown SKU {sku}."]})


def _held_status(order: Order) -> str:
    return order.held_from_status if order.status == OrderStatus.ON_HOLD else order.status


@dataclass(frozen=True)
class StockCountInput:
    """One stock row counted: its id and the units found on the shelf."""

    stock_level_id: int
    counted: int


def stock_count_record(
    *,
    warehouse: Warehouse,
    sku: str | Product,
    counted: int,
    user: User | AnonymousUser | None = None,
    reason: str = "",
) -> StockCountResult:
    """Record that ``counted`` units of ``sku`` (a SKU, any case, or a Product) are on hand in
    ``warehouse``. Raises ``OrderValidationError`` (fields ``sku``, ``counted``, ``reason``,
    ``warehouse``) and changes nothing when the input is bad or the count is below the units
    of orders already being picked or shipped."""
    errors: dict[str, list[str]] = {}
    if not is_whole_number(counted, minimum=0):
        errors["counted"] = ["The count must be a whole number of 0 or more."]
    if not isinstance(warehouse, Warehouse):
        errors["warehouse"] = ["Choose the warehouse that was counted."]
    elif not warehouse.is_active:
        errors["warehouse"] = [f"Warehouse {warehouse.code} is not active: it cannot be counted."]
    reason = reason.strip() if isinstance(reason, str) else ""
    try:
        product = _product(sku)
    except OrderValidationError as exc:
        errors.update(exc.errors)
    if errors:
        raise OrderValidationError(errors)
    with transaction.atomic():
        stock_levels_ensure(warehouse=warehouse, products=[product])
        level_id = (
            StockLevel.objects.filter(warehouse=warehouse, product=product)
            .values_list("pk", flat=True)
            .get()
        )
        return stock_counts_record(
            counts=[StockCountInput(stock_level_id=level_id, counted=counted)],
            reason=reason,
            user=user,
        )[0]


def stock_counts_record(
    *,
    counts: Sequence[StockCountInput],
    reason: str = "",
    reference: str = "count",
    user: User | AnonymousUser | None = None,
) -> list[StockCountResult]:
    """Record the counts of many stock rows at once (a count sheet), all or nothing: the rule of
    ``stock_count_record`` for each row, under one set of locks (every order holding
    reservations on the rows, by id, then the rows, by id), one ledger row per difference with
    ``reference`` and ``reason``, and one staff alert for every row that came short. Results in
    the order of ``counts``. Raises ``OrderValidationError`` (field ``counted``, naming each
    refused row) and changes nothing when a row is refused."""
    reason = (reason.strip() if isinstance(reason, str) else "") or "Stock count"
    reason = reason[:255]
    wanted: dict[int, int] = {}
    for count in counts:
        if not is_whole_number(count.counted, minimum=0):
            raise OrderValidationError(
                {"counted": ["The count must be a whole number of 0 or more."]}
            )
        wanted[count.stock_level_id] = count.counted
    if not wanted:
        return []
    with transaction.atomic():
        for attempt in range(ATTEMPTS):
            try:
                with transaction.atomic():
                    results = _count(wanted, reason=reason, reference=reference, user=user)
                    break
            except _ReservationsChanged:
                if attempt == ATTEMPTS - 1:
                    raise OrderValidationError(
                        {
                            "counted": [
                                "These stock rows are being reserved by new orders right now; "
                                "record the count again."
                            ]
                        }
                    ) from None
    return [results[count.stock_level_id] for count in counts]


def _count(
    wanted: dict[int, int],
    *,
    reason: str,
    reference: str,
    user: User | AnonymousUser | None,
) -> dict[int, StockCountResult]:
    level_ids = sorted(wanted)
    order_ids = sorted(
        set(
            Allocation.objects.filter(stock_level_id__in=level_ids).values_list(
                "order_line__order_id", flat=True
            )
        )
    )
    orders = {o.pk: o for o in orders_for_update(ids=order_ids, related=("customer", "channel"))}
    levels = list(stock_levels_for_update(ids=level_ids).select_related("product"))
    if len(levels) != len(level_ids):
        raise OrderValidationError({"counted": ["A counted stock row does not exist."]})
    allocations: dict[int, list[Allocation]] = defaultdict(list)
    for allocation in Allocation.objects.filter(stock_level_id__in=level_ids).select_related(
        "order_line"
    ):
        if allocation.order_line.order_id not in orders:
            raise _ReservationsChanged
        allocations[allocation.stock_level_id].append(allocation)

    taken: dict[int, list[tuple[Allocation, int]]] = {}
    refused: list[str] = []
    for level in levels:
        counted = wanted[level.pk]
        taken[level.pk] = []
        shortage = max(level.reserved - counted, 0)
        if not shortage:
            continue
        on_row = allocations[level.pk]
        newest_first = sorted(
            (a for a in on_row if _held_status(orders[a.order_line.order_id]) in NOT_PICKED),
            key=lambda a: (
                orders[a.order_line.order_id].placed_at,
                a.order_line.order_id,
                a.pk,
            ),
            reverse=True,
        )
        left = shortage
        for allocation in newest_first:
            if not left:
                break
            quantity = min(allocation.quantity, left)
            taken[level.pk].append((allocation, quantity))
            left -= quantity
        if left:
            picked = [
                a for a in on_row if _held_status(orders[a.order_line.order_id]) not in NOT_PICKED
            ]
            numbers = sorted({orders[a.order_line.order_id].number for a in picked})
            refused.append(
                f"{level}: {counted} counted, but {sum(a.quantity for a in picked)} "
                f"units are reserved for orders already being picked or shipped "
                f"({', '.join(numbers)}); they may be off the shelf: count them too."
            )
    if refused:
        raise OrderValidationError({"counted": refused})
    previous = {level.pk: level.on_hand for level in levels}
    try:
        movements = stock_counts_set(
            counts=[
                CountedLevel(stock_level=level, counted=wanted[level.pk], unreserve=taken[level.pk])
                for level in levels
            ],
            reason=reason,
            reference=reference,
            user=user,
        )
    except InventoryError as exc:
        raise OrderValidationError({exc.field or "counted": [exc.message]}) from None

    backordered = _backorder(orders, taken, levels=levels, counted=wanted, user=user)
    results = {
        level.pk: StockCountResult(
            stock_level=level,
            counted=wanted[level.pk],
            previous_on_hand=previous[level.pk],
            movement=movement,
            backordered=backordered.get(level.pk, {}),
        )
        for level, movement in zip(levels, movements, strict=True)
    }
    short = [results[level.pk] for level in levels if results[level.pk].backordered]
    if short:
        _alert(short, reference=reference, user=user)
    return results


def _backorder(
    orders: dict[int, Order],
    taken: dict[int, list[tuple[Allocation, int]]],
    *,
    levels: list[StockLevel],
    counted: dict[int, int],
    user: User | AnonymousUser | None,
) -> dict[int, dict[str, dict[str, int]]]:
    """The orders' side of the units taken back: lines, status, dates, history, shipments.
    Returns, per stock row, {order number: {SKU: units}}, newest order first."""
    if not any(taken.values()):
        return {}
    by_level = {level.pk: level for level in levels}
    per_line: dict[int, int] = defaultdict(int)
    for pairs in taken.values():
        for allocation, quantity in pairs:
            per_line[allocation.order_line_id] += quantity
    lines = list(OrderLine.objects.filter(pk__in=list(per_line)).select_related("product"))
    for line in lines:
        line.quantity_allocated -= per_line[line.pk]
    OrderLine.objects.bulk_update(lines, ["quantity_allocated"])

    # (order, stock row) → units lost; the countries the order loses stock from.
    lost: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for level_id, pairs in taken.items():
        for allocation, quantity in pairs:
            lost[allocation.order_line.order_id][level_id] += quantity
    sites = _allocation_sites(lost)
    newest_first = sorted(lost, key=lambda pk: (orders[pk].placed_at, pk), reverse=True)
    built, unshipped = [], []
    for order_id in newest_first:
        order = orders[order_id]
        for level_id, units in lost[order_id].items():
            level = by_level[level_id]
            sku, code = level.product.sku, level.warehouse.code
            built.append(
                events.event_build(
                    order=order,
                    type=EventType.BACKORDERED,
                    user=user,
                    message=f"A stock count found {counted[level_id]} × {sku} in {code}: "
                    f"{units} × {sku} no longer reserved, waiting for stock.",
                    lines={sku: units},
                    warehouse=code,
                    stock_count=counted[level_id],
                )
            )
        was = _held_status(order)
        if was == OrderStatus.BACKORDERED:
            continue
        # Allocated (or confirmed) → backordered. The state machine moves orders forward only;
        # a count is the one thing that takes an order's stock back, so the row is written
        # directly (like the batched writes of orders.services._fill), its history with it.
        counted_in = {by_level[level_id].warehouse for level_id in lost[order_id]}
        countries = {country for _, country in sites.get(order.pk, ())}
        _estimate_dates(
            order,
            ships_from_countries=countries | {w.country for w in counted_in},
            backordered=True,
        )
        changes: dict[str, object] = {
            "promised_ship_date": order.promised_ship_date,
            "estimated_delivery_date": order.estimated_delivery_date,
            # A new promise clears the late flag (_estimate_dates): missing it tells the
            # customer again.
            "late_since": order.late_since,
            "late_notified": order.late_notified,
            "updated_at": timezone.now(),
        }
        if order.status == OrderStatus.ON_HOLD:
            changes["held_from_status"] = OrderStatus.BACKORDERED
        else:
            changes["status"] = OrderStatus.BACKORDERED
            built.append(
                events.event_build(
                    order=order,
                    type=EventType.STATUS_CHANGED,
                    user=user,
                    from_status=was,
                    to_status=OrderStatus.BACKORDERED,
                    message=f"Stock count at {', '.join(sorted(w.code for w in counted_in))}.",
                )
            )
        Order.objects.filter(pk=order.pk).update(**changes)
        for name, value in changes.items():  # not refresh_from_db: see services._sync
            order.__dict__[name] = value
        order._update_initial_state()
        if was == OrderStatus.ALLOCATED:
            unshipped.append((order, counted_in))
    events.events_save(built)
    if unshipped:
        codes = sorted({w.code for _, where in unshipped for w in where})
        skus = sorted({by_level[lid].product.sku for o, _ in unshipped for lid in lost[o.pk]})
        order_stock_lost.send(
            sender=Order,
            orders=[order for order, _ in unshipped],
            user=user,
            reason=f"A stock count at {', '.join(codes)} found too few {', '.join(skus)}; "
            "the order waits for stock.",
        )
    result: dict[int, dict[str, dict[str, int]]] = defaultdict(dict)
    for order_id in newest_first:
        for level_id, units in lost[order_id].items():
            result[level_id][orders[order_id].number] = {by_level[level_id].product.sku: units}
    return result


def _alert(
    short: list[StockCountResult],
    *,
    reference: str,
    user: User | AnonymousUser | None,
) -> None:
    """Staff are alerted once per count (notifications listens), in the count's transaction."""
    counted_by = str(user) if user is not None and getattr(user, "is_authenticated", False) else ""
    stock_count_came_short.send(
        sender=StockLevel,
        shortages=[
            StockCountShortage(
                level=r.stock_level,
                movement_id=r.movement.pk if r.movement is not None else 0,
                previous=r.previous_on_hand,
                backordered=r.backordered,
            )
            for r in short
        ],
        reference="" if reference == "count" else reference,
        counted_by=counted_by,
    )
