"""Allocation: reserving stock for orders' lines by the policy of ``orders.allocation``.

One writer for every allocation (a new order, a confirmed or released one, a line change,
backorders filled by a receipt), in two steps:

- ``plan`` is pure: it decides, against stock rows the caller has locked, which units each
  order gets (``orders.allocation.plan_allocation``), in the order given (oldest first when
  filling backorders: the next orders see what the earlier ones took);
- ``apply`` writes the plan: the reservations (stock reserved, allocation rows), the lines'
  allocated quantities, the orders' status and promise dates, the events, in a constant
  number of statements whatever the number of orders.

The caller holds the locks in the fixed order (``orders.locks``): orders, then stock rows.
"""

import datetime
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import cast

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import F
from django.utils import timezone

from inventory.locks import stock_levels_for_update
from inventory.models import Allocation, StockLevel
from inventory.services import Reservation, stock_reserve

from .. import events
from ..allocation import Need, plan_allocation
from ..expected import ExpectedDates, expected_dates
from ..models import EventType, Order, OrderEvent, OrderLine, OrderStatus
from ..signals import orders_allocated
from .common import _estimate_dates

Site = tuple[int, str]  # (warehouse id, country) of a warehouse an order has reservations in


@dataclass(frozen=True)
class OrderPlan:
    """What one order gets: ``reservations`` of its ``lines`` (maybe none)."""

    order: Order
    lines: list[OrderLine]
    reservations: list[Reservation]
    sites: frozenset[Site]


@dataclass(frozen=True)
class AllocationPlan:
    orders: list[OrderPlan]

    @property
    def reservations(self) -> list[Reservation]:
        return [r for planned in self.orders for r in planned.reservations]


@dataclass(frozen=True)
class AppliedAllocation:
    allocations: list[Allocation]  # the allocation rows written
    filled: list[Order]  # the orders that got stock
    allocated: list[Order]  # the orders that became allocated (every unit reserved)


def _line(reservation: Reservation) -> OrderLine:
    """The order line of a reservation (inventory types it loosely: it knows no orders)."""
    return cast(OrderLine, reservation.order_line)


def _levels_of(reservations: Iterable[Reservation]) -> list[StockLevel]:
    """The locked stock rows reserved from, for the low-stock check of the notifications (no
    re-read)."""
    return list({r.stock_level.pk: r.stock_level for r in reservations}.values())


def _allocation_sites(order_ids: Iterable[int]) -> dict[int, set[tuple[int, str]]]:
    """(warehouse id, country) of the warehouses each order already has reservations in."""
    sites: dict[int, set[tuple[int, str]]] = defaultdict(set)
    for order_id, warehouse_id, country in Allocation.objects.filter(
        order_line__order_id__in=list(order_ids)
    ).values_list(
        "order_line__order_id", "stock_level__warehouse_id", "stock_level__warehouse__country"
    ):
        sites[order_id].add((warehouse_id, country))
    return sites


def _plan_order(
    order: Order,
    lines: list[OrderLine],
    *,
    levels: Mapping[int, Sequence[tuple[int, StockLevel]]],
    product_ids: Collection[int] | None,
    sites: Collection[Site],
) -> list[Reservation]:
    """The reservations the allocation policy makes for the order's backordered lines
    (``levels``: the locked stock rows by product id, each with its position in the list
    locked)."""
    open_lines = [
        line
        for line in lines
        if line.quantity_backordered > 0 and (product_ids is None or line.product_id in product_ids)
    ]
    if not open_lines:
        return []
    wanted = {line.product_id for line in open_lines}
    # Keyed by position: the lines of a new order have no id yet (and so no hash).
    plan = plan_allocation(
        needs=[
            Need(i, line.product_id, line.quantity_backordered) for i, line in enumerate(open_lines)
        ],
        levels=[lv for _, lv in sorted(x for pid in wanted for x in levels.get(pid, ()))],
        country=order.shipping_country,
        preferred_warehouse_ids=frozenset(wid for wid, _ in sites),
    )
    return [
        Reservation(order_line=open_lines[i], stock_level=level, quantity=qty)
        for i, parts in cast(dict[int, list[tuple[StockLevel, int]]], plan).items()
        for level, qty in parts
    ]


def plan(
    *,
    orders: Sequence[tuple[Order, list[OrderLine]]],
    levels: Sequence[StockLevel],
    sites: Mapping[int, Collection[Site]] | None = None,
    product_ids: Collection[int] | None = None,
) -> AllocationPlan:
    """Plan the reservations of ``orders`` (each with its lines), in the order given, against
    the locked stock ``levels``. ``sites``: per order id, where it already has reservations
    (preferred, to keep parcels together); ``product_ids`` limits the plan to those products
    (backorders filled by a receipt). Writes nothing: the levels are left as they were."""
    sites = sites or {}
    # By product, once: a receipt fills thousands of orders against thousands of stock rows.
    # (Kept in the order given: the policy breaks ties by it.)
    by_product: dict[int, list[tuple[int, StockLevel]]] = defaultdict(list)
    for position, level in enumerate(levels):
        by_product[level.product_id].append((position, level))
    planned: list[OrderPlan] = []
    held: dict[int, int] = defaultdict(int)
    try:
        for order, lines in orders:
            order_sites = (
                frozenset(sites.get(order.pk, ())) if order.pk is not None else frozenset()
            )
            reservations = _plan_order(
                order, lines, levels=by_product, product_ids=product_ids, sites=order_sites
            )
            for r in reservations:  # the next orders see what this one took
                r.stock_level.reserved += r.quantity
                held[r.stock_level.pk] += r.quantity
            planned.append(OrderPlan(order, lines, reservations, order_sites))
    finally:
        for level in levels:  # stock_reserve adds them again, checks and writes
            level.reserved -= held.pop(level.pk, 0)
    return AllocationPlan(planned)


def _settle(
    order: Order,
    lines: list[OrderLine],
    reservations: list[Reservation],
    *,
    user: User | AnonymousUser | None,
    sites: Collection[tuple[int, str]],
) -> tuple[str, bool, list[OrderEvent]]:
    """Apply planned ``reservations`` to the order in memory: lines' allocated quantities,
    status (allocated / backordered), dates; build the events. Nothing is written here.

    Returns (previous status, whether the order row must be saved, events)."""
    by_warehouse: dict[str, dict[str, int]] = defaultdict(dict)
    for r in reservations:
        line = _line(r)
        line.quantity_allocated += r.quantity
        by_warehouse[r.stock_level.warehouse.code][line.product.sku] = r.quantity

    short = {line.product.sku: line.quantity_backordered for line in lines}
    short = {sku: qty for sku, qty in short.items() if qty > 0}
    new_events: list[OrderEvent] = []
    if reservations:
        allocated = events.event_build(
            order=order,
            type=EventType.ALLOCATED,
            user=user,
            message="Stock reserved: "
            + "; ".join(
                f"{code}: " + ", ".join(f"{q} × {s}" for s, q in skus.items())
                for code, skus in sorted(by_warehouse.items())
            ),
            warehouses=by_warehouse,
        )
        new_events.append(allocated)
    previous = order.status
    if short:
        if previous == OrderStatus.CONFIRMED or reservations:
            new_events.append(
                events.event_build(
                    order=order,
                    type=EventType.BACKORDERED,
                    user=user,
                    message="Waiting for stock: "
                    + ", ".join(f"{q} × {s}" for s, q in sorted(short.items())),
                    lines=short,
                )
            )
        if previous == OrderStatus.CONFIRMED:
            order.mark_backordered()
    elif previous in (OrderStatus.CONFIRMED, OrderStatus.BACKORDERED):
        order.mark_allocated()
    save = order.status != previous or bool(reservations)
    if save:
        countries = {country for _, country in sites}
        countries.update(r.stock_level.warehouse.country for r in reservations)
        _estimate_dates(order, ships_from_countries=countries, backordered=bool(short))
    if order.status != previous:
        new_events.append(
            events.event_build(
                order=order,
                type=EventType.STATUS_CHANGED,
                user=user,
                from_status=previous,
                to_status=order.status,
            )
        )
    return previous, save, new_events


def _lines_update_allocated(reservations: list[Reservation]) -> None:
    """Write the lines' new ``quantity_allocated``, already applied in memory (``_settle``):
    a constant number of statements (one UPDATE per distinct increment; the orders are
    locked)."""
    delta: dict[int, int] = defaultdict(int)
    for r in reservations:
        delta[_line(r).pk] += r.quantity
    by_delta: dict[int, list[int]] = defaultdict(list)
    for pk, quantity in delta.items():
        by_delta[quantity].append(pk)
    if len(by_delta) > 1 and len(delta) <= 50:
        lines = {_line(r).pk: _line(r) for r in reservations}
        OrderLine.objects.bulk_update(lines.values(), ["quantity_allocated"])
        return
    for quantity, pks in by_delta.items():
        OrderLine.objects.filter(pk__in=pks).update(
            quantity_allocated=F("quantity_allocated") + quantity
        )


def line_expected_dates(
    lines: Sequence[OrderLine], expected: ExpectedDates
) -> dict[str, str | None]:
    """SKU -> expected date (ISO, or None: nothing on order) of the backordered ``lines``, as
    the history and the e-mails keep them."""
    dates: dict[str, str | None] = {}
    for line in lines:
        if line.quantity_backordered > 0:
            arrives: datetime.date | None = expected.of(line)
            dates[line.product.sku] = arrives.isoformat() if arrives else None
    return dates


def estimates_follow_expected(
    pairs: Sequence[tuple[Order, Sequence[OrderLine]]],
    *,
    countries: Mapping[int, Collection[str]] | None = None,
) -> tuple[list[Order], ExpectedDates]:
    """Estimate the backordered orders of ``pairs`` (each with its lines, as written) again
    from the expected dates of their lines (``orders.expected``), in memory; returns the
    orders whose promise changed (the caller, who holds their locks, writes them) and the
    dates. ``countries``: per order id, the countries it ships from (read when not given).
    A constant number of queries."""
    waiting = [(o, lines) for o, lines in pairs if o.status == OrderStatus.BACKORDERED]
    if not waiting:
        return [], ExpectedDates()
    expected = expected_dates(waiting)
    if countries is None:
        sites = _allocation_sites(o.pk for o, _ in waiting)
        countries = {pk: {country for _, country in s} for pk, s in sites.items()}
    changed = []
    for order, lines in waiting:
        before = (order.promised_ship_date, order.estimated_delivery_date)
        _estimate_dates(
            order,
            ships_from_countries=countries.get(order.pk, ()),
            backordered=True,
            arrivals=expected.arrivals(lines),
        )
        if (order.promised_ship_date, order.estimated_delivery_date) != before:
            changed.append(order)
    return changed, expected


def _follow_expected(
    settled: Sequence[tuple[OrderPlan, str, bool, list[OrderEvent]]],
) -> None:
    """The orders this allocation left backordered (a backorder made or partly filled): their
    promise follows the expected dates of their lines, and their BACKORDERED event keeps the
    dates (what the delay e-mail says). Nothing is read when no order waits."""
    waiting = [
        planned
        for planned, _, save, _ in settled
        if save and planned.order.status == OrderStatus.BACKORDERED
    ]
    if not waiting:
        return
    countries = {
        planned.order.pk: {c for _, c in planned.sites}
        | {r.stock_level.warehouse.country for r in planned.reservations}
        for planned in waiting
    }
    changed, expected = estimates_follow_expected(
        [(planned.order, planned.lines) for planned in waiting], countries=countries
    )
    _orders_update(changed)
    dated = {id(planned.order): planned for planned in waiting}
    for _, _, _, built in settled:
        for event in built:
            planned_order = dated.get(id(event.order))
            if event.type == EventType.BACKORDERED and planned_order is not None:
                event.details["expected"] = line_expected_dates(planned_order.lines, expected)


def apply(
    allocation_plan: AllocationPlan, *, user: User | AnonymousUser | None, new_order: bool = False
) -> AppliedAllocation:
    """Write ``allocation_plan``: the orders' lines, status and dates, the reservations and the
    history; every order that became allocated is announced once (``orders_allocated``:
    fulfillment creates its shipments) with its history in the same INSERT.

    ``new_order``: the plan is one order not inserted yet (an auto-confirmed placement): the
    order and its lines are inserted as they end (allocated or backordered, quantities
    reserved), nothing is updated afterwards, and the caller announces it."""
    settled = []
    for planned in allocation_plan.orders:
        previous, save, built = _settle(
            planned.order, planned.lines, planned.reservations, user=user, sites=planned.sites
        )
        settled.append((planned, previous, save, built))
    every = allocation_plan.reservations
    if new_order:
        ((planned, *_),) = settled
        planned.order.save()
        OrderLine.objects.bulk_create(planned.lines)
        allocations = stock_reserve(reservations=every, fresh_lines=True)
    else:
        allocations = stock_reserve(reservations=every)
        if every:
            _lines_update_allocated(every)
        _orders_update([planned.order for planned, _, save, _ in settled if save])
    _follow_expected(settled)
    new_events = [event for *_, built in settled for event in built]
    filled = [planned.order for planned in allocation_plan.orders if planned.reservations]
    allocated = [
        planned.order
        for planned, previous, _, _ in settled
        if planned.order.status == OrderStatus.ALLOCATED and previous != OrderStatus.ALLOCATED
    ]
    _note_low_stock(new_events, allocation_plan)
    with events.collected():  # the shipments' history goes into the same INSERT
        if new_events:
            events.events_save(new_events)
        if allocated and not new_order:
            orders_allocated.send(sender=Order, orders=allocated, user=user)
    return AppliedAllocation(allocations=allocations, filled=filled, allocated=allocated)


def _note_low_stock(new_events: list[OrderEvent], allocation_plan: AllocationPlan) -> None:
    """The stock rows an order's reservations left at or below their reorder point (locked and
    current in memory) go into its ALLOCATED event: staff are alerted (notifications) without
    reading the rows back."""
    low_by_order: dict[int, list[int]] = {}  # by the in-memory order (a new one has no id yet)
    for planned in allocation_plan.orders:
        levels = _levels_of(planned.reservations)
        low = sorted(lv.pk for lv in levels if 0 < lv.reorder_point >= lv.available)
        if low:
            low_by_order[id(planned.order)] = low
    for event in new_events:
        if event.type == EventType.ALLOCATED and id(event.order) in low_by_order:
            event.details["low_stock_levels"] = low_by_order[id(event.order)]


def _orders_update(orders: list[Order]) -> None:
    """Write the orders' new status and promise (set in memory by ``_settle``): one UPDATE per
    outcome (the orders are locked)."""
    if not orders:
        return
    now = timezone.now()
    by_outcome: dict[tuple[object, ...], list[int]] = defaultdict(list)
    for order in orders:
        order.updated_at = now
        outcome = (
            order.status,
            order.promised_ship_date,
            order.estimated_delivery_date,
            order.late_since,
            order.late_notified,
        )
        by_outcome[outcome].append(order.pk)
    for (status, ship, delivery, late_since, late_notified), pks in by_outcome.items():
        Order.objects.filter(pk__in=pks).update(
            status=status,
            promised_ship_date=ship,
            estimated_delivery_date=delivery,
            late_since=late_since,
            late_notified=late_notified,
            updated_at=now,
        )
    for order in orders:
        order._update_initial_state()


def allocate_order(
    order: Order, *, user: User | AnonymousUser | None, lines: list[OrderLine] | None = None
) -> AppliedAllocation:
    """Reserve what the locked ``order``'s backordered lines need (a confirmation, a release,
    a line change): lock the stock rows, plan, apply."""
    if lines is None:
        lines = list(order.lines.select_related("product"))
    wanted = {line.product_id for line in lines if line.quantity_backordered > 0}
    levels = list(stock_levels_for_update(product_ids=wanted)) if wanted else []
    sites = _allocation_sites([order.pk])
    return apply(plan(orders=[(order, lines)], levels=levels, sites=sites), user=user)
