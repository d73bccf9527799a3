"""Allocation: reserving stock for an order's lines by the policy of ``orders.allocation``."""

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import F

from core.numbers import ORDER_NUMBER
from inventory.locks import stock_levels_for_update
from inventory.models import Allocation, StockLevel
from inventory.services import (
    Reservation,
    stock_reserve,
)

from .. import events
from ..allocation import Need, plan_allocation
from ..models import (
    LATE_FIELDS,
    EventType,
    Order,
    OrderLine,
    OrderStatus,
)
from ..signals import order_allocated
from .common import _estimate_dates


def _place_confirmed(order: Order, lines: list[OrderLine], built: list, *, user) -> list:
    """An auto-confirmed new order: plan its reservations against the locked stock rows first,
    so the order and its lines are inserted as they end (allocated or backordered, quantities
    reserved) and nothing is updated afterwards but the number, which comes from the id."""
    order.confirm()
    built.append(
        events.event_build(
            order=order,
            type=EventType.STATUS_CHANGED,
            user=user,
            from_status=OrderStatus.PLACED,
            to_status=OrderStatus.CONFIRMED,
        )
    )
    # A new order is locked by nobody else: taking the stock rows first keeps the lock order.
    levels = list(stock_levels_for_update(product_ids={line.product_id for line in lines}))
    needs = [Need(i, line.product_id, line.quantity) for i, line in enumerate(lines)]
    plan = plan_allocation(needs=needs, levels=levels, country=order.shipping_country)
    reservations = [
        Reservation(order_line=lines[i], stock_level=level, quantity=qty)
        for i, parts in plan.items()
        for level, qty in parts
    ]
    _, _, new_events, _ = _settle(order, lines, reservations, user=user, sites=set())
    order.save()
    OrderLine.objects.bulk_create(lines)
    allocations = stock_reserve(reservations=reservations, fresh_lines=True)
    order.number = ORDER_NUMBER.for_pk(order.pk)
    order.save(update_fields=["number"])
    events.events_save(
        built + new_events,
        known=events.Known(reserved_levels={order.pk: _levels_of(reservations)}),
    )
    return allocations


def _levels_of(reservations: list[Reservation]) -> list[StockLevel]:
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
    levels: list[StockLevel],
    product_ids: set[int] | None,
    sites: set[tuple[int, str]],
) -> list[Reservation]:
    """The reservations the allocation policy makes for the order's backordered lines."""
    open_lines = [
        line
        for line in lines
        if line.quantity_backordered > 0 and (product_ids is None or line.product_id in product_ids)
    ]
    if not open_lines:
        return []
    wanted = {line.product_id for line in open_lines}
    plan = plan_allocation(
        needs=[Need(line, line.product_id, line.quantity_backordered) for line in open_lines],
        levels=[lv for lv in levels if lv.product_id in wanted],
        country=order.shipping_country,
        preferred_warehouse_ids=frozenset(wid for wid, _ in sites),
    )
    return [
        Reservation(order_line=line, stock_level=level, quantity=qty)
        for line, parts in plan.items()
        for level, qty in parts
    ]


def _settle(
    order: Order,
    lines: list[OrderLine],
    reservations: list[Reservation],
    *,
    user,
    sites: set[tuple[int, str]],
) -> tuple[str, bool, list, dict[str, int]]:
    """Apply planned ``reservations`` to the order in memory: lines' allocated quantities,
    status (allocated / backordered), dates; build the events. Nothing is written here.

    Returns (previous status, whether the order row must be saved, events, units per SKU)."""
    reserved: dict[str, int] = defaultdict(int)
    by_warehouse: dict[str, dict[str, int]] = defaultdict(dict)
    for r in reservations:
        r.order_line.quantity_allocated += r.quantity
        reserved[r.order_line.product.sku] += r.quantity
        by_warehouse[r.stock_level.warehouse.code][r.order_line.product.sku] = r.quantity

    short = {line.product.sku: line.quantity_backordered for line in lines}
    short = {sku: qty for sku, qty in short.items() if qty > 0}
    new_events = []
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
    return previous, save, new_events, dict(reserved)


def _lines_update_allocated(reservations: list[Reservation]) -> None:
    """Write the lines' new ``quantity_allocated``, already applied in memory (``_settle``):
    a constant number of statements (one UPDATE per distinct increment; the orders are
    locked)."""
    delta: dict[int, int] = defaultdict(int)
    for r in reservations:
        delta[r.order_line.pk] += r.quantity
    by_delta: dict[int, list[int]] = defaultdict(list)
    for pk, quantity in delta.items():
        by_delta[quantity].append(pk)
    if len(by_delta) > 1 and len(delta) <= 50:
        lines = {r.order_line.pk: r.order_line for r in reservations}
        OrderLine.objects.bulk_update(lines.values(), ["quantity_allocated"])
        return
    for quantity, pks in by_delta.items():
        OrderLine.objects.filter(pk__in=pks).update(
            quantity_allocated=F("quantity_allocated") + quantity
        )


ALLOCATION_FIELDS = [
    "status",
    "promised_ship_date",
    "estimated_delivery_date",
    *LATE_FIELDS,  # a new promise clears the late flag (_estimate_dates)
    "updated_at",
]


def _allocate(
    order: Order,
    *,
    user,
    product_ids: set[int] | None = None,
    locked_levels: list[StockLevel] | None = None,
    lines: list[OrderLine] | None = None,
) -> dict[str, int]:
    """Reserve what the order's backordered lines need, set allocated / backordered, write
    events. The order must be locked. Returns the units reserved per SKU. (A new order is
    allocated before it is inserted: ``_place_confirmed``.)

    ``product_ids`` limits the check to those products (backorder filling after a receipt);
    ``locked_levels`` are stock rows the caller has already locked (then no lock is taken here).
    """
    if lines is None:
        lines = list(order.lines.select_related("product"))
    wanted = {
        line.product_id
        for line in lines
        if line.quantity_backordered > 0 and (product_ids is None or line.product_id in product_ids)
    }
    if locked_levels is None:
        levels = list(stock_levels_for_update(product_ids=wanted)) if wanted else []
    else:
        levels = [lv for lv in locked_levels if lv.product_id in wanted]
    sites = _allocation_sites([order.pk]).get(order.pk, set())
    reservations = _plan_order(order, lines, levels=levels, product_ids=product_ids, sites=sites)
    stock_reserve(reservations=reservations)
    previous, save, new_events, reserved = _settle(
        order, lines, reservations, user=user, sites=sites
    )
    if reservations:
        _lines_update_allocated(reservations)
    if save:
        order.save(update_fields=ALLOCATION_FIELDS)
    if new_events:
        events.events_save(
            new_events, known=events.Known(reserved_levels={order.pk: _levels_of(reservations)})
        )
    if order.status == OrderStatus.ALLOCATED and previous != OrderStatus.ALLOCATED:
        order_allocated.send(sender=Order, order=order, user=user, allocations=None)
    return reserved
