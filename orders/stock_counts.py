"""Stock counts: a count is a fact. ``stock_count_record`` sets a stock row's on-hand quantity to
what was counted, even below what is reserved for orders: the shortage goes back to backorders,
the newest orders' reservations first (backorders are filled oldest order first, so the order
that waited longest keeps its stock), with the orders' history and one staff alert.

It lives in orders (not inventory) because it changes orders; inventory never imports orders.
Pages call it from ``orders.stock_views.stock_count``, like a receipt; purchasing's cycle counts
reuse it.

Only reservations of orders that have not started picking lose units: an order that is being
picked, packed or has partly shipped (``processing``, ``partially_shipped``, or on hold from
them) holds units the warehouse has already taken off the shelf, so a count below those is
refused and names the orders. An allocated order that loses units goes back to ``backordered``
and its pending shipments are cancelled (``order_stock_lost``: fulfillment listens); it gets new
ones when stock arrives.

Locks, in the order of docs/decisions.md: the orders holding reservations on the row (by id),
then the stock row. A placement that reserved from the row after the orders were read and
before the row was locked holds an order this count has not locked; the count then starts over
(a savepoint: the locks taken inside it are let go), at most ``ATTEMPTS`` times.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from core.validation import is_whole_number
from inventory.exceptions import InventoryError
from inventory.locks import stock_levels_for_update
from inventory.models import Allocation, Product, StockLevel, StockMovement, Warehouse
from inventory.services import stock_count_set, stock_levels_ensure

from . import events
from .exceptions import OrderValidationError
from .locks import orders_for_update
from .models import EventType, Order, OrderLine, OrderStatus
from .services.allocation import _allocation_sites
from .services.common import _estimate_dates
from .signals import stock_count_came_short

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
    reason = reason.strip() if isinstance(reason, str) else ""
    try:
        product = _product(sku)
    except OrderValidationError as exc:
        errors.update(exc.errors)
    if errors:
        raise OrderValidationError(errors)
    reason = (reason or "Stock count")[:255]
    with transaction.atomic():
        stock_levels_ensure(warehouse=warehouse, products=[product])
        level_id = (
            StockLevel.objects.filter(warehouse=warehouse, product=product)
            .values_list("pk", flat=True)
            .get()
        )
        for attempt in range(ATTEMPTS):
            try:
                with transaction.atomic():
                    return _count(level_id, counted, reason=reason, user=user)
            except _ReservationsChanged:
                if attempt == ATTEMPTS - 1:
                    raise OrderValidationError(
                        {
                            "counted": [
                                f"{product.sku} in {warehouse.code} is being reserved by new "
                                "orders right now; record the count again."
                            ]
                        }
                    ) from None
    raise AssertionError("unreachable")


def _count(
    level_id: int, counted: int, *, reason: str, user: User | AnonymousUser | None
) -> StockCountResult:
    order_ids = sorted(
        set(
            Allocation.objects.filter(stock_level_id=level_id).values_list(
                "order_line__order_id", flat=True
            )
        )
    )
    orders = {o.pk: o for o in orders_for_update(ids=order_ids, related=("customer", "channel"))}
    level = stock_levels_for_update(ids=[level_id]).select_related("product").get()
    allocations = list(
        Allocation.objects.filter(stock_level_id=level_id).select_related("order_line")
    )
    if any(a.order_line.order_id not in orders for a in allocations):
        raise _ReservationsChanged
    previous = level.on_hand
    shortage = max(level.reserved - counted, 0)

    taken: list[tuple[Allocation, int]] = []
    if shortage:
        newest_first = sorted(
            (a for a in allocations if _held_status(orders[a.order_line.order_id]) in NOT_PICKED),
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
            taken.append((allocation, quantity))
            left -= quantity
        if left:
            picked = [
                a
                for a in allocations
                if _held_status(orders[a.order_line.order_id]) not in NOT_PICKED
            ]
            numbers = sorted({orders[a.order_line.order_id].number for a in picked})
            raise OrderValidationError(
                {
                    "counted": [
                        f"{level}: {counted} counted, but {sum(a.quantity for a in picked)} "
                        f"units are reserved for orders already being picked or shipped "
                        f"({', '.join(numbers)}); they may be off the shelf: count them too."
                    ]
                }
            )
    try:
        movement = stock_count_set(
            stock_level=level, counted=counted, unreserve=taken, reason=reason, user=user
        )
    except InventoryError as exc:
        raise OrderValidationError({exc.field or "counted": [exc.message]}) from None

    backordered = _backorder(orders, taken, level=level, counted=counted, user=user)
    if backordered:
        _alert(level, movement, previous=previous, backordered=backordered, user=user)
    return StockCountResult(
        stock_level=level,
        counted=counted,
        previous_on_hand=previous,
        movement=movement,
        backordered=backordered,
    )


def _backorder(
    orders: dict, taken, *, level: StockLevel, counted: int, user: User | AnonymousUser | None
):
    """The orders' side of the units taken back: lines, status, dates, history, shipments."""
    if not taken:
        return {}
    sku, code = level.product.sku, level.warehouse.code
    per_line: dict[int, int] = defaultdict(int)
    for allocation, quantity in taken:
        per_line[allocation.order_line_id] += quantity
    lines = list(OrderLine.objects.filter(pk__in=list(per_line)).select_related("product"))
    for line in lines:
        line.quantity_allocated -= per_line[line.pk]
    OrderLine.objects.bulk_update(lines, ["quantity_allocated"])

    lost: dict[int, int] = defaultdict(int)
    for line in lines:
        lost[line.order_id] += per_line[line.pk]
    sites = _allocation_sites(lost)
    built, unshipped = [], []
    for order_id in sorted(lost, key=lambda pk: (orders[pk].placed_at, pk), reverse=True):
        order = orders[order_id]
        built.append(
            events.event_build(
                order=order,
                type=EventType.BACKORDERED,
                user=user,
                message=f"A stock count found {counted} × {sku} in {code}: "
                f"{lost[order_id]} × {sku} no longer reserved, waiting for stock.",
                lines={sku: lost[order_id]},
                warehouse=code,
                stock_count=counted,
            )
        )
        was = _held_status(order)
        if was == OrderStatus.BACKORDERED:
            continue
        # Allocated (or confirmed) → backordered. The state machine moves orders forward only;
        # a count is the one thing that takes an order's stock back, so the row is written
        # directly (like the batched writes of orders.services._fill), its history with it.
        countries = {country for _, country in sites.get(order.pk, ())}
        _estimate_dates(
            order, ships_from_countries=countries | {level.warehouse.country}, backordered=True
        )
        changes = {
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
                    message=f"Stock count at {code}.",
                )
            )
        Order.objects.filter(pk=order.pk).update(**changes)
        for name, value in changes.items():  # not refresh_from_db: see services._sync
            order.__dict__[name] = value
        order._update_initial_state()
        if was == OrderStatus.ALLOCATED:
            unshipped.append(order)
    events.events_save(built)
    if unshipped:
        order_stock_lost.send(
            sender=Order,
            orders=unshipped,
            user=user,
            reason=f"A stock count at {code} found too few {sku}; the order waits for stock.",
        )
    return {
        orders[pk].number: {sku: lost[pk]}
        for pk in sorted(lost, key=lambda pk: (orders[pk].placed_at, pk), reverse=True)
    }


def _alert(
    level: StockLevel,
    movement,
    *,
    previous: int,
    backordered: dict,
    user: User | AnonymousUser | None,
) -> None:
    """Staff are alerted (notifications listens), in the count's transaction."""
    counted_by = str(user) if user is not None and getattr(user, "is_authenticated", False) else ""
    stock_count_came_short.send(
        sender=StockLevel,
        level=level,
        movement_id=movement.pk,
        previous=previous,
        backordered=backordered,
        counted_by=counted_by,
    )
