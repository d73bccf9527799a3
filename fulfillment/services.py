"""Business actions of fulfillment: shipments, pick lists, packing, shipping, delivery, feedback.

Each action is one ``transaction.atomic()`` and takes its row locks in one fixed order
everywhere: the order row first, then shipments (by id), then stock levels (by id, through
``inventory.locks``). Every change writes the order's history through ``orders.events`` in the
same transaction. The order's status is derived from its shipments and lines by one function,
``_rollup``, called by every action that changes a shipment, so the two never disagree.
"""

import datetime
import re
import secrets
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Case, CharField, F, Value, When
from django.db.models.functions import Cast, Concat, LPad
from django.urls import reverse
from django.utils import timezone

from core.calendar import add_business_days
from core.numbers import PICK_LIST_NUMBER, SHIPMENT_NUMBER
from core.validation import is_positive_int, is_whole_number
from inventory.locks import stock_levels_for_update
from inventory.models import Allocation, Warehouse
from inventory.services import stock_consume
from orders import events
from orders.locks import order_for_update, orders_for_update
from orders.models import LATE_FIELDS, OPEN_STATUSES, EventType, Order, OrderLine, OrderStatus

from .exceptions import (
    FeedbackLinkError,
    ShipmentNotFound,
    ShipmentTransitionNotAllowed,
    ShipmentValidationError,
)
from .models import (
    OPEN_SHIPMENT_STATUSES,
    CarrierService,
    DeliveryFeedback,
    PickList,
    Shipment,
    ShipmentLine,
    ShipmentStatus,
)

SS = ShipmentStatus
OS = OrderStatus
MAX_PICK_LIST_SIZE = 200
TRACKING_NUMBER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{3,63}$")
FEEDBACK_SALT = "fulfillment.delivery-feedback"


# --- locks ------------------------------------------------------------------------------------
def _lock_order(order_id: int) -> Order:
    return order_for_update(order_id)


def _lock_orders(order_ids: Iterable[int]) -> list[Order]:
    return orders_for_update(ids=order_ids, related=("customer",))


def _lock_shipment(shipment: Shipment) -> tuple[Order, Shipment]:
    """Lock the shipment's order, then the shipment; return fresh copies of both."""
    order = _lock_order(shipment.order_id)
    locked = (
        Shipment.objects.select_for_update(of=("self",))
        .select_related("warehouse", "carrier_service__carrier")
        .get(pk=shipment.pk)
    )
    locked.order = order
    return order, locked


def _refuse(shipment: Shipment, action: str, why: str = "") -> ShipmentTransitionNotAllowed:
    label = SS(shipment.status).label.lower()
    message = why or f"Shipment {shipment.number} cannot be {action} while it is {label}."
    return ShipmentTransitionNotAllowed(message, status=shipment.status)


def _order_must_be_active(order: Order, shipment: Shipment, action: str) -> None:
    if order.status not in (OS.ALLOCATED, OS.PROCESSING, OS.PARTIALLY_SHIPPED):
        label = OS(order.status).label.lower()
        raise ShipmentTransitionNotAllowed(
            f"Shipment {shipment.number} cannot be {action}: its order {order.number} is {label}.",
            status=shipment.status,
        )


# --- the order's status from its shipments ----------------------------------------------------
_PATH = [OS.ALLOCATED, OS.PROCESSING, OS.PARTIALLY_SHIPPED, OS.SHIPPED, OS.DELIVERED]
_RANK = {status: rank for rank, status in enumerate(_PATH)}
_STEP = {
    OS.PROCESSING: "start_processing",
    OS.PARTIALLY_SHIPPED: "mark_partially_shipped",
    OS.SHIPPED: "mark_shipped",
    OS.DELIVERED: "mark_delivered",
}


def _target_status(shipments: Sequence[Shipment], lines: Sequence[OrderLine]) -> str:
    live = [s for s in shipments if s.status != SS.CANCELLED]
    shipped_units = sum(line.quantity_shipped for line in lines)
    open_units = sum(
        line.quantity - line.quantity_cancelled - line.quantity_shipped for line in lines
    )
    if shipped_units and open_units == 0:
        if live and all(s.status == SS.DELIVERED for s in live):
            return OS.DELIVERED
        return OS.SHIPPED
    if shipped_units:
        return OS.PARTIALLY_SHIPPED
    if any(s.status != SS.PENDING for s in live):
        return OS.PROCESSING
    return OS.ALLOCATED


def _advance(order: Order, target: str, *, user) -> list:
    """Walk the order forward to ``target`` through its own transitions; never backwards."""
    if order.status not in _RANK or _RANK[target] <= _RANK[order.status]:
        return []
    steps = [
        status
        for status in _PATH[_RANK[order.status] + 1 : _RANK[target] + 1]
        if not (status == OS.PARTIALLY_SHIPPED and target in (OS.SHIPPED, OS.DELIVERED))
    ]
    built = []
    for status in steps:
        previous = order.status
        getattr(order, _STEP[status])()
        built.append(
            events.event_build(
                order=order,
                type=EventType.STATUS_CHANGED,
                user=user,
                from_status=previous,
                to_status=order.status,
            )
        )
    return built


def _rollup(orders: Sequence[Order], *, user, extra_events: Sequence = ()) -> list[Order]:
    """Derive the status of locked ``orders`` from their shipments and lines (constant number
    of queries whatever the number of orders); save the changed ones and the history."""
    ids = [order.pk for order in orders]
    shipments: dict[int, list[Shipment]] = defaultdict(list)
    for shipment in Shipment.objects.filter(order_id__in=ids).only("pk", "order_id", "status"):
        shipments[shipment.order_id].append(shipment)
    lines: dict[int, list[OrderLine]] = defaultdict(list)
    for line in OrderLine.objects.filter(order_id__in=ids):
        lines[line.order_id].append(line)
    built = list(extra_events)
    changed = []
    now = timezone.now()
    for order in orders:
        target = _target_status(shipments[order.pk], lines[order.pk])
        steps = _advance(order, target, user=user)
        if steps:
            order.updated_at = now
            changed.append(order)
            built.extend(steps)
    # Shipped in full: ``mark_shipped`` cleared the late flag (a late order is no longer late).
    if len(changed) == 1:
        changed[0].save(update_fields=["status", *LATE_FIELDS, "updated_at"])
    elif changed:
        # One UPDATE per target status: bulk_update's CASE per row costs seconds for a pick list
        # of 1,000 orders (docs/benchmarks.md).
        by_status: dict[str, list[int]] = defaultdict(list)
        for order in changed:
            by_status[order.status].append(order.pk)
        for status, pks in by_status.items():
            cleared = {}
            if status not in OPEN_STATUSES:
                cleared = {"late_since": None, "late_notified": False}
            Order.objects.filter(pk__in=pks).update(status=status, updated_at=now, **cleared)
    if built:
        events.events_save(built)
    return changed


def order_status_rollup(*, order: Order, user=None) -> Order:
    """Bring the order's status in line with its shipments (processing, partially shipped,
    shipped, delivered). Safe to call at any time; it never moves an order backwards."""
    with transaction.atomic():
        locked = _lock_order(order.pk)
        _rollup([locked], user=user)
    return locked


# --- shipments from reservations ---------------------------------------------------------------
def _numbers_from_ids(shipments: list[Shipment]) -> None:
    """Give inserted shipments their number (derived from the id) in one UPDATE."""
    for shipment in shipments:
        shipment.number = SHIPMENT_NUMBER.for_pk(shipment.pk)
    if len(shipments) == 1:
        shipments[0].save(update_fields=["number"])
        return
    width = SHIPMENT_NUMBER.width
    digits = Cast("pk", CharField())
    Shipment.objects.filter(pk__in=[s.pk for s in shipments]).update(
        number=Concat(
            Value(f"{SHIPMENT_NUMBER.prefix}-"),
            Case(
                When(pk__lt=10**width, then=LPad(digits, width, Value("0"))),
                default=digits,
                output_field=CharField(),
            ),
            output_field=CharField(),
        )
    )


def shipments_create_for_orders(
    *,
    orders: Sequence[Order],
    user=None,
    new_allocations: Sequence[Allocation] | None = None,
) -> list[Shipment]:
    """One pending shipment per warehouse holding reservations of each locked order that no open
    shipment covers yet (called when orders become allocated), for many orders at once in a
    constant number of statements (a receipt filling thousands of backorders).

    ``new_allocations``: every reservation of a single order created in this transaction
    (placement; with their stock levels, warehouses, lines and products loaded): such an order
    has no shipment yet, so nothing is read."""
    by_id = {order.pk: order for order in orders}
    if not by_id:
        return []
    covered: dict[tuple[int, int], int] = defaultdict(int)
    with transaction.atomic(savepoint=False):
        # (order, warehouse code, line, warehouse, stock level, quantity, SKU): plain values, as
        # a receipt may read tens of thousands of reservations here.
        if new_allocations is not None and len(by_id) == 1:
            rows = sorted(
                (
                    a.order_line.order_id,
                    a.stock_level.warehouse.code,
                    a.order_line_id,
                    a.stock_level.warehouse_id,
                    a.stock_level_id,
                    a.quantity,
                    a.order_line.product.sku,
                )
                for a in new_allocations
            )
        else:
            rows = list(
                Allocation.objects.filter(order_line__order_id__in=list(by_id))
                .order_by("order_line__order_id", "stock_level__warehouse__code", "order_line_id")
                .values_list(
                    "order_line__order_id",
                    "stock_level__warehouse__code",
                    "order_line_id",
                    "stock_level__warehouse_id",
                    "stock_level_id",
                    "quantity",
                    "order_line__product__sku",
                )
            )
            for line in ShipmentLine.objects.filter(
                shipment__order_id__in=list(by_id), shipment__status__in=OPEN_SHIPMENT_STATUSES
            ).values_list("order_line_id", "stock_level_id", "quantity"):
                covered[line[:2]] += line[2]
        # per (order, warehouse): [(line, stock level, quantity, SKU)]
        parts_of: dict[tuple[int, int], list[tuple[int, int, int, str]]] = defaultdict(list)
        codes: dict[int, str] = {}
        for order_id, code, line_id, warehouse_id, level_id, reserved, sku in rows:
            quantity = reserved - covered.get((line_id, level_id), 0)
            if quantity > 0:
                codes[warehouse_id] = code
                parts_of[(order_id, warehouse_id)].append((line_id, level_id, quantity, sku))
        if not parts_of:
            return []
        # Warehouses already in memory (a new order's reservations) go on the shipments too.
        warehouses = (
            {a.stock_level.warehouse_id: a.stock_level.warehouse for a in new_allocations}
            if new_allocations is not None
            else {}
        )
        created = Shipment.objects.bulk_create(
            [
                Shipment(
                    number=SHIPMENT_NUMBER.placeholder(uuid.uuid4().hex),
                    order_id=order_id,
                    warehouse_id=warehouse_id,
                )
                for order_id, warehouse_id in parts_of
            ]
        )
        for shipment in created:
            if shipment.warehouse_id in warehouses:
                shipment.warehouse = warehouses[shipment.warehouse_id]
        _numbers_from_ids(created)
        for shipment in created:
            shipment._update_initial_state()
        ShipmentLine.objects.bulk_create(
            [
                ShipmentLine(
                    shipment=shipment,
                    order_line_id=line_id,
                    stock_level_id=level_id,
                    quantity=quantity,
                )
                for shipment, parts in zip(created, parts_of.values(), strict=True)
                for line_id, level_id, quantity, _sku in parts
            ]
        )
        built = []
        for shipment, ((order_id, warehouse_id), parts) in zip(
            created, parts_of.items(), strict=True
        ):
            code = codes[warehouse_id]
            skus = {sku: quantity for _line, _level, quantity, sku in parts}
            built.append(
                events.event_build(
                    order=by_id[order_id],
                    type=EventType.SHIPMENT_CREATED,
                    user=user,
                    message=f"Shipment {shipment.number} from {code}: "
                    + ", ".join(f"{q} × {s}" for s, q in skus.items()),
                    shipment=shipment.number,
                    warehouse=code,
                    lines=skus,
                )
            )
        events.events_save(built)
    return created


def shipments_cancel_for_order(*, order: Order, user=None, reason: str = "") -> list[Shipment]:
    """Cancel the open shipments of a cancelled order (its reservations are already released
    by ``orders.services.order_cancel``). Shipped shipments are left alone."""
    with transaction.atomic():
        shipments = list(
            Shipment.objects.filter(order_id=order.pk, status__in=OPEN_SHIPMENT_STATUSES)
            .order_by("pk")
            .select_for_update(of=("self",))
        )
        now = timezone.now()
        built = []
        for shipment in shipments:
            previous = shipment.status
            shipment.cancel(at=now)
            shipment.save(update_fields=["status", "cancelled_at"])
            built.append(
                events.event_build(
                    order=order,
                    type=EventType.NOTE,
                    user=user,
                    message=f"Shipment {shipment.number} cancelled. {reason}".strip(),
                    shipment=shipment.number,
                    previous_status=previous,
                    shipment_status=SS.CANCELLED.value,
                )
            )
        if built:
            events.events_save(built)
    return shipments


def shipment_cancel(*, shipment: Shipment, user=None, reason: str = "") -> Shipment:
    """Cancel one shipment. Only the shipments of a cancelled order are cancelled: a shipment
    of an open order is cancelled by cancelling the order (which returns the stock)."""
    with transaction.atomic():
        order, shipment = _lock_shipment(shipment)
        if shipment.status in (SS.SHIPPED, SS.DELIVERED):
            raise _refuse(
                shipment,
                "cancelled",
                f"Shipment {shipment.number} has already shipped; it cannot be cancelled "
                "(open a return instead).",
            )
        if shipment.status == SS.CANCELLED:
            return shipment
        if order.status != OS.CANCELLED:
            raise _refuse(
                shipment,
                "cancelled",
                f"Shipment {shipment.number} belongs to open order {order.number}: cancel the "
                "order to cancel its shipments and return their stock.",
            )
        shipments_cancel_for_order(order=order, user=user, reason=reason)
        shipment.refresh_from_db()
    return shipment


# --- pick lists ------------------------------------------------------------------------------
def picklist_create(
    *,
    warehouse: Warehouse,
    shipments: Iterable[Shipment] | None = None,
    count: int | None = None,
    user=None,
) -> PickList:
    """Batch pending shipments of one warehouse (the selected ones, or the ``count`` oldest)
    into one pick list; they move to picking and their orders to processing.

    Runs a constant number of queries whatever the number of shipments."""
    if (shipments is None) == (count is None):
        raise ShipmentValidationError(
            {"shipments": ["Select shipments or give how many of the oldest to pick (not both)."]}
        )
    if count is not None and not is_whole_number(count, minimum=1, maximum=MAX_PICK_LIST_SIZE):
        raise ShipmentValidationError(
            {"count": [f"Give a whole number of shipments from 1 to {MAX_PICK_LIST_SIZE}."]}
        )
    with transaction.atomic():
        if count is not None:
            ids = list(
                Shipment.objects.filter(warehouse=warehouse, status=SS.PENDING)
                .exclude(order__status=OS.ON_HOLD)
                .order_by("created_at", "pk")
                .values_list("pk", flat=True)[:count]
            )
            if not ids:
                raise ShipmentValidationError(
                    {"count": [f"No pending shipments are waiting in {warehouse.code}."]}
                )
        else:
            ids = sorted({s.pk for s in shipments})
            if not ids:
                raise ShipmentValidationError({"shipments": ["Select at least one shipment."]})
            if len(ids) > MAX_PICK_LIST_SIZE:
                raise ShipmentValidationError(
                    {"shipments": [f"A pick list takes at most {MAX_PICK_LIST_SIZE} shipments."]}
                )
        order_ids = set(Shipment.objects.filter(pk__in=ids).values_list("order_id", flat=True))
        orders = {order.pk: order for order in _lock_orders(order_ids)}
        locked = list(
            Shipment.objects.filter(pk__in=ids)
            .select_related("warehouse")
            .order_by("pk")
            .select_for_update(of=("self",))
        )
        if count is not None:
            # Someone else may have picked some of them meanwhile: take what is still waiting.
            locked = [
                s
                for s in locked
                if s.status == SS.PENDING and orders[s.order_id].status != OS.ON_HOLD
            ]
            if not locked:
                raise ShipmentValidationError(
                    {"count": [f"No pending shipments are waiting in {warehouse.code}."]}
                )
        problems = []
        if len(locked) < len(ids) and count is None:
            problems.append("Some selected shipments no longer exist.")
        for shipment in locked:
            order = orders[shipment.order_id]
            if shipment.warehouse_id != warehouse.pk:
                problems.append(
                    f"Shipment {shipment.number} ships from {shipment.warehouse.code}, "
                    f"not {warehouse.code}."
                )
            elif shipment.status != SS.PENDING:
                problems.append(
                    f"Shipment {shipment.number} is {SS(shipment.status).label.lower()}, "
                    "not pending."
                )
            elif order.status not in (OS.ALLOCATED, OS.PROCESSING, OS.PARTIALLY_SHIPPED):
                problems.append(
                    f"Shipment {shipment.number}: order {order.number} is "
                    f"{OS(order.status).label.lower()}."
                )
        if problems:
            raise ShipmentValidationError({"shipments": problems})

        pick_list = PickList.objects.create(
            number=PICK_LIST_NUMBER.placeholder(uuid.uuid4().hex),
            warehouse=warehouse,
            created_by=user if user is not None and user.is_authenticated else None,
        )
        pick_list.number = PICK_LIST_NUMBER.for_pk(pick_list.pk)
        pick_list.save(update_fields=["number"])
        now = timezone.now()
        built = []
        for shipment in locked:
            shipment.start_picking(pick_list=pick_list, at=now)
            built.append(
                events.event_build(
                    order=orders[shipment.order_id],
                    type=EventType.PICKED,
                    user=user,
                    message=f"Shipment {shipment.number} is being picked ({pick_list.number}).",
                    shipment=shipment.number,
                    pick_list=pick_list.number,
                )
            )
        # Every shipment got the same values: one plain UPDATE (bulk_update is slow at 1,000).
        Shipment.objects.filter(pk__in=[s.pk for s in locked]).update(
            status=SS.PICKING, pick_list=pick_list, picked_at=now
        )
        involved = sorted({s.order_id for s in locked})
        _rollup([orders[pk] for pk in involved], user=user, extra_events=built)
    return pick_list


# --- carriers --------------------------------------------------------------------------------
@dataclass(frozen=True)
class CarrierProposal:
    service: CarrierService
    cost: Decimal | None  # None: priced per kg and the weight is not recorded
    delivery_date: datetime.date
    meets_promise: bool

    @property
    def price_from(self) -> Decimal:
        """What ranks the proposals: the cost, or the parcel fee when the weight is unknown."""
        return self.cost if self.cost is not None else self.service.price_per_parcel


def carrier_service_cost(service: CarrierService, weight_grams: int | None) -> Decimal | None:
    """The price of one parcel; ``None`` when the weight is unknown and the service charges
    per kg (a flat-priced service costs its parcel fee whatever the weight)."""
    if weight_grams is None:
        return None if service.price_per_kg else service.price_per_parcel
    kg = Decimal(max(weight_grams, 0)) / Decimal(1000)
    return (service.price_per_parcel + service.price_per_kg * kg).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )


def carrier_proposals(
    *, order: Order, weight_grams: int | None, ship_date: datetime.date | None = None
) -> list[CarrierProposal]:
    """Every active service that serves the order's country, cheapest first. Without a weight
    (``None``) the parcel fee ranks them, the price per kg breaking ties."""
    ship_date = ship_date or timezone.localdate()
    promised = order.estimated_delivery_date
    proposals = []
    for service in CarrierService.objects.filter(
        is_active=True, carrier__is_active=True
    ).select_related("carrier"):
        if not service.serves(order.shipping_country):
            continue
        delivery = add_business_days(ship_date, service.transit_days)
        proposals.append(
            CarrierProposal(
                service=service,
                cost=carrier_service_cost(service, weight_grams),
                delivery_date=delivery,
                meets_promise=promised is None or delivery <= promised,
            )
        )
    proposals.sort(
        key=lambda p: (p.price_from, p.service.price_per_kg, p.delivery_date, p.service.pk)
    )
    return proposals


def carrier_service_choose(
    *, order: Order, weight_grams: int | None, ship_date: datetime.date | None = None
) -> CarrierProposal | None:
    """The cheapest service that delivers by the order's promised date; when none can, the
    fastest one (``meets_promise`` False). ``None`` when no service serves the country.
    Without a weight, the service with the lowest parcel fee (see ``carrier_proposals``)."""
    proposals = carrier_proposals(order=order, weight_grams=weight_grams, ship_date=ship_date)
    meeting = [p for p in proposals if p.meets_promise]
    if meeting:
        return meeting[0]
    if proposals:
        return min(proposals, key=lambda p: (p.delivery_date, p.price_from, p.service.pk))
    return None


def shipment_estimated_weight(shipment: Shipment) -> int | None:
    """The products' weights added up; ``None`` (unknown) when any product has none recorded,
    since a partial sum would put a wrong weight on the label."""
    total = 0
    for line in shipment.lines.select_related("order_line__product"):
        weight = line.order_line.product.weight_grams
        if not weight:
            return None
        total += line.quantity * weight
    return total or None


# --- packing ---------------------------------------------------------------------------------
def _positive_int(value, field: str, label: str, errors: dict, *, maximum: int) -> int | None:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not is_positive_int(value):
        errors.setdefault(field, []).append(f"Give the {label} as a positive whole number.")
        return None
    if value > maximum:
        errors.setdefault(field, []).append(f"The {label} cannot exceed {maximum}.")
        return None
    return value


def _merge_packed(packed, errors: dict) -> dict[str, int]:
    items = packed.items() if isinstance(packed, Mapping) else packed
    merged: dict[str, int] = defaultdict(int)
    for position, item in enumerate(items, start=1):
        try:
            sku, quantity = item
        except (TypeError, ValueError):
            errors.setdefault("lines", []).append(f"Line {position}: give a SKU and a quantity.")
            continue
        sku = (sku or "").strip() if isinstance(sku, str) else ""
        if isinstance(quantity, str) and quantity.strip().isdigit():
            quantity = int(quantity.strip())
        if not sku and quantity in (None, "", 0):
            continue  # an empty row of the form
        if not sku:
            errors.setdefault("lines", []).append(f"Line {position}: scan or type the SKU.")
            continue
        if not is_whole_number(quantity, minimum=0):
            errors.setdefault("lines", []).append(
                f"Line {position} ({sku}): the quantity must be a whole number of 0 or more."
            )
            continue
        merged[sku] += quantity
    return dict(merged)


def default_parcel_cm() -> tuple[int, int, int]:
    """Length, width and height recorded when the packer gives none
    (``OMS_DEFAULT_PARCEL_CM``, 30 × 20 × 10 cm)."""
    return tuple(settings.OMS_DEFAULT_PARCEL_CM)


def shipment_pack(
    *,
    shipment: Shipment,
    packed: Mapping[str, int] | Sequence[tuple[str, int]],
    weight_grams: int | None = None,
    length_cm: int | None = None,
    width_cm: int | None = None,
    height_cm: int | None = None,
    carrier_service: CarrierService | None = None,
    carrier_name: str = "",
    user=None,
) -> Shipment:
    """Confirm what went into the parcel (SKU → quantity, must match the shipment exactly),
    record weight and dimensions and the carrier service (the proposed one unless given).
    Where no carrier service is set up at all, the parcel is packed without one
    (``carrier_name``, typed, is recorded if given; ``shipment_ship`` then needs the name).

    Without a weight the products' weights are added up; when a product has none recorded the
    weight is recorded as unknown (``None``, the label says so) and the carrier service is
    chosen by its parcel fee. Without dimensions the standard parcel is recorded
    (``default_parcel_cm``)."""
    errors: dict[str, list[str]] = {}
    if weight_grams is None:
        weight = shipment_estimated_weight(shipment)
    else:
        weight = _positive_int(
            weight_grams, "weight_grams", "weight in grams", errors, maximum=10**6
        )
    standard = default_parcel_cm()
    dims = [
        _positive_int(standard[i] if value is None else value, field, label, errors, maximum=1000)
        for i, (value, field, label) in enumerate(
            (
                (length_cm, "length_cm", "length in cm"),
                (width_cm, "width_cm", "width in cm"),
                (height_cm, "height_cm", "height in cm"),
            )
        )
    ]
    scanned = _merge_packed(packed, errors)
    with transaction.atomic():
        order, shipment = _lock_shipment(shipment)
        if shipment.status != SS.PICKING:
            raise _refuse(shipment, "packed")
        _order_must_be_active(order, shipment, "packed")
        expected: dict[str, int] = defaultdict(int)
        for line in shipment.lines.select_related("order_line__product"):
            expected[line.order_line.product.sku] += line.quantity
        by_upper = {sku.upper(): sku for sku in expected}
        normalised: dict[str, int] = defaultdict(int)
        for sku, quantity in scanned.items():
            normalised[by_upper.get(sku.upper(), sku)] += quantity
        mismatches = []
        for sku, needed in expected.items():
            got = normalised.get(sku, 0)
            if got != needed:
                mismatches.append(
                    f"SKU {sku}: {got} packed but shipment {shipment.number} needs {needed}."
                )
        for sku, got in normalised.items():
            if sku not in expected and got:
                mismatches.append(f"SKU {sku} is not part of shipment {shipment.number}.")
        if mismatches:
            errors.setdefault("lines", []).extend(mismatches)
        proposal = None
        if "weight_grams" not in errors:
            proposal = carrier_service_choose(order=order, weight_grams=weight)
        if carrier_service is not None:
            if not (carrier_service.is_active and carrier_service.carrier.is_active):
                errors.setdefault("carrier_service", []).append(f"{carrier_service} is not active.")
            elif not carrier_service.serves(order.shipping_country):
                errors.setdefault("carrier_service", []).append(
                    f"{carrier_service} does not deliver to {order.shipping_country}."
                )
            service = carrier_service
        else:
            service = proposal.service if proposal else None
            typed = _typed_carrier_name(carrier_name, errors)
            if service is None and "weight_grams" not in errors and carrier_services_exist():
                errors.setdefault("carrier_service", []).append(
                    f"No active carrier service delivers to {order.shipping_country}; "
                    "set one up or choose one."
                )
        if errors:
            raise ShipmentValidationError(errors)
        shipment.weight_grams = weight
        shipment.length_cm, shipment.width_cm, shipment.height_cm = dims
        shipment.carrier_service = service
        shipment.carrier_name = "" if service is not None else typed
        shipment.shipping_cost = carrier_service_cost(service, weight) if service else None
        shipment.pack(at=timezone.now())
        shipment.save(
            update_fields=[
                "status",
                "packed_at",
                "weight_grams",
                "length_cm",
                "width_cm",
                "height_cm",
                "carrier_service",
                "carrier_name",
                "shipping_cost",
            ]
        )
        carrier_text = str(service) if service else (shipment.carrier_name or "carrier not set")
        events.event_write(
            order=order,
            type=EventType.PACKED,
            user=user,
            message=f"Shipment {shipment.number} packed, "
            f"weight {shipment.weight_display}, {carrier_text}.",
            shipment=shipment.number,
            weight_grams=weight,
            dimensions_cm=dims,
            carrier_service=str(service) if service else None,
            carrier=shipment.carrier_name or None,
            shipping_cost=None if shipment.shipping_cost is None else str(shipment.shipping_cost),
            proposed_service=str(proposal.service) if proposal else None,
            overridden=bool(proposal and service and proposal.service.pk != service.pk),
        )
    return shipment


def carrier_services_exist() -> bool:
    """Whether any active carrier service is set up. Without one (a fresh installation, a shop
    that ships with whatever carrier it hands parcels to) nothing is chosen automatically: the
    carrier is typed by name with its tracking number."""
    return CarrierService.objects.filter(is_active=True, carrier__is_active=True).exists()


def _typed_carrier_name(value, errors: dict[str, list[str]]) -> str:
    name = " ".join(value.split()) if isinstance(value, str) else ""
    if len(name) > 100:
        errors.setdefault("carrier_name", []).append("A carrier's name has at most 100 characters.")
    return name[:100]


# --- shipping --------------------------------------------------------------------------------
def _tracking_number_new(service: CarrierService) -> str:
    prefix = (service.carrier.tracking_prefix or service.carrier.code[:4] or "TRK").upper()
    prefix = re.sub(r"[^A-Z0-9]", "", prefix) or "TRK"
    while True:
        number = f"{prefix}{secrets.token_hex(6).upper()}"
        if not Shipment.objects.filter(tracking_number=number).exists():
            return number


def shipment_ship(
    *,
    shipment: Shipment,
    tracking_number: str = "",
    carrier_service: CarrierService | None = None,
    carrier_name: str = "",
    user=None,
) -> Shipment:
    """Hand the parcel to the carrier: stock on hand and reserved go down through the ledger,
    the order lines' shipped quantities go up, the order becomes partially shipped or shipped.
    The carrier service is the one given, else the packed one, else the cheapest that keeps
    the promised date. A tracking number is generated when none is given.

    Where no carrier service is set up, the carrier is typed by name (``carrier_name``, else
    the one typed at packing) and its own ``tracking_number`` is required: a number made up
    here would track nothing at that carrier."""
    tracking_number = (tracking_number or "").strip() if isinstance(tracking_number, str) else ""
    errors: dict[str, list[str]] = {}
    typed = _typed_carrier_name(carrier_name, errors)
    with transaction.atomic():
        order, shipment = _lock_shipment(shipment)
        if shipment.status != SS.PACKED:
            raise _refuse(shipment, "shipped")
        _order_must_be_active(order, shipment, "shipped")
        service = carrier_service or shipment.carrier_service
        # A carrier typed at packing is on the label already: never swap it for another
        # one silently, even once carrier services have been set up meanwhile.
        typed = typed or (shipment.carrier_name if service is None else "")
        if service is None and not typed:
            # Packed before carriers were set up: the cheapest that keeps the date.
            proposal = carrier_service_choose(order=order, weight_grams=shipment.weight_grams)
            service = proposal.service if proposal else None
        if service is not None:
            typed = ""
            if not service.serves(order.shipping_country):
                errors["carrier_service"] = [
                    f"{service} does not deliver to {order.shipping_country}."
                ]
        elif carrier_services_exist():
            if typed:
                errors["carrier_name"] = [
                    f"Carrier services are set up: choose one that delivers to "
                    f"{order.shipping_country} instead of typing '{typed}'."
                ]
            else:
                errors["carrier_service"] = ["Choose the carrier service that takes the parcel."]
        else:
            typed = typed or shipment.carrier_name
            if not typed:
                errors["carrier_service"] = [
                    "A parcel must have a carrier: no carrier service is set up, so give the "
                    "carrier's name and its tracking number."
                ]
            elif not tracking_number:
                errors["tracking_number"] = [
                    f"Give {typed}'s tracking number: none can be generated for a carrier "
                    "that is not set up."
                ]
        if tracking_number:
            if not TRACKING_NUMBER_RE.match(tracking_number):
                errors["tracking_number"] = [
                    "A tracking number has 4 to 64 letters, digits or dashes."
                ]
            elif (
                Shipment.objects.filter(tracking_number=tracking_number)
                .exclude(pk=shipment.pk)
                .exists()
            ):
                errors["tracking_number"] = [
                    f"Tracking number {tracking_number} is already used by another shipment."
                ]
        if errors:
            raise ShipmentValidationError(errors)
        if not tracking_number:
            tracking_number = _tracking_number_new(service)  # typed carriers gave one

        lines = list(shipment.lines.select_related("order_line__product").order_by("pk"))
        # Stock rows next, all at once and by id (inventory.locks).
        list(stock_levels_for_update(ids={line.stock_level_id for line in lines}))
        allocations = {
            (a.order_line_id, a.stock_level_id): a
            for a in Allocation.objects.filter(
                order_line_id__in=[line.order_line_id for line in lines],
                stock_level_id__in=[line.stock_level_id for line in lines],
            )
        }
        for line in lines:
            allocation = allocations.get((line.order_line_id, line.stock_level_id))
            if allocation is None or allocation.quantity < line.quantity:
                raise ShipmentValidationError(
                    {
                        "lines": [
                            f"Only {allocation.quantity if allocation else 0} units of "
                            f"{line.order_line.product.sku} are reserved in "
                            f"{shipment.warehouse.code}, {line.quantity} to ship."
                        ]
                    }
                )
            stock_consume(
                allocation=allocation,
                quantity=line.quantity,
                reference=shipment.number,
                user=user,
            )
            OrderLine.objects.filter(pk=line.order_line_id).update(
                quantity_shipped=F("quantity_shipped") + line.quantity,
                quantity_allocated=F("quantity_allocated") - line.quantity,
            )
        if service is None:
            shipment.carrier_name = typed
            shipment.shipping_cost = None
        elif service.pk != shipment.carrier_service_id:
            shipment.carrier_service = service
            shipment.carrier_name = ""
            shipment.shipping_cost = carrier_service_cost(service, shipment.weight_grams)
        shipment.ship(tracking_number=tracking_number, at=timezone.now())
        try:
            with transaction.atomic():
                shipment.save(
                    update_fields=[
                        "status",
                        "tracking_number",
                        "shipped_at",
                        "carrier_service",
                        "carrier_name",
                        "shipping_cost",
                    ]
                )
        except IntegrityError:
            raise ShipmentValidationError(
                {"tracking_number": [f"Tracking number {tracking_number} is already in use."]}
            ) from None
        carrier = shipment.carrier  # the service's, or the typed name's (no tracking URL)
        shipped = events.event_build(
            order=order,
            type=EventType.SHIPPED,
            user=user,
            message=f"Shipment {shipment.number} handed to {carrier.name}, "
            f"tracking number {tracking_number}.",
            shipment=shipment.number,
            carrier=carrier.name,
            tracking_number=tracking_number,
            tracking_url=carrier.tracking_url(tracking_number),
        )
        _rollup([order], user=user, extra_events=[shipped])
    return shipment


# --- delivery --------------------------------------------------------------------------------
def _deliver(
    shipment: Shipment, *, user, occurred_at: datetime.datetime | None, source: str
) -> tuple[Shipment, bool]:
    now = timezone.now()
    if occurred_at is not None:
        if timezone.is_naive(occurred_at):
            occurred_at = timezone.make_aware(occurred_at)
        if occurred_at > now + datetime.timedelta(minutes=10):
            raise ShipmentValidationError(
                {"occurred_at": [f"{occurred_at.isoformat()} lies in the future."]}
            )
    with transaction.atomic():
        order, shipment = _lock_shipment(shipment)
        if shipment.status == SS.DELIVERED:
            return shipment, False
        if shipment.status != SS.SHIPPED:
            raise _refuse(shipment, "delivered")
        if occurred_at is not None and shipment.shipped_at and occurred_at < shipment.shipped_at:
            raise ShipmentValidationError(
                {
                    "occurred_at": [
                        f"{occurred_at.isoformat()} is before the parcel was shipped "
                        f"({shipment.shipped_at.isoformat()})."
                    ]
                }
            )
        shipment.deliver(at=occurred_at or now)
        shipment.save(update_fields=["status", "delivered_at"])
        _rollup([order], user=user)
        order_delivered = order.status == OS.DELIVERED
        details = {"shipment": shipment.number, "order_delivered": order_delivered}
        if order_delivered:
            details["feedback_url"] = feedback_url(order)
        events.event_write(
            order=order,
            type=EventType.DELIVERED,
            user=user,
            message=f"Shipment {shipment.number} delivered ({source}).",
            **details,
        )
    return shipment, True


def shipment_deliver(
    *, shipment: Shipment, user=None, occurred_at: datetime.datetime | None = None
) -> Shipment:
    """Mark a shipped parcel delivered (staff); repeating it changes nothing. When every
    shipment of the order is delivered, the order is delivered and feedback is invited."""
    return _deliver(shipment, user=user, occurred_at=occurred_at, source="confirmed by staff")[0]


def tracking_update(
    *, tracking_number: str, status: str, occurred_at: datetime.datetime | None = None
) -> tuple[Shipment, bool]:
    """A carrier's tracking update. Returns the shipment and whether anything changed
    (a repeated update changes nothing)."""
    errors = {}
    if not isinstance(tracking_number, str) or not tracking_number.strip():
        errors["tracking_number"] = ["Give the tracking number."]
    if status != "delivered":
        errors["status"] = [
            f"Unsupported status {status!r}; the only status accepted is 'delivered'."
        ]
    if errors:
        raise ShipmentValidationError(errors)
    shipment = Shipment.objects.filter(tracking_number=tracking_number.strip()).first()
    if shipment is None:
        raise ShipmentNotFound(f"No shipment has tracking number {tracking_number.strip()}.")
    return _deliver(shipment, user=None, occurred_at=occurred_at, source="reported by carrier")


# --- delivery feedback -------------------------------------------------------------------------
def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=FEEDBACK_SALT)


def feedback_token(order: Order) -> str:
    return _signer().sign(order.number)


def feedback_url(order: Order) -> str:
    """Absolute URL (``OMS_SITE_URL`` + path) of the order's signed, expiring feedback page:
    it is sent in the delivery e-mail, so it must work outside the site."""
    from orders.notifications import site_url

    return site_url(reverse("fulfillment:feedback", kwargs={"token": feedback_token(order)}))


def feedback_order_from_token(token: str) -> Order:
    days = settings.OMS_FEEDBACK_LINK_DAYS
    try:
        number = _signer().unsign(token, max_age=datetime.timedelta(days=days))
    except signing.SignatureExpired:
        raise FeedbackLinkError(
            f"This feedback link has expired: links are valid for {days} days.", expired=True
        ) from None
    except signing.BadSignature:
        raise FeedbackLinkError(
            "This feedback link is not valid. Please use the link from your e-mail as it is."
        ) from None
    order = Order.objects.filter(number=number).first()
    if order is None:
        raise FeedbackLinkError("This feedback link does not belong to any order.")
    return order


def feedback_submit(*, order: Order, rating, comment: str = "") -> DeliveryFeedback:
    """Record the customer's rating (1–5) of a delivered order; a second submit updates it."""
    errors = {}
    if isinstance(rating, str) and rating.strip().isdigit():
        rating = int(rating.strip())
    if not is_whole_number(rating, minimum=1, maximum=5):
        errors["rating"] = ["Choose a rating from 1 to 5."]
    comment = (comment or "").strip() if isinstance(comment, str) else None
    if comment is None or len(comment) > 2000:
        errors["comment"] = ["The comment must be text of at most 2000 characters."]
    if errors:
        raise ShipmentValidationError(errors)
    with transaction.atomic():
        order = _lock_order(order.pk)
        if order.status != OS.DELIVERED:
            raise ShipmentTransitionNotAllowed(
                f"Order {order.number} has not been delivered yet; it can be rated once it is.",
                status=order.status,
            )
        feedback = DeliveryFeedback.objects.filter(order=order).first()
        updated = feedback is not None
        if feedback is None:
            feedback = DeliveryFeedback.objects.create(order=order, rating=rating, comment=comment)
        else:
            feedback.rating, feedback.comment = rating, comment
            feedback.save(update_fields=["rating", "comment", "updated_at"])
        events.event_write(
            order=order,
            type=EventType.FEEDBACK,
            message=f"Delivery rated {rating}/5" + (" (updated)." if updated else "."),
            rating=rating,
            comment=comment,
            updated=updated,
        )
    return feedback
