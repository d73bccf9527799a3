"""Business actions on orders. Each is one ``transaction.atomic()``; rows are locked in one fixed
order everywhere — orders (by id), then stock levels (by id) — so no two actions deadlock; every
state change writes the order's history in the same transaction.

Services do not check who may act: pages, the admin and the API ask ``has_transition_perm``
(and, for partners, ownership) before calling them. ``user`` is recorded in the history.
"""

import datetime
import hashlib
import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django_fsm import can_proceed

from core.calendar import add_business_days, business_days_between
from core.contact import UNKNOWN_COUNTRY_MESSAGE, is_country_code, phone_normalise
from core.fsm import allowed_transitions
from core.numbers import ORDER_NUMBER
from core.validation import is_positive_int
from inventory.locks import stock_levels_for_update
from inventory.models import Allocation, Product, StockLevel, Warehouse
from inventory.services import (
    Reservation,
    stock_levels_ensure,
    stock_receive,
    stock_release,
    stock_reserve,
)
from inventory.skus import products_by_sku, sku_key

from . import events
from .allocation import Need, plan_allocation
from .exceptions import DuplicateOrder, OrderValidationError, TransitionNotAllowedNow
from .models import (
    LATE_FIELDS,
    Channel,
    Customer,
    EventType,
    Order,
    OrderLine,
    OrderStatus,
    Partner,
)
from .signals import order_allocated, order_cancelled, orders_allocated, orders_flagged_late
from .transitions import TRANSITIONS

NOTES_MAX_LENGTH = 5000  # an order's notes (a TextField: the limit is ours)
ADDRESS_REQUIRED = ("line1", "city", "postal_code", "country")
ADDRESS_FIELDS = ("line1", "line2", "city", "postal_code", "country")
ADDRESS_LABELS = {
    "line1": "a first line (street and number)",
    "city": "a city",
    "postal_code": "a postal code",
    "country": "a country",
}


# --- helpers ----------------------------------------------------------------------------------
# Statuses that only a person's decision about the order sets or leaves (confirm, hold, release,
# cancel). Every other change follows from stock and the warehouse's work — a receipt fills a
# backorder, a count takes units back, a pick list starts processing, a parcel ships — and does
# not change what a decision to hold or cancel means.
DECIDED_STATUSES = frozenset({OrderStatus.PLACED, OrderStatus.ON_HOLD, OrderStatus.CANCELLED})


def changed_meanwhile(seen: str, current: str) -> bool:
    """Whether an action decided on an order seen in status ``seen`` must be refused now that
    it is ``current``: somebody else decided about it meanwhile (held, released, confirmed or
    cancelled it). A change the stock flow made (backordered → allocated, → processing, …) is
    not a reason: the action is decided again on the current state, under its lock."""
    return seen != current and (seen in DECIDED_STATUSES or current in DECIDED_STATUSES)


def _lock_order(order: Order, *, action: str | None = None) -> Order:
    """Re-read ``order`` under a row lock (the first lock any order action takes).

    With ``action`` (a staff transition) an edit decided on a stale view is refused instead of
    silently applied on top of another person's decision (two staff members holding and
    cancelling at once: exactly one wins; ``changed_meanwhile``). A change made meanwhile by
    the stock flow (a receipt filling the order between the caller's read and this lock) is
    not refused: the action goes on against the state read here, under the lock, so a cancel
    racing a receipt cancels. This is the check django-fsm's ``ConcurrentTransitionMixin``
    makes on ``save``, made before any work.
    """
    locked = (
        Order.objects.select_for_update(of=("self",), no_key=True)
        .select_related("channel")
        .get(pk=order.pk)
    )
    if action is not None and changed_meanwhile(order.status, locked.status):
        raise TransitionNotAllowedNow(
            f"Order {locked.number} cannot be {action}: it was changed meanwhile and is now "
            f"{OrderStatus(locked.status).label.lower()}. Reload it and try again.",
            status=locked.status,
        )
    return locked


def _sync(caller: Order, locked: Order) -> None:
    """Bring the caller's instance up to date after a service changed the order through
    ``locked``, so that the caller can go on using it (and save it) without a stale state."""
    if caller is locked:
        return
    # Not refresh_from_db(): django-fsm's version lifts the protection of the status field on
    # the shared field object for a moment, which races between threads. Writing the values
    # into the instance dict is what Django's own loading does; no query needed.
    for field in Order._meta.concrete_fields:
        caller.__dict__[field.attname] = getattr(locked, field.attname)
    caller._update_initial_state()


def _refuse(order: Order, action: str, why: str = "") -> TransitionNotAllowedNow:
    label = OrderStatus(order.status).label.lower()
    message = f"Order {order.number} cannot be {action} while it is {label}."
    if why:
        message = f"Order {order.number} cannot be {action}: {why}"
    return TransitionNotAllowedNow(message, status=order.status)


def _estimate_dates(order: Order, *, ships_from_countries: Iterable[str], backordered: bool):
    """Promised ship date and estimated delivery date from the handling and transit settings
    (business days). A new promise lies in the future, so the late flag is cleared (the
    caller saves ``LATE_FIELDS``): if this promise is missed too, the customer is told again."""
    today = timezone.localdate()
    ship = add_business_days(today, settings.OMS_HANDLING_DAYS)
    if backordered:
        ship = add_business_days(ship, settings.OMS_BACKORDER_DAYS)
    countries = set(ships_from_countries)
    domestic = bool(countries) and countries == {order.shipping_country}
    transit = (
        settings.OMS_TRANSIT_DAYS_DOMESTIC if domestic else settings.OMS_TRANSIT_DAYS_INTERNATIONAL
    )
    order.promised_ship_date = ship
    order.estimated_delivery_date = add_business_days(ship, transit)
    if ship >= today:
        order.late_clear()


def idempotency_fingerprint(data) -> str:
    """Fingerprint of a request: the same Idempotency-Key (the API sends the body's) or partner
    reference (placement sends the cleaned order's) must come with the same request. SHA-256 of
    canonical JSON: keys sorted, no spaces, anything else (Decimal, dates) as its string."""
    return hashlib.sha256(
        json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode()
    ).hexdigest()


# --- placement --------------------------------------------------------------------------------
def _clean_text(value, *, max_length: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise TypeError
    value = value.strip()
    if len(value) > max_length:
        raise ValueError(f"at most {max_length} characters")
    return value


def _validate_customer(data, errors: dict, *, region: str | None) -> dict:
    """The customer's name, e-mail and phone; the phone as E.164, read with ``region`` (the
    shipping country) when it has no ``+`` prefix."""
    if not isinstance(data, dict):
        errors["customer"] = ["Give the customer as an object with name, email and phone."]
        return {}
    problems: dict[str, list[str]] = {}
    cleaned = {}
    for field, limit, required in (("name", 200, True), ("email", 254, True), ("phone", 40, False)):
        try:
            cleaned[field] = _clean_text(data.get(field), max_length=limit)
        except TypeError:
            problems[field] = ["Must be a string."]
            continue
        except ValueError as exc:
            problems[field] = [f"Too long: {exc}."]
            continue
        if required and not cleaned[field]:
            problems[field] = [f"The customer's {field} is required."]
    if "email" in cleaned and cleaned["email"] and "email" not in problems:
        try:
            validate_email(cleaned["email"])
        except ValidationError:
            problems["email"] = [f"'{cleaned['email']}' is not a valid e-mail address."]
    if cleaned.get("phone") and "phone" not in problems:
        try:
            cleaned["phone"] = phone_normalise(cleaned["phone"], region=region)
        except ValueError as exc:
            problems["phone"] = [str(exc)]
    if problems:
        errors["customer"] = problems
    return cleaned


def _validate_address(data, errors: dict) -> dict:
    if not isinstance(data, dict):
        errors["shipping_address"] = [
            "Give the address as an object with line1, line2, city, postal_code and country."
        ]
        return {}
    problems: dict[str, list[str]] = {}
    cleaned = {}
    limits = {"line1": 200, "line2": 200, "city": 100, "postal_code": 20, "country": 2}
    for field in ADDRESS_FIELDS:
        try:
            cleaned[field] = _clean_text(data.get(field), max_length=limits[field])
        except TypeError:
            problems[field] = ["Must be a string."]
            continue
        except ValueError as exc:
            problems[field] = [f"Too long: {exc}." if field != "country" else ""]
        if field in ADDRESS_REQUIRED and not cleaned.get(field) and field not in problems:
            problems[field] = [f"The address needs {ADDRESS_LABELS[field]}."]
    country = data.get("country")
    if isinstance(country, str) and country.strip() and "country" not in problems:
        code = country.strip().upper()
        if not is_country_code(code):
            problems["country"] = [UNKNOWN_COUNTRY_MESSAGE.format(code=country)]
        cleaned["country"] = code
    elif isinstance(country, str) and "country" in problems and problems["country"] == [""]:
        problems["country"] = [UNKNOWN_COUNTRY_MESSAGE.format(code=country)]
    if problems:
        errors["shipping_address"] = problems
    return cleaned


def _validate_lines(data, errors: dict) -> tuple[list[tuple[Product, int]], str]:
    """Return (product, quantity) pairs and the order currency; record problems in ``errors``."""
    if not isinstance(data, list | tuple) or not data:
        errors["lines"] = ["An order needs at least one line."]
        return [], ""
    problems: list[str] = []
    wanted: list[tuple[int, str, int | None]] = []
    seen: dict[str, int] = {}
    for position, line in enumerate(data, start=1):
        if not isinstance(line, dict):
            problems.append(f"Line {position}: give an object with sku and quantity.")
            continue
        sku = line.get("sku")
        if not isinstance(sku, str) or not sku.strip():
            problems.append(f"Line {position}: the SKU is missing.")
            continue
        sku = sku_key(sku)  # one rule everywhere: hom-002-sd is HOM-002-SD
        quantity = line.get("quantity")
        if not is_positive_int(quantity):
            problems.append(
                f"Line {position} ({sku}): quantity must be a positive whole number, "
                f"not {quantity!r}."
            )
            quantity = None
        elif quantity > 1_000_000:
            problems.append(f"Line {position} ({sku}): quantity {quantity} is too large.")
            quantity = None
        if sku in seen:
            problems.append(
                f"Line {position}: SKU {sku} is already on line {seen[sku]}; "
                "put the whole quantity on one line."
            )
            continue
        seen[sku] = position
        wanted.append((position, sku, quantity))
    products = products_by_sku([sku for _, sku, _ in wanted])
    pairs = []
    for position, sku, quantity in wanted:
        product = products.get(sku)
        if product is None:
            problems.append(f"Line {position}: unknown SKU {sku}.")
        elif not product.is_active:
            problems.append(f"Line {position}: SKU {sku} is no longer sold.")
        elif quantity is not None:
            pairs.append((product, quantity))
    currencies = {product.currency for product, _ in pairs}
    if len(currencies) > 1:
        problems.append(
            "The products are priced in different currencies "
            f"({', '.join(sorted(currencies))}); place one order per currency."
        )
    if problems:
        errors["lines"] = problems
    currency = currencies.pop() if len(currencies) == 1 else settings.OMS_DEFAULT_CURRENCY
    return pairs, currency


def _customer_for(data: dict, address: dict) -> Customer:
    customer = Customer.objects.filter(email__iexact=data["email"]).order_by("pk").first()
    if customer is None:
        customer = Customer.objects.create(
            name=data["name"],
            email=data["email"],
            phone=data.get("phone", ""),
            **{field: address.get(field, "") for field in ADDRESS_FIELDS},
        )
    return customer


def order_place(
    *,
    channel: Channel,
    customer: dict,
    shipping_address: dict,
    lines: Sequence[dict],
    reference: str = "",
    notes: str = "",
    partner: Partner | None = None,
    user=None,
    free_of_charge: bool = False,
    idempotency: tuple[str, str] | None = None,
) -> Order:
    """Validate and create an order; auto-confirming channels also confirm and allocate it.

    ``free_of_charge`` prices every line at 0 (replacements of an exchange): the order is
    created so, before any confirmation e-mail or webhook is written.

    Raises ``OrderValidationError`` naming every problem (nothing is created), or
    ``DuplicateOrder`` when the partner already placed an order with this ``reference``
    (``same_request`` tells whether the earlier order came from the same body).
    """
    errors: dict = {}
    address = _validate_address(shipping_address, errors)
    # A phone number without its country prefix is read as dialled in the shipping country.
    region = None if "country" in errors.get("shipping_address", {}) else address.get("country")
    customer_data = _validate_customer(customer, errors, region=region)
    pairs, currency = _validate_lines(lines, errors)
    try:
        reference = _clean_text(reference, max_length=100)
    except (TypeError, ValueError):
        errors["reference"] = ["The reference must be a string of at most 100 characters."]
    try:
        notes = _clean_text(notes, max_length=NOTES_MAX_LENGTH)
    except (TypeError, ValueError):
        errors["notes"] = [f"Notes must be a string of at most {NOTES_MAX_LENGTH} characters."]
    if errors:
        raise OrderValidationError(errors)

    fingerprint = idempotency_fingerprint(
        {
            "customer": customer_data,
            "address": address,
            "lines": sorted((p.sku, q) for p, q in pairs),
            "notes": notes,
        }
    )
    # A partner reference used before is found by the unique constraint (the INSERT fails and
    # the savepoint is rolled back), not by a look-up before every placement.
    try:
        with transaction.atomic():
            order = _order_create(
                channel=channel,
                partner=partner,
                reference=reference,
                customer_data=customer_data,
                address=address,
                pairs=pairs,
                currency=currency,
                notes=notes,
                fingerprint=fingerprint,
                user=user,
                free_of_charge=free_of_charge,
                idempotency=idempotency,
            )
    except IntegrityError:
        # The partner reference was used before (or two requests with it raced): answer like a
        # repeat.
        if partner is not None and reference:
            existing = Order.objects.filter(partner=partner, reference=reference).first()
            if existing is not None:
                raise _duplicate(existing, fingerprint) from None
        raise
    return order


def _duplicate(existing: Order, fingerprint: str) -> DuplicateOrder:
    same = existing.request_fingerprint == fingerprint
    message = (
        f"Order {existing.number} was already placed with reference {existing.reference}."
        if same
        else f"Reference {existing.reference} was already used for order {existing.number} "
        "with different content."
    )
    return DuplicateOrder(message, order=existing, same_request=same)


def _order_create(
    *,
    channel,
    partner,
    reference,
    customer_data,
    address,
    pairs,
    currency,
    notes,
    fingerprint,
    user,
    free_of_charge=False,
    idempotency: tuple[str, str] | None = None,
) -> Order:
    customer = _customer_for(customer_data, address)

    def price(product: Product) -> Decimal:
        return Decimal("0.00") if free_of_charge else product.unit_price

    order = Order(
        # 7 + 20 characters: fits Order.number (32); the full 32-digit hex would not on PostgreSQL.
        number=ORDER_NUMBER.placeholder(uuid.uuid4().hex[:20]),
        channel=channel,
        partner=partner,
        reference=reference,
        customer=customer,
        shipping_name=customer_data["name"],
        contact_email=customer_data["email"],
        contact_phone=customer_data.get("phone", ""),
        shipping_line1=address["line1"],
        shipping_line2=address.get("line2", ""),
        shipping_city=address["city"],
        shipping_postal_code=address["postal_code"],
        shipping_country=address["country"],
        currency=currency,
        total=sum((price(p) * q for p, q in pairs), Decimal("0")),
        notes=notes,
        request_fingerprint=fingerprint,
        created_by=user if user is not None and user.is_authenticated else None,
    )
    lines = [OrderLine(order=order, product=p, quantity=q, unit_price=price(p)) for p, q in pairs]
    built = [
        events.event_build(
            order=order,
            type=EventType.PLACED,
            user=user,
            to_status=OrderStatus.PLACED,
            message=f"Placed through {channel.name}.",
            lines={p.sku: q for p, q in pairs},
        )
    ]
    # The API's answer and the e-mails use these lines instead of reading them back.
    order.placed_lines = lines
    # Notifications see the order as this transaction leaves it; a brand-new order's outbox
    # rows cannot collide with earlier ones (orders.notifications).
    order.placed_now = True
    allocations = []
    try:
        with events.collected():
            if channel.auto_confirm:
                allocations = _place_confirmed(order, lines, built, user=user)
            else:
                domestic = Warehouse.objects.filter(
                    is_active=True, country=order.shipping_country
                ).exists()
                _estimate_dates(
                    order,
                    ships_from_countries=[order.shipping_country] if domestic else [],
                    backordered=False,
                )
                order.save()
                OrderLine.objects.bulk_create(lines)
                order.number = ORDER_NUMBER.for_pk(order.pk)
                order.save(update_fields=["number"])
                events.events_save(built)
            if idempotency is not None:
                _idempotency_key_save(
                    user=user, order=order, key=idempotency[0], fingerprint=idempotency[1]
                )
            if order.status == OrderStatus.ALLOCATED:
                # Its reservations are all in ``allocations``: receivers need not read them.
                order_allocated.send(sender=Order, order=order, user=user, allocations=allocations)
    finally:
        del order.placed_now  # later changes to the order may repeat a message
    return order


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
    _note_low_stock(new_events, reservations)
    events.events_save(built + new_events)
    return allocations


def _note_low_stock(built: list, reservations: list[Reservation]) -> None:
    """The stock rows this placement left at or below their reorder point (locked, current in
    memory), in its ALLOCATED event: staff are alerted (notifications) without a re-read."""
    levels = {r.stock_level.pk: r.stock_level for r in reservations}.values()
    low = sorted(lv.pk for lv in levels if 0 < lv.reorder_point >= lv.available)
    for event in built:
        if low and event.type == EventType.ALLOCATED:
            event.details["low_stock_levels"] = low


# --- confirmation and allocation ----------------------------------------------------------------
def _confirm(order: Order, *, user) -> None:
    previous = order.status
    order.confirm()
    order.save(update_fields=["status", "confirmed_at", "updated_at"])
    events.status_changed(order=order, from_status=previous, user=user)


def order_confirm(*, order: Order, user=None) -> Order:
    """Staff confirm a placed order; its stock is then reserved at once. The history (and the
    customer's e-mail) is written once: a confirmation that found lines short says so in one
    e-mail, not a confirmation and a delay notice in the same second."""
    with transaction.atomic(), events.collected():
        locked = _lock_order(order, action="confirmed")
        if not can_proceed(locked.confirm):
            raise _refuse(locked, "confirmed")
        _confirm(locked, user=user)
        _allocate(locked, user=user)
        _sync(order, locked)
    return locked


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
        # The locked stock rows, for the low-stock check of the notifications (no re-read).
        allocated.reserved_levels = list(
            {r.stock_level.pk: r.stock_level for r in reservations}.values()
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
        events.events_save(new_events)
    if order.status == OrderStatus.ALLOCATED and previous != OrderStatus.ALLOCATED:
        order_allocated.send(sender=Order, order=order, user=user, allocations=None)
    return reserved


# --- backorders --------------------------------------------------------------------------------
def _backordered_order_ids(product_ids: Iterable[int]) -> list[int]:
    return list(
        Order.objects.filter(
            status=OrderStatus.BACKORDERED,
            lines__product_id__in=list(product_ids),
            lines__quantity__gt=F("lines__quantity_allocated")
            + F("lines__quantity_shipped")
            + F("lines__quantity_cancelled"),
        )
        .order_by("placed_at", "pk")
        .values_list("pk", flat=True)
        .distinct()
    )


def _fill(order_ids: list[int], product_ids: set[int], *, user) -> list[Order]:
    """Fill backorders of ``product_ids``, oldest order first. Locks orders, then stock.

    Every order is planned in memory against the locked stock rows (the same policy as one
    order's allocation), then everything is written at once: one reservation, one update of
    lines per increment, one update of orders per outcome, one batched shipment creation, one
    events INSERT. The number of statements does not grow with the number of orders."""
    if not order_ids:
        return []
    orders = list(
        Order.objects.filter(pk__in=order_ids)
        .order_by("pk")
        .select_for_update(of=("self",), no_key=True)
        .select_related("channel", "customer")  # the e-mails of partly filled orders
    )
    levels = list(stock_levels_for_update(product_ids=product_ids))
    candidates = [
        order
        for order in sorted(orders, key=lambda o: (o.placed_at, o.pk))
        if order.status == OrderStatus.BACKORDERED
    ]
    if not candidates or not any(level.available > 0 for level in levels):
        return []
    lines: dict[int, list[OrderLine]] = defaultdict(list)
    for line in OrderLine.objects.filter(order_id__in=[o.pk for o in candidates]).select_related(
        "product"
    ):
        lines[line.order_id].append(line)
    sites = _allocation_sites(o.pk for o in candidates)

    planned: list[tuple[Order, list[Reservation]]] = []
    held: dict[int, int] = defaultdict(int)
    for order in candidates:
        if not any(level.available > 0 for level in levels):
            break
        reservations = _plan_order(
            order, lines[order.pk], levels=levels, product_ids=product_ids, sites=sites[order.pk]
        )
        if not reservations:
            continue
        for r in reservations:  # the next orders see what this one took
            r.stock_level.reserved += r.quantity
            held[r.stock_level.pk] += r.quantity
        planned.append((order, reservations))
    if not planned:
        return []
    for level in levels:  # stock_reserve adds them again, checks and writes
        level.reserved -= held.get(level.pk, 0)
    every = [r for _, reservations in planned for r in reservations]
    stock_reserve(reservations=every)

    now = timezone.now()
    new_events, allocated = [], []
    by_outcome: dict[tuple, list[int]] = defaultdict(list)
    for order, reservations in planned:
        previous, _save, built, _reserved = _settle(
            order, lines[order.pk], reservations, user=user, sites=sites[order.pk]
        )
        new_events.extend(built)
        order.updated_at = now
        outcome = (order.status, order.promised_ship_date, order.estimated_delivery_date)
        by_outcome[outcome].append(order.pk)
        if order.status == OrderStatus.ALLOCATED and previous != OrderStatus.ALLOCATED:
            allocated.append(order)
    _lines_update_allocated(every)
    for (status, ship, delivery), pks in by_outcome.items():
        # Each has a new promise (_settle): its late flag is cleared.
        Order.objects.filter(pk__in=pks).update(
            status=status,
            promised_ship_date=ship,
            estimated_delivery_date=delivery,
            late_since=None,
            late_notified=False,
            updated_at=now,
        )
    for order, _ in planned:
        order._update_initial_state()
    with events.collected():  # the shipments' history goes into the same INSERT
        events.events_save(new_events)
        if allocated:
            orders_allocated.send(sender=Order, orders=allocated, user=user)
    return [order for order, _ in planned]


def backorders_fill(*, products: Iterable[Product], user=None) -> list[Order]:
    """Give available stock of ``products`` to backordered orders, oldest first."""
    product_ids = {p.pk for p in products}
    with transaction.atomic():
        return _fill(_backordered_order_ids(product_ids), product_ids, user=user)


def backorders_sweep(*, product_ids: Iterable[int] | None = None, user=None) -> list[Order]:
    """Fill backorders wherever stock is free: after a cancellation released units, an
    adjustment added some, or a receipt raced with a placement (runs after their commit), and
    every few minutes as a safety net. Only products with both a backordered order and free
    stock in an active warehouse are looked at."""
    waiting = OrderLine.objects.filter(
        order__status=OrderStatus.BACKORDERED,
        quantity__gt=F("quantity_allocated") + F("quantity_shipped") + F("quantity_cancelled"),
    )
    if product_ids is not None:
        waiting = waiting.filter(product_id__in=list(product_ids))
    free = StockLevel.objects.filter(
        on_hand__gt=F("reserved"),
        warehouse__is_active=True,
        product_id__in=waiting.values("product_id"),
    ).values_list("product_id", flat=True)
    products = list(Product.objects.filter(pk__in=set(free)))
    if not products:
        return []
    return backorders_fill(products=products, user=user)


# --- late orders -------------------------------------------------------------------------------
def late_estimate(order: Order, *, today: datetime.date) -> datetime.date:
    """The new estimated delivery date of a late order: it can ship ``OMS_HANDLING_DAYS``
    business days after ``today``, and keeps the transit its promise had, counted in business
    days (a Friday promise delivered the next Tuesday keeps 2 business days). Never a weekend
    day unless the handling and transit days are both 0."""
    ship = add_business_days(today, settings.OMS_HANDLING_DAYS)
    transit = 0
    if order.promised_ship_date and order.estimated_delivery_date:
        transit = business_days_between(order.promised_ship_date, order.estimated_delivery_date)
    return add_business_days(ship, transit)


def orders_late_flag(*, limit: int = 500) -> list[Order]:
    """Late orders (``Order.objects.late()``) whose customer has not been told about this
    promise: flag them (``late_since``, ``late_notified``), give a new estimated delivery
    date, write a LATE event (its hook e-mails the customer, once per promised date) and alert
    staff. The promised ship date stays: the order remains late until it ships in full, is
    cancelled or gets a new promise, each of which clears the flag, so a later miss of a new
    promise is told again. One transaction per order (locked), then one for the alert."""
    today = timezone.localdate()
    candidates = Order.objects.late(today=today).filter(late_notified=False)
    ids = list(candidates.order_by("pk").values_list("pk", flat=True)[:limit])
    flagged = []
    for pk in ids:
        with transaction.atomic():
            order = (
                candidates.select_for_update(of=("self",))
                .select_related("customer", "channel")
                .filter(pk=pk)
                .first()
            )
            if order is None:  # shipped, cancelled or re-promised meanwhile
                continue
            promised = order.promised_ship_date
            order.estimated_delivery_date = late_estimate(order, today=today)
            order.late_since = timezone.now()
            order.late_notified = True
            order.save(update_fields=[*LATE_FIELDS, "estimated_delivery_date", "updated_at"])
            events.event_write(
                order=order,
                type=EventType.LATE,
                message=(
                    f"Not shipped by the promised date {promised:%d %b %Y}; "
                    f"new estimate {order.estimated_delivery_date:%d %b %Y}."
                ),
                promised_ship_date=promised.isoformat(),
                new_estimate=order.estimated_delivery_date.isoformat(),
            )
            flagged.append(order)
    if flagged:
        with transaction.atomic():  # staff are alerted (notifications listens)
            orders_flagged_late.send(sender=Order, orders=flagged)
    return flagged


def stock_receipt_record(
    *, warehouse: Warehouse, lines: Sequence[tuple[Product, int]], user=None, reference: str = ""
):
    """Receive stock into a warehouse and fill the backorders it allows, in one transaction.

    Returns (ledger movements, orders that got stock).
    """
    product_ids = {product.pk for product, _ in lines}
    with transaction.atomic():
        order_ids = _backordered_order_ids(product_ids)
        # Lock order: the backordered orders first, then every stock row of the received
        # products in every warehouse, in id order, at once. stock_receive locks only this
        # warehouse's rows and _fill all warehouses' rows: taken one after the other, a lower
        # id could be locked after a higher one, and a concurrent order would deadlock with us.
        list(
            Order.objects.filter(pk__in=order_ids)
            .order_by("pk")
            .select_for_update(of=("self",), no_key=True)
        )
        if lines and warehouse.is_active:
            stock_levels_ensure(warehouse=warehouse, products=[product for product, _ in lines])
            list(stock_levels_for_update(product_ids=product_ids))
        movements = stock_receive(warehouse=warehouse, lines=lines, user=user, reference=reference)
        filled = _fill(order_ids, product_ids, user=user)
    return movements, filled


# --- hold, release, cancel ------------------------------------------------------------------------
# One rule for the reason of a hold or a cancellation, in the pages, the admin and the API:
# at most as long as ``Order.hold_reason``; required wherever a person types it (pages). The API
# keeps it optional (the contract lets a partner cancel with an empty body).
REASON_MAX_LENGTH = Order._meta.get_field("hold_reason").max_length
REASON_ACTIONS = {"hold": "put the order on hold", "cancel": "cancel the order"}


def reason_clean(reason, *, action: str, required: bool = True) -> str:
    """The reason for ``action`` (``hold`` or ``cancel``), stripped; raises
    ``OrderValidationError`` ``{"reason": [...]}`` naming the problem and the limit."""
    if reason is not None and not isinstance(reason, str):
        raise OrderValidationError({"reason": ["Give the reason as text."]})
    reason = (reason or "").strip()
    if required and not reason:
        raise OrderValidationError(
            {
                "reason": [
                    f"Give a reason to {REASON_ACTIONS.get(action, action)} "
                    f"(at most {REASON_MAX_LENGTH} characters)."
                ]
            }
        )
    if len(reason) > REASON_MAX_LENGTH:
        raise OrderValidationError(
            {
                "reason": [
                    f"The reason may be at most {REASON_MAX_LENGTH} characters long; "
                    f"this one has {len(reason)}."
                ]
            }
        )
    return reason


def order_hold(*, order: Order, user=None, reason: str = "") -> Order:
    reason = reason_clean(reason, action="hold", required=False)
    with transaction.atomic():
        locked = _lock_order(order, action="put on hold")
        if not can_proceed(locked.hold):
            raise _refuse(locked, "put on hold")
        previous = locked.status
        locked.hold(reason=reason)
        locked.save(update_fields=["status", "held_from_status", "hold_reason", "updated_at"])
        events.status_changed(order=locked, from_status=previous, user=user, message=reason)
        _sync(order, locked)
    return locked


def order_release(*, order: Order, user=None, reason: str = "") -> Order:
    """Return a held order to the state it was held from. A backordered order then gets the
    stock that arrived while it was held (receipts fill only orders that are backordered)."""
    reason = (reason or "").strip()
    with transaction.atomic():
        locked = _lock_order(order, action="released")
        if not can_proceed(locked.release):
            raise _refuse(locked, "released")
        locked.release()
        locked.save(update_fields=["status", "held_from_status", "hold_reason", "updated_at"])
        events.status_changed(
            order=locked, from_status=OrderStatus.ON_HOLD, user=user, message=reason[:500]
        )
        if locked.status == OrderStatus.BACKORDERED:
            _allocate(locked, user=user)
        _sync(order, locked)
    return locked


def order_cancel(*, order: Order, user=None, reason: str = "") -> Order:
    """Cancel the order and release every reservation; refused once anything has shipped."""
    reason = reason_clean(reason, action="cancel", required=False)
    caller = order
    with transaction.atomic():
        order = _lock_order(order, action="cancelled")
        lines = list(order.lines.all())
        shipped = sum(line.quantity_shipped for line in lines)
        if shipped:
            raise _refuse(order, "cancelled", f"{shipped} units have already shipped.")
        if not can_proceed(order.cancel):
            raise _refuse(order, "cancelled")
        allocations = list(Allocation.objects.filter(order_line__order=order))
        released = stock_release(allocations=allocations)
        for line in lines:
            line.quantity_cancelled = line.quantity - line.quantity_shipped
            line.quantity_allocated = 0
        OrderLine.objects.bulk_update(lines, ["quantity_cancelled", "quantity_allocated"])
        previous = order.status
        order.cancel()
        order.save(
            update_fields=["status", "cancelled_at", "held_from_status", *LATE_FIELDS, "updated_at"]
        )
        events.status_changed(
            order=order,
            from_status=previous,
            user=user,
            message=reason,
            units_released=released,
        )
        order_cancelled.send(sender=Order, order=order, user=user)
        _sync(caller, order)
    return order


# --- line changes -------------------------------------------------------------------------------
def _lock_line(line: OrderLine) -> tuple[Order, OrderLine]:
    order = _lock_order(line.order)
    line = OrderLine.objects.select_related("product").get(pk=line.pk)
    return order, line


def _recompute_total(order: Order) -> None:
    order.total = sum((line.line_total for line in order.lines.all()), Decimal("0"))


SUBSTITUTE_PRICE_RULE = (
    "The customer pays the lower of the line's unit price and the substitute's price, unless "
    "staff choose to charge the substitute's price and give a reason."
)


def _units_available(product: Product) -> int:
    """Units of ``product`` free to reserve over the active warehouses."""
    from inventory.selectors import product_list_with_availability

    row = product_list_with_availability(only_active=False).filter(pk=product.pk).first()
    return max(0, row.available) if row is not None else 0


def _substitute_out_of_stock(product: Product, *, available: int, needed: int):
    return OrderValidationError(
        {
            "product": [
                f"SKU {product.sku} has {available} unit(s) available to ship, {needed} needed: "
                "the substitute would be backordered too. Nothing was changed; choose another "
                "item, or let the line wait."
            ]
        }
    )


def order_line_substitute(
    *,
    line: OrderLine,
    product: Product,
    user=None,
    reason: str = "",
    charge_substitute_price: bool = False,
    price_reason: str = "",
) -> OrderLine:
    """Replace the backordered part of ``line`` by ``product`` (the customer agreed).

    The original line keeps what was reserved or shipped; its backordered units are cancelled
    and a new line for ``product`` takes them, then gets stock. Price rule
    (``SUBSTITUTE_PRICE_RULE``): the new line is charged the lower of the old line's unit price
    and the substitute's price; with ``charge_substitute_price`` (and a ``price_reason``) the
    substitute's own price. The order total is recomputed, the history records both items and
    prices, what is charged and why, and the customer is e-mailed (the LINE_SUBSTITUTED event).

    A substitute that cannot be reserved in full now is refused (nothing changes): it would
    leave the line backordered under another name.
    """
    price_reason = (price_reason or "").strip()
    with transaction.atomic():
        order, line = _lock_line(line)
        if order.status not in (OrderStatus.BACKORDERED, OrderStatus.CONFIRMED):
            raise _refuse(order, "changed")
        quantity = line.quantity_backordered
        if quantity <= 0:
            raise OrderValidationError(
                {"line": [f"Line {line.product.sku} has nothing backordered to substitute."]}
            )
        if not product.is_active:
            raise OrderValidationError({"product": [f"SKU {product.sku} is no longer sold."]})
        if product.pk == line.product_id:
            raise OrderValidationError(
                {"product": ["Choose a different product than the backordered one."]}
            )
        if order.lines.filter(product=product).exists():
            raise OrderValidationError(
                {"product": [f"SKU {product.sku} is already on order {order.number}."]}
            )
        if product.currency != order.currency:
            raise OrderValidationError(
                {
                    "product": [
                        f"SKU {product.sku} is priced in {product.currency}, "
                        f"the order in {order.currency}."
                    ]
                }
            )
        if charge_substitute_price and not price_reason:
            raise OrderValidationError(
                {"price_reason": ["Say why the customer pays the substitute's price."]}
            )
        available = _units_available(product)
        if available < quantity:
            raise _substitute_out_of_stock(product, available=available, needed=quantity)
        old_price, new_price = line.unit_price, product.unit_price
        charged = new_price if charge_substitute_price else min(old_price, new_price)
        line.quantity_cancelled += quantity
        line.save(update_fields=["quantity_cancelled"])
        new_line = OrderLine.objects.create(
            order=order,
            product=product,
            quantity=quantity,
            unit_price=charged,
            substituted_from=line,
        )
        _recompute_total(order)
        order.save(update_fields=["total", "updated_at"])
        if order.status == OrderStatus.BACKORDERED:
            _allocate(order, user=user)
            new_line.refresh_from_db()
            if new_line.quantity_backordered:  # the stock is in no warehouse that can ship it
                raise _substitute_out_of_stock(  # rolls back the whole substitution
                    product, available=new_line.quantity_allocated, needed=quantity
                )
        why = "the substitute's price" if charge_substitute_price else "the lower price"
        events.event_write(
            order=order,
            type=EventType.LINE_SUBSTITUTED,
            user=user,
            message=(
                f"{quantity} × {line.product.sku} ({old_price}) replaced by {product.sku} "
                f"({new_price}); charged {charged} each ({why}"
                f"{': ' + price_reason if price_reason else ''}). {reason}"
            ).strip(),
            original_sku=line.product.sku,
            original_name=line.product.name,
            original_unit_price=str(old_price),
            substitute_sku=product.sku,
            substitute_name=product.name,
            substitute_unit_price=str(new_price),
            unit_price_charged=str(charged),
            price_rule="substitute_price" if charge_substitute_price else "lower_price",
            price_reason=price_reason,
            quantity=quantity,
        )
    return new_line


def order_line_cancel_backorder(*, line: OrderLine, user=None, reason: str = "") -> Order:
    """Cancel the backordered units of one line (the customer would rather not wait)."""
    with transaction.atomic():
        order, line = _lock_line(line)
        if order.status not in (OrderStatus.BACKORDERED, OrderStatus.CONFIRMED):
            raise _refuse(order, "changed")
        quantity = line.quantity_backordered
        if quantity <= 0:
            raise OrderValidationError(
                {"line": [f"Line {line.product.sku} has nothing backordered to cancel."]}
            )
        line.quantity_cancelled += quantity
        line.save(update_fields=["quantity_cancelled"])
        _recompute_total(order)
        order.save(update_fields=["total", "updated_at"])
        events.event_write(
            order=order,
            type=EventType.LINE_CANCELLED,
            user=user,
            message=f"{quantity} × {line.product.sku} cancelled. {reason}".strip(),
            sku=line.product.sku,
            quantity=quantity,
        )
        lines = list(order.lines.select_related("product"))
        if all(line.quantity_cancelled == line.quantity for line in lines):
            previous = order.status
            order.cancel()
            order.save(
                update_fields=[
                    "status",
                    "cancelled_at",
                    "held_from_status",
                    *LATE_FIELDS,
                    "updated_at",
                ]
            )
            events.status_changed(
                order=order, from_status=previous, user=user, message="Every line cancelled."
            )
            order_cancelled.send(sender=Order, order=order, user=user)
        elif order.status == OrderStatus.BACKORDERED:
            _allocate(order, user=user, lines=lines)
    return order


# --- one entry point for the transitions staff trigger (API, admin, pages) ----------------------
# Name -> service, in the order of orders.transitions.TRANSITIONS (the buttons' order).
STAFF_TRANSITIONS = {name: globals()[t.service] for name, t in TRANSITIONS.items()}


def order_transition(*, order: Order, name: str, user=None, reason: str = "") -> Order:
    try:
        service = STAFF_TRANSITIONS[name]
    except KeyError:
        raise OrderValidationError({"transition": [f"Unknown transition '{name}'."]}) from None
    if name == "confirm":
        return service(order=order, user=user)
    return service(order=order, user=user, reason=reason)


def available_transitions(order: Order, user=None) -> list[str]:
    """Staff transitions allowed now (and, with ``user``, permitted to them)."""
    return allowed_transitions(order, STAFF_TRANSITIONS, user)


# --- idempotent placement (partner API's Idempotency-Key) ---------------------------------------
def _idempotency_cutoff() -> datetime.datetime:
    return timezone.now() - datetime.timedelta(hours=settings.OMS_IDEMPOTENCY_TTL_HOURS)


def idempotency_keys_cleanup() -> int:
    """Delete idempotency keys older than ``OMS_IDEMPOTENCY_TTL_HOURS``; returns how many
    (the Celery task ``orders.idempotency_cleanup`` runs it daily)."""
    from .models import IdempotencyKey

    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=_idempotency_cutoff()).delete()
    return deleted


def _place_or_repeat(place_kwargs: dict) -> tuple[Order, bool]:
    """``order_place``; a repeat of the same request (same partner reference, same body)
    answers with the earlier order instead of ``DuplicateOrder``."""
    try:
        return order_place(**place_kwargs), True
    except DuplicateOrder as exc:
        if not (exc.same_request and exc.order is not None):
            raise
        return exc.order, False


def _idempotency_key_save(*, user, order: Order, key: str, fingerprint: str) -> None:
    """Record the key with the order it placed, last in the placing transaction: a second
    request with the same key waits on the unique index until this one commits (then its
    INSERT fails and its whole transaction, order included, is rolled back) or rolls back."""
    from .models import IdempotencyKey

    IdempotencyKey.objects.create(user=user, key=key, request_fingerprint=fingerprint, order=order)


def order_place_idempotent(
    *, user, key: str, fingerprint: str, **place_kwargs
) -> tuple[Order, bool]:
    """Place an order (``order_place(user=user, **place_kwargs)``) at most once per
    (user, key); returns (order, created).

    The same key with the same ``fingerprint`` (of the request body) returns the first order;
    with another fingerprint it raises ``DuplicateOrder``. An empty ``key`` places without a
    key (a repeated partner reference with the same body still returns the earlier order).

    The key row is inserted in the transaction that creates the order, after it; the unique
    index makes concurrent requests with one key wait for each other, and exactly one places
    (``_idempotency_key_save``). A loser's transaction is rolled back whole; it then answers
    with the winner's order. An expired key is deleted and the placement tried again.
    """
    from .models import IdempotencyKey

    place_kwargs["user"] = user
    if not key:
        return _place_or_repeat(place_kwargs)
    for _attempt in range(2):
        try:
            return _place_or_repeat({**place_kwargs, "idempotency": (key, fingerprint)})
        except IntegrityError:
            entry = (
                IdempotencyKey.objects.select_related("order").filter(user=user, key=key).first()
            )
            if entry is None:
                # Not the key's index (it holds no row): the error is somebody else's.
                raise
        if entry.created_at < _idempotency_cutoff():
            entry.delete()  # expired: the key may be used again
            continue
        if entry.request_fingerprint != fingerprint or entry.order_id is None:
            raise DuplicateOrder(
                f"Idempotency-Key '{key}' was already used with a different request body.",
                order=entry.order,
            )
        return entry.order, False
    raise DuplicateOrder(f"Idempotency-Key '{key}' is being used by another request; retry.")
