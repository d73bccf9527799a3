"""Transfers between warehouses: request, ship, receive, cancel.

Stock moves in two steps. **Ship**: the units leave the source (on hand falls there, one ledger
row per line referencing ``TR-… line n``, through ``inventory.services.stock_transfer_out``);
only available units (on hand − reserved) may go. While the transfer is ``shipped`` its units
are *in transit*: on hand nowhere, so available nowhere. **Receive**: every unit in transit
arrives at the destination exactly as a purchase order receipt does (``receiving.py``): the
transfer and its lines are locked, then ``inventory.signals.stock_arriving`` (orders locks the
waiting orders and every stock row of the products), the stock is booked in with ledger rows
referencing the transfer's lines, and ``inventory.signals.stock_received`` fills the backorders,
oldest first, in the same transaction.

Services do not check who may act (the API, the pages and the admin ask for the permissions of
``purchasing.transitions.TRANSFER_ACTIONS``); ``user`` is recorded in the history."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django_fsm import can_proceed

from core.numbers import TRANSFER_NUMBER
from inventory.models import Product, StockMovement, Warehouse
from inventory.services import MAX_UNITS_PER_MOVE, stock_receive, stock_transfer_out
from inventory.signals import stock_arriving, stock_received
from inventory.skus import products_by_sku

from ..events import transfer_event_write
from ..exceptions import PurchasingValidationError, TransferNotAllowedNow
from ..locks import transfer_for_update, transfer_lines_for_update
from ..models import Transfer, TransferEventType, TransferLine, TransferStatus
from .common import line_problem

NOTES_MAX_LENGTH = 2000
MAX_LINES = 200


@dataclass(frozen=True)
class TransferLineInput:
    """One line asked for: a SKU and a quantity (a positive whole number)."""

    sku: str
    quantity: int


@dataclass(frozen=True)
class TransferDetail:
    """A transfer with its lines (products loaded), as a service leaves it; ``movements``: the
    ledger rows it wrote (shipping: at the source; receiving: at the destination)."""

    transfer: Transfer
    lines: list[TransferLine]
    movements: list[StockMovement]
    filled_orders: list[str]


def _user(user: User | AnonymousUser | None) -> User | None:
    return user if isinstance(user, User) and user.is_authenticated else None


def line_reference(transfer: Transfer, position: int) -> str:
    """The ledger reference of a transfer's line (1-based position), on both sides."""
    return f"{transfer.number} line {position}"


def _refuse(transfer: Transfer, action: str) -> TransferNotAllowedNow:
    label = TransferStatus(transfer.status).label.lower()
    return TransferNotAllowedNow(
        f"Transfer {transfer.number} cannot be {action} while it is {label}.",
        status=transfer.status,
    )


def _sync(caller: Transfer, locked: Transfer) -> None:
    """Bring the caller's instance up to date after a service changed the transfer through
    ``locked`` (no query, no lifting of the protected field)."""
    if caller is locked:
        return
    for field in Transfer._meta.concrete_fields:
        caller.__dict__[field.attname] = getattr(locked, field.attname)
    caller._update_initial_state()


def _warehouse(code: str, field: str, errors: dict[str, list[str]]) -> Warehouse | None:
    text = code.strip() if isinstance(code, str) else ""
    warehouse = Warehouse.objects.filter(code__iexact=text).first() if text else None
    if warehouse is None:
        errors[field] = [f"Unknown warehouse {code!r}." if text else "Choose a warehouse."]
    elif not warehouse.is_active:
        errors[field] = [f"Warehouse {warehouse.code} is not active."]
        return None
    return warehouse


def _lines(
    data: Sequence[TransferLineInput], errors: dict[str, list[str]]
) -> list[tuple[Product, int]]:
    if not data:
        errors["lines"] = ["A transfer needs at least one line."]
        return []
    if len(data) > MAX_LINES:
        errors["lines"] = [f"A transfer has at most {MAX_LINES} lines."]
        return []
    problems: list[str] = []
    seen: dict[str, int] = {}
    wanted: list[tuple[int, str, int]] = []
    for position, line in enumerate(data, start=1):
        sku, problem = line_problem(
            position,
            line.sku,
            line.quantity,
            seen,
            maximum=MAX_UNITS_PER_MOVE,
            too_large=f"at most {MAX_UNITS_PER_MOVE:,} units per line.",
        )
        if problem:
            problems.append(problem)
            continue
        wanted.append((position, sku, line.quantity))
    products = products_by_sku([sku for _, sku, _ in wanted])
    result: list[tuple[Product, int]] = []
    for position, sku, quantity in wanted:
        product = products.get(sku)
        if product is None:
            problems.append(f"Line {position}: unknown SKU {sku}.")
        else:
            result.append((product, quantity))
    if problems:
        errors["lines"] = problems
    return result


def transfer_create(
    *,
    source: str,
    destination: str,
    lines: Sequence[TransferLineInput],
    notes: str = "",
    user: User | AnonymousUser | None = None,
) -> TransferDetail:
    """A requested transfer of ``lines`` from ``source`` to ``destination`` (warehouse codes).
    Nothing moves yet: the stock is checked when it ships.

    Refused (400, every problem named, nothing written) for an unknown or inactive warehouse,
    the same warehouse on both sides, no lines, an unknown SKU, a quantity that is not a
    positive whole number, a SKU twice."""
    errors: dict[str, list[str]] = {}
    found_source = _warehouse(source, "source", errors)
    found_destination = _warehouse(destination, "destination", errors)
    if found_source is not None and found_source == found_destination:
        errors["destination"] = [
            f"A transfer moves stock between two warehouses: the source and the destination "
            f"are both {found_source.code}."
        ]
    wanted = _lines(lines, errors)
    if len(notes or "") > NOTES_MAX_LENGTH:
        errors["notes"] = [f"Notes are at most {NOTES_MAX_LENGTH} characters."]
    if errors:
        raise PurchasingValidationError(errors)
    assert found_source is not None and found_destination is not None
    with transaction.atomic():
        created = Transfer.objects.create(
            number=TRANSFER_NUMBER.placeholder(uuid.uuid4().hex[:20]),
            source=found_source,
            destination=found_destination,
            notes=notes or "",
            requested_by=_user(user),
        )
        created.number = TRANSFER_NUMBER.for_pk(created.pk)
        created.save(update_fields=["number"])
        transfer_lines = TransferLine.objects.bulk_create(
            [
                TransferLine(transfer=created, product=product, quantity=quantity)
                for product, quantity in wanted
            ]
        )
        transfer_event_write(
            transfer=created,
            type=TransferEventType.CREATED,
            user=user,
            to_status=created.status,
            message=(
                f"Requested {sum(q for _, q in wanted)} units from {found_source.code} "
                f"to {found_destination.code}."
            ),
            lines={product.sku: quantity for product, quantity in wanted},
        )
    return TransferDetail(transfer=created, lines=transfer_lines, movements=[], filled_orders=[])


def transfer_ship(
    *, transfer: Transfer, user: User | AnonymousUser | None = None
) -> TransferDetail:
    """Requested → shipped: every line's units leave the source (on hand down there, one
    ledger row per line referencing ``TR-… line n``). They are in transit until received.

    409 ``not_allowed_now`` unless requested; 400 when the source is no longer active; 409
    ``insufficient_stock`` naming each SKU short of available units (on hand − reserved at the
    source) and what is available. Nothing changes when refused. Two clerks shipping the same
    transfer wait on its lock: the second is told it shipped already."""
    with transaction.atomic():
        locked = transfer_for_update(transfer.pk)
        if not can_proceed(locked.ship):
            raise _refuse(locked, "shipped")
        if not locked.source.is_active:
            raise PurchasingValidationError(
                {"source": [f"Warehouse {locked.source.code} is not active."]}
            )
        lines = transfer_lines_for_update(locked.pk)
        movements = stock_transfer_out(
            warehouse=locked.source,
            lines=[(line.product, line.quantity) for line in lines],
            reason=f"Transfer {locked.number} to {locked.destination.code}",
            line_references={
                line.product_id: line_reference(locked, position)
                for position, line in enumerate(lines, start=1)
            },
            user=user,
        )
        previous = locked.status
        locked.ship()
        locked.save(update_fields=["status", "shipped_at", "updated_at"])
        transfer_event_write(
            transfer=locked,
            type=TransferEventType.SHIPPED,
            user=user,
            from_status=previous,
            to_status=locked.status,
            message=(
                f"Shipped {sum(line.quantity for line in lines)} units from "
                f"{locked.source.code}; in transit to {locked.destination.code}."
            ),
            lines={line.product.sku: line.quantity for line in lines},
        )
    _sync(transfer, locked)
    return TransferDetail(transfer=locked, lines=lines, movements=movements, filled_orders=[])


def transfer_receive(
    *, transfer: Transfer, user: User | AnonymousUser | None = None
) -> TransferDetail:
    """Shipped → received: every unit in transit arrives at the destination in one
    transaction (on hand up there, one ledger row per line referencing ``TR-… line n``), and
    the backorders of the products are filled oldest first under the one lock sequence (as a
    purchase order receipt). ``filled_orders``: the orders that got stock.

    409 ``not_allowed_now`` unless shipped (requested, received or cancelled); 400 when the
    destination is no longer active (the units stay in transit)."""
    with transaction.atomic():
        locked = transfer_for_update(transfer.pk)
        if not can_proceed(locked.receive):
            raise _refuse(locked, "received")
        destination = locked.destination
        if not destination.is_active:
            raise PurchasingValidationError(
                {"destination": [f"Warehouse {destination.code} is not active."]}
            )
        lines = transfer_lines_for_update(locked.pk)
        products = [line.product for line in lines]
        # Orders above us take their locks first (waiting orders, then stock rows).
        arrivals = [
            answer
            for _receiver, answer in stock_arriving.send(
                sender=Transfer, products=products, warehouse=destination
            )
        ]
        movements = stock_receive(
            warehouse=destination,
            lines=[(line.product, line.quantity) for line in lines],
            user=user,
            reference=locked.number,
            line_references={
                line.product_id: line_reference(locked, position)
                for position, line in enumerate(lines, start=1)
            },
        )
        previous = locked.status
        locked.receive()
        locked.save(update_fields=["status", "received_at", "updated_at"])
        answers = stock_received.send(
            sender=Transfer, products=products, user=user, arrivals=arrivals
        )
        filled = [number for _receiver, answer in answers for number in (answer or [])]
        transfer_event_write(
            transfer=locked,
            type=TransferEventType.RECEIVED,
            user=user,
            from_status=previous,
            to_status=locked.status,
            message=(
                f"Received {sum(line.quantity for line in lines)} units at {destination.code}"
                + (f"; backorders filled: {', '.join(filled)}." if filled else ".")
            ),
            lines={line.product.sku: line.quantity for line in lines},
            filled_orders=filled,
        )
    _sync(transfer, locked)
    return TransferDetail(transfer=locked, lines=lines, movements=movements, filled_orders=filled)


def transfer_cancel(
    *,
    transfer: Transfer,
    reason: str = "",
    user: User | AnonymousUser | None = None,
) -> TransferDetail:
    """Requested → cancelled (nothing moved). Once shipped it cannot be cancelled (409): the
    units are on the road; receive them, then transfer them back."""
    with transaction.atomic():
        locked = transfer_for_update(transfer.pk)
        if not can_proceed(locked.cancel):
            raise _refuse(locked, "cancelled")
        previous = locked.status
        locked.cancel()
        locked.save(update_fields=["status", "cancelled_at", "updated_at"])
        transfer_event_write(
            transfer=locked,
            type=TransferEventType.CANCELLED,
            user=user,
            from_status=previous,
            to_status=locked.status,
            message=((reason or "").strip() or "Cancelled.")[:500],
        )
        lines = list(locked.lines.select_related("product").order_by("pk"))
    _sync(transfer, locked)
    return TransferDetail(transfer=locked, lines=lines, movements=[], filled_orders=[])
