"""Placement: validate an order and create it (auto-confirming channels also allocate it)."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from core.contact import UNKNOWN_COUNTRY_MESSAGE, is_country_code, phone_normalise
from core.numbers import ORDER_NUMBER
from inventory.locks import stock_levels_for_update
from inventory.models import Allocation, Product, Warehouse
from inventory.skus import products_by_sku, sku_key

from .. import events
from ..exceptions import DuplicateOrder, OrderValidationError
from ..locks import products_key_share
from ..models import (
    Channel,
    Customer,
    EventType,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    Partner,
)
from ..signals import order_allocated
from . import allocation
from .common import _estimate_dates
from .idempotency import _idempotency_cutoff, _idempotency_key_save, idempotency_fingerprint
from .inputs import (
    NOTES_MAX_LENGTH,
    NOTES_NOT_TEXT,
    REFERENCE_MAX_LENGTH,
    REFERENCE_NOT_TEXT,
    AddressInput,
    CustomerInput,
    LineInput,
    PlacementInput,
)

ADDRESS_REQUIRED = ("line1", "city", "postal_code", "country")
ADDRESS_FIELDS = ("line1", "line2", "city", "postal_code", "country")
ADDRESS_LABELS = {
    "line1": "a first line (street and number)",
    "city": "a city",
    "postal_code": "a postal code",
    "country": "a country",
}


# --- placement --------------------------------------------------------------------------------
# The problems of a placement, by field: messages, or messages by sub-field (the 400's body).
Errors = dict[str, Any]


def _clean_text(value: str, *, max_length: int) -> str:
    text = value.strip()
    if len(text) > max_length:
        raise ValueError(f"at most {max_length} characters")
    return text


def _field_problems(errors: Errors, key: str) -> dict[str, list[str]] | None:
    """The problems already noted for ``key``'s fields (``None``: the whole of it was unreadable,
    nothing more to say about it)."""
    noted = errors.get(key, {})
    if not isinstance(noted, dict):
        return None
    return {name: list(messages) for name, messages in noted.items()}


def _validate_customer(
    data: CustomerInput, errors: Errors, *, region: str | None
) -> dict[str, str]:
    """The customer's name, e-mail and phone; the phone as E.164, read with ``region`` (the
    shipping country) when it has no ``+`` prefix."""
    problems = _field_problems(errors, "customer")
    if problems is None:
        return {}
    cleaned = {}
    given = {"name": data.name, "email": data.email, "phone": data.phone}
    for field, limit, required in (("name", 200, True), ("email", 254, True), ("phone", 40, False)):
        if field in problems:
            continue
        try:
            cleaned[field] = _clean_text(given[field], max_length=limit)
        except ValueError as exc:
            problems[field] = [f"Too long: {exc}."]
            continue
        if required and not cleaned[field]:
            problems[field] = [f"The customer's {field} is required."]
    if cleaned.get("email") and "email" not in problems:
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


def _validate_address(data: AddressInput, errors: Errors) -> dict[str, str]:
    problems = _field_problems(errors, "shipping_address")
    if problems is None:
        return {}
    cleaned = {}
    given = {
        "line1": data.line1,
        "line2": data.line2,
        "city": data.city,
        "postal_code": data.postal_code,
        "country": data.country,
    }
    limits = {"line1": 200, "line2": 200, "city": 100, "postal_code": 20}
    for field in ADDRESS_FIELDS:
        if field in problems:
            continue
        if field == "country":
            code = given[field].strip().upper()
            if len(code) > 2 or (code and not is_country_code(code)):
                problems[field] = [UNKNOWN_COUNTRY_MESSAGE.format(code=given[field])]
            cleaned[field] = code
        else:
            try:
                cleaned[field] = _clean_text(given[field], max_length=limits[field])
            except ValueError as exc:
                problems[field] = [f"Too long: {exc}."]
        if field in ADDRESS_REQUIRED and not cleaned.get(field) and field not in problems:
            problems[field] = [f"The address needs {ADDRESS_LABELS[field]}."]
    if problems:
        errors["shipping_address"] = problems
    return cleaned


def _validate_lines(
    data: Sequence[LineInput], errors: Errors
) -> tuple[list[tuple[Product, int]], str]:
    """Return (product, quantity) pairs and the order currency; record problems in ``errors``."""
    if not data:
        errors["lines"] = ["An order needs at least one line."]
        return [], ""
    problems: list[str] = []
    wanted: list[tuple[int, str, int | None]] = []
    seen: dict[str, int] = {}
    for position, line in enumerate(data, start=1):
        if line.unreadable:
            problems.append(f"Line {position}: give an object with sku and quantity.")
            continue
        if not line.sku.strip():
            problems.append(f"Line {position}: the SKU is missing.")
            continue
        sku = sku_key(line.sku)  # one rule everywhere: hom-002-sd is HOM-002-SD
        quantity: int | None = line.quantity
        if line.quantity_given or line.quantity < 1:
            problems.append(
                f"Line {position} ({sku}): quantity must be a positive whole number, "
                f"not {line.quantity_given or repr(line.quantity)}."
            )
            quantity = None
        elif line.quantity > 1_000_000:
            problems.append(f"Line {position} ({sku}): quantity {line.quantity} is too large.")
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


def _customer_for(data: dict[str, str], address: dict[str, str]) -> Customer:
    customer = Customer.objects.filter(email__iexact=data["email"]).order_by("pk").first()
    if customer is None:
        customer = Customer.objects.create(
            name=data["name"],
            email=data["email"],
            phone=data.get("phone", ""),
            **{field: address.get(field, "") for field in ADDRESS_FIELDS},
        )
    return customer


@dataclass(frozen=True)
class PlacedOrder:
    """A just-placed order and what was created with it, as placement leaves them in memory
    (the API answers from it without reading them back)."""

    order: Order
    lines: list[OrderLine]
    # Fulfillment's shipments created when the order was allocated at once (the
    # ``order_allocated`` receivers' answer; orders does not import fulfillment).
    shipments: list[Any]
    reservations: list[Allocation]


def order_place(*, data: PlacementInput, user: User | AnonymousUser | None = None) -> Order:
    """``order_placement``, for callers that want only the order."""
    return order_placement(data=data, user=user).order


def order_placement(
    *,
    data: PlacementInput,
    user: User | AnonymousUser | None = None,
    idempotency: tuple[str, str] | None = None,
) -> PlacedOrder:
    """Validate and create an order; auto-confirming channels also confirm and allocate it.

    ``data.free_of_charge`` prices every line at 0 (replacements of an exchange): the order is
    created so, before any confirmation e-mail or webhook is written.

    Raises ``OrderValidationError`` naming every problem (nothing is created), or
    ``DuplicateOrder`` when the partner already placed an order with this ``reference``
    (``same_request`` tells whether the earlier order came from the same body).
    """
    # What a raw body got wrong (placement_input_from_json), then every rule of the service.
    errors: Errors = {
        key: dict(value) if isinstance(value, dict) else list(value)
        for key, value in data.shape_errors.items()
    }
    address = _validate_address(data.shipping_address, errors)
    # A phone number without its country prefix is read as dialled in the shipping country.
    region = None if "country" in errors.get("shipping_address", {}) else address.get("country")
    customer_data = _validate_customer(data.customer, errors, region=region)
    pairs, currency = _validate_lines(data.lines, errors)
    reference_text = notes_text = ""
    if "reference" not in errors:
        try:
            reference_text = _clean_text(data.reference, max_length=REFERENCE_MAX_LENGTH)
        except ValueError:
            errors["reference"] = [REFERENCE_NOT_TEXT]
    if "notes" not in errors:
        try:
            notes_text = _clean_text(data.notes, max_length=NOTES_MAX_LENGTH)
        except ValueError:
            errors["notes"] = [NOTES_NOT_TEXT]
    if errors:
        raise OrderValidationError(errors)

    partner = data.partner
    fingerprint = idempotency_fingerprint(
        {
            "customer": customer_data,
            "address": address,
            "lines": sorted((p.sku, q) for p, q in pairs),
            "notes": notes_text,
        }
    )
    # A partner reference used before is found by the unique constraint (the INSERT fails and
    # the savepoint is rolled back), not by a look-up before every placement.
    try:
        with transaction.atomic():
            placed = _order_create(
                channel=data.channel,
                partner=partner,
                reference=reference_text,
                customer_data=customer_data,
                address=address,
                pairs=pairs,
                currency=currency,
                notes=notes_text,
                fingerprint=fingerprint,
                user=user,
                free_of_charge=data.free_of_charge,
                idempotency=idempotency,
            )
    except IntegrityError:
        # The partner reference was used before (or two requests with it raced): answer like a
        # repeat.
        if partner is not None and reference_text:
            existing = Order.objects.filter(partner=partner, reference=reference_text).first()
            if existing is not None:
                raise _duplicate(existing, fingerprint) from None
        raise
    return placed


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
    channel: Channel,
    partner: Partner | None,
    reference: str,
    customer_data: dict[str, str],
    address: dict[str, str],
    pairs: list[tuple[Product, int]],
    currency: str,
    notes: str,
    fingerprint: str,
    user: User | AnonymousUser | None,
    free_of_charge: bool = False,
    idempotency: tuple[str, str] | None = None,
) -> PlacedOrder:
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
    allocations: list[Allocation] = []
    shipments: list[Any] = []
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
            assert isinstance(user, User), "an Idempotency-Key belongs to a token's user"
            _idempotency_key_save(
                user=user, order=order, key=idempotency[0], fingerprint=idempotency[1]
            )
        if order.status == OrderStatus.ALLOCATED:
            # Its reservations are all in ``allocations``: receivers need not read them. A
            # receiver may answer with the rows it created for the order (fulfillment: its
            # shipments).
            answers = order_allocated.send(
                sender=Order, order=order, user=user, allocations=allocations
            )
            for _receiver, rows in cast(list[tuple[object, object]], answers):
                if isinstance(rows, list):
                    shipments.extend(rows)
    return PlacedOrder(order=order, lines=lines, shipments=shipments, reservations=allocations)


@dataclass(frozen=True)
class IdempotentPlacement:
    """The answer of ``order_place_idempotent``: the order, and ``placed`` when this request
    created it (``None``: a repeat of an earlier request, answered with the earlier order)."""

    order: Order
    placed: PlacedOrder | None

    @property
    def created(self) -> bool:
        return self.placed is not None


def _place_confirmed(
    order: Order,
    lines: list[OrderLine],
    built: list[OrderEvent],
    *,
    user: User | AnonymousUser | None,
) -> list[Allocation]:
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
    events.events_save(built)  # collected: written with the allocation's, in one INSERT
    planned = allocation.plan(orders=[(order, lines)], levels=levels)
    reserved: dict[int, int] = {}
    for r in planned.reservations:
        reserved[id(r.order_line)] = reserved.get(id(r.order_line), 0) + r.quantity
    # A backorder reads the purchase orders' expected dates: not while one of them changes.
    products_key_share({ln.product_id for ln in lines if reserved.get(id(ln), 0) < ln.quantity})
    applied = allocation.apply(planned, user=user, new_order=True)
    order.number = ORDER_NUMBER.for_pk(order.pk)
    order.save(update_fields=["number"])
    return applied.allocations


def _place_or_repeat(
    data: PlacementInput, user: User, idempotency: tuple[str, str] | None
) -> IdempotentPlacement:
    """``order_placement``; a repeat of the same request (same partner reference, same body)
    answers with the earlier order instead of ``DuplicateOrder``."""
    try:
        placed = order_placement(data=data, user=user, idempotency=idempotency)
    except DuplicateOrder as exc:
        if not (exc.same_request and exc.order is not None):
            raise
        return IdempotentPlacement(order=exc.order, placed=None)
    return IdempotentPlacement(order=placed.order, placed=placed)


def order_place_idempotent(
    *, data: PlacementInput, user: User, key: str, fingerprint: str
) -> IdempotentPlacement:
    """Place an order (``order_placement(data=data, user=user)``) at most once per
    (user, key).

    The same key with the same ``fingerprint`` (of the request body) returns the first order;
    with another fingerprint it raises ``DuplicateOrder``. An empty ``key`` places without a
    key (a repeated partner reference with the same body still returns the earlier order).

    The key row is inserted in the transaction that creates the order, after it; the unique
    index makes concurrent requests with one key wait for each other, and exactly one places
    (``_idempotency_key_save``). A loser's transaction is rolled back whole; it then answers
    with the winner's order. An expired key is deleted and the placement tried again.
    """
    from ..models import IdempotencyKey

    if not key:
        return _place_or_repeat(data, user, None)
    for _attempt in range(2):
        try:
            return _place_or_repeat(data, user, (key, fingerprint))
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
        assert entry.order is not None  # order_id checked above
        return IdempotentPlacement(order=entry.order, placed=None)
    raise DuplicateOrder(f"Idempotency-Key '{key}' is being used by another request; retry.")
