"""Business actions on returns (RMA). Each is one ``transaction.atomic()``; the original order is
locked first (``Order.objects.select_for_update()``), then the return, then stock rows (by id,
through ``inventory``), so two actions on the same order wait for each other and never
over-return. Every step writes the order's history (``orders.events``) with a customer-facing
``message`` that the notification code turns into e-mails.

Like ``orders.services``, these services do not check who may act (pages, admin and API ask
``has_transition_perm`` first), with one exception that is an input of the action itself:
accepting a return after the window needs ``returns.override_return_window``.

Damaged goods are booked in and written off in the same transaction (ledger ``return_restock``
+n, then ``scrap`` -n, both with the return's number), so the ledger shows what came back and
where it went, and the units are never available to an order.
"""

import datetime
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_fsm import can_proceed

from core.fsm import allowed_transitions
from core.money import to_cents
from core.numbers import RETURN_NUMBER
from core.signed_links import LinkRefused, order_number_from_token, sign_order_number
from inventory.models import Warehouse
from inventory.services import stock_levels_ensure, stock_restock, stock_scrap
from inventory.skus import products_by_sku, sku_key
from orders import events
from orders.exceptions import OrderValidationError, TransitionNotAllowedNow
from orders.locks import order_for_update, stock_arrival_lock
from orders.models import EventType, Order, OrderEvent, OrderLine
from orders.services import (
    AddressInput,
    CustomerInput,
    LineInput,
    PlacementInput,
    backorders_fill,
    order_confirm,
    order_place,
)

from .inputs import InspectionLine, ReturnLineInput
from .models import (
    Disposition,
    Refund,
    RefundMethod,
    ReturnLine,
    ReturnPolicy,
    ReturnReason,
    ReturnRequest,
    ReturnSource,
    ReturnStatus,
)
from .selectors import claimed_quantities, return_default_warehouse, return_window_closes_at

MAX_NOTE = 500


# --- helpers ----------------------------------------------------------------------------------
def _lock(return_request: ReturnRequest) -> tuple[Order, ReturnRequest]:
    """Lock the original order, then the return; return fresh copies of both."""
    order = order_for_update(return_request.order_id, related=("channel", "customer"))
    locked = ReturnRequest.objects.select_for_update(of=("self",)).get(pk=return_request.pk)
    locked.order = order
    return order, locked


def _refuse(return_request: ReturnRequest, action: str, why: str = "") -> TransitionNotAllowedNow:
    label = ReturnStatus(return_request.status).label.lower()
    message = f"Return {return_request.number} cannot be {action} while it is {label}."
    if why:
        message = f"Return {return_request.number} cannot be {action}: {why}"
    return TransitionNotAllowedNow(message, status=return_request.status)


def _history(
    *,
    order: Order,
    return_request: ReturnRequest,
    type: str,
    user: User | AnonymousUser | None,
    message: str,
    from_status: str = "",
    **extra: object,
) -> OrderEvent:
    """Write the order's history: details carry the return number, its status and the
    customer-facing text (``message``) that e-mails are made of."""
    event = events.event_build(
        order=order,
        type=type,
        user=user,
        message=message,
        from_status=from_status,
        to_status=return_request.status,
        **extra,
    )
    event.details.update(
        {"return": return_request.number, "status": return_request.status, "message": message}
    )
    return events.events_save([event])[0]


def _user_or_none(user: User | AnonymousUser | None) -> User | None:
    return user if isinstance(user, User) and user.is_authenticated else None


def _approval_message(return_request: ReturnRequest) -> str:
    return (
        f"Your return {return_request.number} is authorised. Please pack the items securely, "
        f"write {return_request.number} clearly on the parcel and send it back to us. "
        "We will let you know when it arrives."
    )


# --- opening a return -------------------------------------------------------------------------
class _ParsedLine(NamedTuple):
    """A line of a new return that passed the checks of its own (SKU stripped, note stripped)."""

    position: int
    sku: str
    quantity: int
    reason: str
    note: str


def _parse_lines(
    lines: Sequence[ReturnLineInput], errors: dict[str, list[str]]
) -> list[_ParsedLine]:
    if not lines:
        errors["lines"] = ["A return needs at least one line with a SKU, a quantity and a reason."]
        return []
    problems: list[str] = []
    parsed = []
    seen: dict[str, int] = {}
    reasons = ", ".join(ReturnReason.values)
    for position, line in enumerate(lines, start=1):
        if line.unreadable:
            problems.append(f"Line {position}: give an object with sku, quantity and reason.")
            continue
        sku = line.sku.strip()
        if not sku:
            problems.append(f"Line {position}: the SKU is missing.")
            continue
        label = f"Line {position} ({sku})"
        ok = True
        if line.quantity_given or line.quantity < 1:
            given = line.quantity_given or repr(line.quantity)
            problems.append(f"{label}: quantity must be a positive whole number, not {given}.")
            ok = False
        if line.reason_given or line.reason not in ReturnReason.values:
            given = line.reason_given or repr(line.reason)
            problems.append(f"{label}: reason must be one of {reasons}, not {given}.")
            ok = False
        if line.note_given:
            problems.append(f"{label}: the note must be text.")
            ok = False
        elif len(line.note.strip()) > MAX_NOTE:
            problems.append(f"{label}: the note is longer than {MAX_NOTE} characters.")
            ok = False
        if sku in seen:
            problems.append(
                f"{label}: SKU {sku} is already on line {seen[sku]}; "
                "put the whole quantity on one line."
            )
            continue
        seen[sku] = position
        if ok:
            parsed.append(_ParsedLine(position, sku, line.quantity, line.reason, line.note.strip()))
    if problems:
        errors["lines"] = problems
    return parsed


def return_request_create(
    *,
    order: Order,
    lines: Sequence[ReturnLineInput],
    user: User | AnonymousUser | None = None,
    source: str = ReturnSource.STAFF,
    override_reason: str = "",
) -> ReturnRequest:
    """Open a return for shipped units of ``order``.

    ``lines``: what comes back (``returns.inputs.ReturnLineInput``). Raises ``OrderValidationError``
    naming every problem (nothing is created): SKU not on the order, more than shipped minus
    already returned (open returns included), product not returnable, window closed. After the
    window only staff with ``returns.override_return_window`` may open it, giving a reason.
    Returns whose every reason the policy auto-approves are approved at once.
    """
    errors: dict[str, list[str]] = {}
    if source not in ReturnSource.values:
        errors["source"] = [
            f"Unknown source {source!r}; use one of {', '.join(ReturnSource.values)}."
        ]
    parsed = _parse_lines(lines, errors)
    override_reason = override_reason.strip()
    if errors:
        raise OrderValidationError(errors)

    policy = ReturnPolicy.load()
    non_returnable = set(policy.non_returnable_products.values_list("pk", flat=True))
    with transaction.atomic():
        # The order row lock serialises every return of this order: two returns opened at
        # once see each other's claims.
        order = order_for_update(order.pk, related=("customer", "channel"))
        order_lines = {line.product.sku: line for line in order.lines.select_related("product")}
        if not any(line.quantity_shipped for line in order_lines.values()):
            errors["order"] = [
                f"Nothing of order {order.number} has shipped yet; only shipped goods can be "
                "returned (cancel the order or its lines instead)."
            ]
            raise OrderValidationError(errors)

        claimed = claimed_quantities(order=order)
        problems: list[str] = []
        for position, sku, quantity, _reason, _note in parsed:
            label = f"Line {position} ({sku})"
            line = order_lines.get(sku)
            if line is None:
                problems.append(f"{label}: SKU {sku} is not on order {order.number}.")
            elif line.product_id in non_returnable:
                problems.append(f"{label}: {line.product.name} cannot be returned (policy).")
            elif line.quantity_shipped == 0:
                problems.append(f"{label}: nothing of this SKU has shipped yet.")
            else:
                already = claimed.get(line.pk, 0)
                returnable = max(line.quantity_shipped - already, 0)
                if quantity > returnable:
                    problems.append(
                        f"{label}: {quantity} requested but only {returnable} can be returned "
                        f"({line.quantity_shipped} shipped, {already} already returned or in "
                        "an open return)."
                    )
        if problems:
            errors["lines"] = problems

        overridden = False
        closes_at = return_window_closes_at(order=order, window_days=policy.window_days)
        if closes_at is not None and timezone.now() > closes_at:
            closed_on = timezone.localtime(closes_at).date().isoformat()
            if not override_reason:
                errors["order"] = [
                    f"The return window of {policy.window_days} days after delivery closed on "
                    f"{closed_on}; a manager may still accept the return, giving a reason."
                ]
            elif (
                source != ReturnSource.STAFF
                or user is None
                or not user.has_perm("returns.override_return_window")
            ):
                errors["override_reason"] = [
                    f"The return window closed on {closed_on}; only a manager (permission "
                    "returns.override_return_window) can accept a return after it."
                ]
            else:
                overridden = True
        if errors:
            raise OrderValidationError(errors)

        return_request: ReturnRequest = ReturnRequest(
            number=RETURN_NUMBER.placeholder(uuid.uuid4().hex),
            order=order,
            source=source,
            window_overridden=overridden,
            override_reason=override_reason[:255] if overridden else "",
            created_by=_user_or_none(user),
        )
        return_request.save()
        return_request.number = RETURN_NUMBER.for_pk(return_request.pk)
        return_request.save(update_fields=["number"])
        ReturnLine.objects.bulk_create(
            ReturnLine(
                return_request=return_request,
                order_line=order_lines[sku],
                quantity=quantity,
                reason=reason,
                note=note,
            )
            for _position, sku, quantity, reason, note in parsed
        )
        summary = ", ".join(f"{quantity} × {sku}" for _p, sku, quantity, _r, _n in parsed)
        extra: dict[str, Any] = {"lines": {sku: quantity for _p, sku, quantity, _r, _n in parsed}}
        if overridden:
            extra["window_overridden"] = override_reason
        _history(
            order=order,
            return_request=return_request,
            type=EventType.RETURN_REQUESTED,
            user=user,
            message=f"We have received your return request {return_request.number} for {summary}.",
            source=source,
            **extra,
        )
        if all(not policy.needs_approval(reason) for _p, _s, _q, reason, _n in parsed):
            _approve(order, return_request, user=user)
    return return_request


# --- approval -----------------------------------------------------------------------------------
def _approve(
    order: Order, return_request: ReturnRequest, *, user: User | AnonymousUser | None
) -> None:
    previous = return_request.status
    return_request.approve()
    return_request.save(update_fields=["status", "approved_at", "updated_at"])
    _history(
        order=order,
        return_request=return_request,
        type=EventType.RETURN_UPDATED,
        user=user,
        from_status=previous,
        message=_approval_message(return_request),
    )


def _step(
    return_request: ReturnRequest,
    *,
    transition: str,
    action: str,
    fields: list[str],
    message: Callable[[ReturnRequest], str],
    user: User | AnonymousUser | None,
    **arguments: object,
) -> ReturnRequest:
    """One plain step of a return: lock (order, then return), check the transition is allowed
    now, apply it, save ``fields``, and write the customer-facing ``message`` (a function of the
    return) to the order's history."""
    with transaction.atomic():
        order, locked = _lock(return_request)
        method = getattr(locked, transition)
        if not can_proceed(method):
            raise _refuse(locked, action)
        previous = locked.status
        method(**arguments)
        locked.save(update_fields=["status", *fields, "updated_at"])
        _history(
            order=order,
            return_request=locked,
            type=EventType.RETURN_UPDATED,
            user=user,
            from_status=previous,
            message=message(locked),
        )
    return locked


def return_approve(
    *, return_request: ReturnRequest, user: User | AnonymousUser | None = None
) -> ReturnRequest:
    return _step(
        return_request,
        transition="approve",
        action="approved",
        fields=["approved_at"],
        message=_approval_message,
        user=user,
    )


def return_reject(
    *, return_request: ReturnRequest, reason: str, user: User | AnonymousUser | None = None
) -> ReturnRequest:
    reason = reason.strip()
    if not reason:
        raise OrderValidationError({"reason": ["Give the reason for rejecting the return."]})
    return _step(
        return_request,
        transition="reject",
        action="rejected",
        fields=["rejection_reason", "closed_at"],
        message=lambda r: f"We are sorry, we cannot accept your return {r.number}: {reason}",
        user=user,
        reason=reason,
    )


def return_cancel(
    *, return_request: ReturnRequest, user: User | AnonymousUser | None = None, reason: str = ""
) -> ReturnRequest:
    """Withdraw a return that has not arrived yet (the customer keeps the goods), or that
    arrived holding none of its items (nothing to inspect, see ``NOTHING_RECEIVED``)."""
    reason = reason.strip()
    return _step(
        return_request,
        transition="cancel",
        action="cancelled",
        fields=["closed_at"],
        message=lambda r: f"Your return {r.number} has been cancelled. {reason}".strip(),
        user=user,
    )


# --- goods back in the warehouse ---------------------------------------------------------------
def return_receive(
    *, return_request: ReturnRequest, user: User | AnonymousUser | None = None
) -> ReturnRequest:
    return _step(
        return_request,
        transition="receive",
        action="received",
        fields=["received_at"],
        message=lambda r: (
            f"Your return {r.number} has arrived at our warehouse; we will check "
            "the items and let you know."
        ),
        user=user,
    )


def _parse_inspection(
    lines: Sequence[InspectionLine], return_lines: list[ReturnLine], errors: dict[str, list[str]]
) -> dict[str, InspectionLine]:
    """The counts by SKU (condition stripped), every problem noted in ``errors["lines"]``."""
    if not lines:
        errors["lines"] = [
            'Give the counts per SKU: {"SKU": {"sellable": n, "damaged": n}} for every line.'
        ]
        return {}
    by_sku = {line.order_line.product.sku: line for line in return_lines}
    problems: list[str] = []
    counts: dict[str, InspectionLine] = {}
    given: set[str] = set()
    for line in lines:
        sku = line.sku
        if sku in given:
            problems.append(f"{sku}: the counts are given twice; give each SKU once.")
            continue
        given.add(sku)
        if sku not in by_sku:
            problems.append(f"SKU {sku} is not on this return.")
            continue
        if line.unreadable:
            problems.append(f"{sku}: give an object with sellable and damaged counts.")
            continue
        sellable, damaged = line.sellable, line.damaged
        if line.sellable_given or line.damaged_given or sellable < 0 or damaged < 0:
            problems.append(f"{sku}: sellable and damaged must be whole numbers of 0 or more.")
            continue
        if line.condition_given or len(line.condition) > MAX_NOTE:
            problems.append(f"{sku}: the condition must be text of at most {MAX_NOTE} characters.")
            continue
        requested = by_sku[sku].quantity
        if sellable + damaged > requested:
            problems.append(
                f"{sku}: {sellable} sellable + {damaged} damaged is more than the {requested} "
                "units on the return."
            )
            continue
        counts[sku] = replace(line, condition=line.condition.strip())
    for sku in by_sku:
        if sku not in given:
            problems.append(f"{sku}: give the sellable and damaged counts (0 if not received).")
    if not problems and not any(line.sellable + line.damaged for line in counts.values()):
        problems.append(NOTHING_RECEIVED)
    if problems:
        errors["lines"] = problems
    return counts


# Every unit that came back is either sellable or damaged; units the customer did not send are
# "missing" (a line may be short). A parcel that held nothing of the return is not inspected.
NOTHING_RECEIVED = (
    "Nothing was counted: every unit that came back is either sellable or damaged, so give at "
    "least one. If the parcel held none of the items, cancel the return instead."
)


def return_inspect(
    *,
    return_request: ReturnRequest,
    lines: Sequence[InspectionLine],
    warehouse: Warehouse | None = None,
    user: User | AnonymousUser | None = None,
) -> ReturnRequest:
    """Count the returned goods line by line (``returns.inputs.InspectionLine``: one per SKU of
    the return, sellable and damaged units and the condition seen). Sellable units go back on
    the shelf of ``warehouse`` (ledger kind ``return_restock``; by default the one the goods
    were shipped from) and fill that product's backorders in the same transaction; damaged
    units are recorded on the line and never become available. Every unit received is sellable
    or damaged; units not sent back are missing; an inspection that counts nothing at all is
    refused (``NOTHING_RECEIVED``)."""
    errors: dict[str, list[str]] = {}
    if warehouse is None:
        warehouse = return_default_warehouse(return_request=return_request)
    if warehouse is None:
        errors["warehouse"] = ["Choose the warehouse that received the goods."]
    elif not warehouse.is_active:
        errors["warehouse"] = [f"Warehouse {warehouse.code} is not active."]
    with transaction.atomic():
        order, return_request = _lock(return_request)
        if not can_proceed(return_request.inspect):
            raise _refuse(return_request, "inspected")
        return_lines = list(return_request.lines.select_related("order_line__product"))
        counts = _parse_inspection(lines, return_lines, errors)
        if errors:
            raise OrderValidationError(errors)
        assert warehouse is not None  # checked above: errors otherwise

        restock = {
            line.order_line.product: counts[line.order_line.product.sku].sellable
            for line in return_lines
            if counts[line.order_line.product.sku].sellable > 0
        }
        scrap = {
            line.order_line.product: counts[line.order_line.product.sku].damaged
            for line in return_lines
            if counts[line.order_line.product.sku].damaged > 0
        }
        if scrap:
            stock_levels_ensure(warehouse=warehouse, products=scrap)
        if restock or scrap:
            product_ids = sorted({p.pk for p in restock} | {p.pk for p in scrap})
            # The stock-arrival lock order (orders.locks): the orders waiting for these
            # products (by id), then every warehouse's rows of them at once, in id order:
            # backorders_fill below locks them all, and a lower id must never be locked after a
            # higher one.
            arrival = stock_arrival_lock(
                product_ids=product_ids, ensure=[(warehouse, list(restock))] if restock else []
            )
            levels = {
                level.product_id: level
                for level in arrival.levels
                if level.warehouse_id == warehouse.pk
            }
            for product in sorted(set(restock) | set(scrap), key=lambda p: levels[p.pk].pk):
                level = levels[product.pk]
                # Damaged units are booked in and written off at once: never available.
                booked = restock.get(product, 0) + scrap.get(product, 0)
                stock_restock(
                    stock_level=level, quantity=booked, reference=return_request.number, user=user
                )
                if scrap.get(product):
                    stock_scrap(
                        stock_level=level,
                        quantity=scrap[product],
                        reference=return_request.number,
                        reason="Damaged on return",
                        user=user,
                    )
            if restock:
                backorders_fill(products=list(restock), user=user)

        summary = []
        for line in return_lines:
            counted = counts[line.order_line.product.sku]
            sellable, damaged = counted.sellable, counted.damaged
            line.quantity_sellable, line.quantity_damaged = sellable, damaged
            line.condition = counted.condition
            if sellable and damaged:
                line.disposition = Disposition.PARTLY_RESTOCKED
            elif sellable:
                line.disposition = Disposition.RESTOCKED
            elif damaged:
                line.disposition = Disposition.SCRAPPED
            else:
                line.disposition = Disposition.NOT_RECEIVED
            missing = line.quantity - sellable - damaged
            part = (
                f"{line.order_line.product.sku}: {sellable + damaged} of {line.quantity} received"
            )
            if damaged:
                part += f", {damaged} damaged"
            if missing:
                part += f", {missing} missing"
            summary.append(part)
        ReturnLine.objects.bulk_update(
            return_lines,
            ["quantity_sellable", "quantity_damaged", "condition", "disposition"],
        )
        previous = return_request.status
        return_request.inspect(warehouse=warehouse)
        return_request.save(update_fields=["status", "warehouse", "inspected_at", "updated_at"])
        _history(
            order=order,
            return_request=return_request,
            type=EventType.RETURN_UPDATED,
            user=user,
            from_status=previous,
            message=f"We have checked the items of your return {return_request.number}: "
            + "; ".join(summary)
            + ".",
            warehouse=warehouse.code,
            restocked={p.sku: q for p, q in restock.items()},
            damaged={
                line.order_line.product.sku: line.quantity_damaged
                for line in return_lines
                if line.quantity_damaged
            },
        )
    return return_request


# --- outcome: refund or exchange ------------------------------------------------------------------
def _book_returned(return_lines: list[ReturnLine]) -> None:
    """Raise the order lines' returned quantity by what was received (the order is locked)."""
    received = {rl.order_line_id: rl.quantity_received for rl in return_lines}
    order_lines = list(OrderLine.objects.filter(pk__in=[pk for pk, n in received.items() if n > 0]))
    for line in order_lines:
        line.quantity_returned += received[line.pk]
    if order_lines:
        OrderLine.objects.bulk_update(order_lines, ["quantity_returned"])


@dataclass(frozen=True)
class RefundQuote:
    """What a refund of the return pays: shown on the return page before, recorded by it."""

    amount: Decimal
    restocking_fee: Decimal
    currency: str
    units: int  # units received (sellable + damaged)


def refund_quote(
    *,
    return_request: ReturnRequest,
    return_lines: list[ReturnLine] | None = None,
    policy: ReturnPolicy | None = None,
) -> RefundQuote:
    """The refund ``return_refund`` would record now (the page shows it before the click)."""
    if return_lines is None:
        return_lines = list(return_request.lines.select_related("order_line__product"))
    amount, fee = refund_amounts(return_lines=return_lines, policy=policy or ReturnPolicy.load())
    return RefundQuote(
        amount=amount,
        restocking_fee=fee,
        currency=return_request.order.currency,
        units=sum(line.quantity_received for line in return_lines),
    )


def refund_amounts(
    *, return_lines: list[ReturnLine], policy: ReturnPolicy
) -> tuple[Decimal, Decimal]:
    """(refund, restocking fee): received units × unit price paid, minus the policy's fee on
    units returned because the customer changed mind."""
    gross = fee = Decimal("0")
    for line in return_lines:
        amount = line.quantity_received * line.order_line.unit_price
        gross += amount
        if policy.fee_applies(line.reason):
            fee += to_cents(amount * policy.restocking_fee_percent / 100, rounding=ROUND_HALF_UP)
    return (
        to_cents(gross - fee, rounding=ROUND_HALF_EVEN),
        to_cents(fee, rounding=ROUND_HALF_EVEN),
    )


def return_refund(
    *,
    return_request: ReturnRequest,
    user: User | AnonymousUser | None = None,
    method: str = RefundMethod.ORIGINAL_PAYMENT,
    reference: str = "",
) -> Refund:
    errors = {}
    if method not in RefundMethod.values:
        errors["method"] = [f"Refund method must be one of {', '.join(RefundMethod.values)}."]
    if len(reference.strip()) > 100:
        errors["reference"] = ["The refund reference must be text of at most 100 characters."]
    if errors:
        raise OrderValidationError(errors)
    with transaction.atomic():
        order, return_request = _lock(return_request)
        if not can_proceed(return_request.refund):
            raise _refuse(return_request, "refunded")
        return_lines = list(return_request.lines.select_related("order_line__product"))
        quote = refund_quote(return_request=return_request, return_lines=return_lines)
        if not quote.units:  # inspected before NOTHING_RECEIVED was refused
            raise OrderValidationError(
                {"lines": ["Nothing of this return was received; there is nothing to refund."]}
            )
        amount, fee = quote.amount, quote.restocking_fee
        refund = Refund.objects.create(
            return_request=return_request,
            amount=amount,
            restocking_fee=fee,
            currency=order.currency,
            method=method,
            reference=reference.strip(),
            created_by=_user_or_none(user),
        )
        _book_returned(return_lines)
        previous = return_request.status
        return_request.refund()
        return_request.save(update_fields=["status", "updated_at"])
        message = (
            f"We have refunded {amount} {order.currency} for your return "
            f"{return_request.number} to your {RefundMethod(method).label.lower()}."
        )
        if fee:
            message += (
                f" A restocking fee of {fee} {order.currency} was deducted for items "
                "returned without a fault."
            )
        _history(
            order=order,
            return_request=return_request,
            type=EventType.REFUNDED,
            user=user,
            from_status=previous,
            message=message,
            amount=str(amount),
            restocking_fee=str(fee),
            currency=order.currency,
            method=method,
            reference=refund.reference,
        )
    return refund


@dataclass(frozen=True)
class ExchangeCheck:
    """What an exchange replaces: units and value accepted back, units and value sent."""

    units_accepted: int
    units_sent: int
    value_returned: Decimal
    value_sent: Decimal
    currency: str

    @property
    def gap(self) -> Decimal:
        """Value sent minus value returned: what the customer would get for nothing (> 0)."""
        return self.value_sent - self.value_returned


def _exchange_check(
    *, order: Order, return_lines: list[ReturnLine], lines: Sequence[LineInput]
) -> ExchangeCheck:
    """Value both sides: the units accepted at the price paid; a replacement at the price paid
    for the same product on this return (like for like), otherwise at its catalogue price."""
    paid = {rl.order_line.product_id: rl.order_line.unit_price for rl in return_lines}
    products = products_by_sku(line.sku for line in lines)  # any case
    errors = []
    value_sent = Decimal("0")
    for line in lines:
        product = products.get(sku_key(line.sku))
        if product is None:
            errors.append(f"Unknown SKU {line.sku!r}.")
            continue
        if product.pk in paid:
            price = paid[product.pk]
        elif product.currency != order.currency:
            errors.append(
                f"{product.sku} is priced in {product.currency}, the order in {order.currency}: "
                "its value cannot be compared with the units returned."
            )
            continue
        else:
            price = product.unit_price
        value_sent += price * line.quantity
    if errors:
        raise OrderValidationError({"lines": errors})
    return ExchangeCheck(
        units_accepted=sum(rl.quantity_received for rl in return_lines),
        units_sent=sum(line.quantity for line in lines),
        value_returned=to_cents(
            sum(
                (rl.quantity_received * rl.order_line.unit_price for rl in return_lines),
                Decimal("0"),
            ),
            rounding=ROUND_HALF_EVEN,
        ),
        value_sent=to_cents(value_sent, rounding=ROUND_HALF_EVEN),
        currency=order.currency,
    )


def _exchange_refusals(
    *,
    return_request: ReturnRequest,
    check: ExchangeCheck,
    price_difference: Decimal | None,
    difference_reason: str,
    user: User | AnonymousUser | None,
) -> dict[str, list[str]]:
    """Why this exchange may not be made (empty: it may). A replacement replaces at most the
    units accepted back (sellable + damaged), within their value, unless the difference is
    charged (> 0) or refunded (< 0) by a manager (``returns.exchange_over_value``) with a reason."""
    errors: dict[str, list[str]] = {}
    cur = check.currency
    if check.units_sent > check.units_accepted:
        errors["lines"] = [
            f"Return {return_request.number} accepted {check.units_accepted} unit(s) back; a "
            f"replacement may replace at most that many, not {check.units_sent}."
        ]
    if price_difference is None:
        if check.gap > 0:
            errors["price_difference"] = [
                f"The replacement is worth {check.value_sent} {cur}, the units returned "
                f"{check.value_returned} {cur}: charge the difference of {check.gap} {cur} "
                "(price_difference, with a reason) or choose other items."
            ]
        return errors
    if price_difference != check.gap:
        errors["price_difference"] = [
            f"The price difference must be the replacement's value minus the value returned: "
            f"{check.value_sent} - {check.value_returned} = {check.gap} {cur} "
            f"(positive: charged to the customer, negative: refunded), not {price_difference}."
        ]
    if not difference_reason.strip():
        errors["difference_reason"] = ["Give the reason for charging or refunding a difference."]
    if user is None or not user.has_perm("returns.exchange_over_value"):
        errors.setdefault("price_difference", []).append(
            "Only a manager (permission returns.exchange_over_value) can charge or refund a "
            "price difference on an exchange."
        )
    return errors


def return_exchange(
    *,
    return_request: ReturnRequest,
    user: User | AnonymousUser | None = None,
    lines: Sequence[LineInput] | None = None,
    price_difference: Decimal | None = None,
    difference_reason: str = "",
) -> Order:
    """Send replacements: a new order priced 0 on the original channel, to the original customer
    and address, for the units received (or ``lines``, SKUs and quantities, e.g. another size),
    allocated (or backordered) like any order.

    Explicit lines replace at most the units accepted back, within the value returned (units at
    the price paid); otherwise ``price_difference`` (the replacement's value minus the value
    returned: > 0 charged to the customer, < 0 refunded) and ``difference_reason`` record the
    difference, which needs ``returns.exchange_over_value``. Refusals raise
    ``OrderValidationError`` and change nothing."""
    if price_difference is not None:
        try:
            price_difference = to_cents(price_difference, rounding=ROUND_HALF_EVEN)
        except ArithmeticError:
            raise OrderValidationError(
                {"price_difference": ["The price difference must be an amount, e.g. 12.50."]}
            ) from None
        if price_difference == 0:
            price_difference = None
    difference_reason = difference_reason.strip()
    if len(difference_reason) > 255:
        raise OrderValidationError(
            {"difference_reason": ["The reason must be at most 255 characters."]}
        )
    with transaction.atomic():
        order, return_request = _lock(return_request)
        if not can_proceed(return_request.exchange):
            raise _refuse(return_request, "exchanged")
        return_lines = list(return_request.lines.select_related("order_line__product"))
        if not any(rl.quantity_received for rl in return_lines):
            raise OrderValidationError(
                {"lines": ["Nothing of this return was received; there is nothing to replace."]}
            )
        if lines is None:
            lines = [
                LineInput(sku=rl.order_line.product.sku, quantity=rl.quantity_received)
                for rl in return_lines
                if rl.quantity_received > 0
            ]
        check = _exchange_check(order=order, return_lines=return_lines, lines=lines)
        errors = _exchange_refusals(
            return_request=return_request,
            check=check,
            price_difference=price_difference,
            difference_reason=difference_reason,
            user=user,
        )
        if errors:
            raise OrderValidationError(errors)
        customer = order.customer
        phone = customer.phone  # a PhoneNumber; an old unreadable entry is not passed on
        replacement = order_place(
            data=PlacementInput(
                channel=order.channel,
                partner=order.partner,
                customer=CustomerInput(
                    name=order.shipping_name,
                    email=customer.email,
                    phone=phone.as_e164 if phone and phone.is_valid() else "",
                ),
                shipping_address=AddressInput(
                    line1=order.shipping_line1,
                    line2=order.shipping_line2,
                    city=order.shipping_city,
                    postal_code=order.shipping_postal_code,
                    country=str(order.shipping_country),
                ),
                lines=[LineInput(sku=line.sku, quantity=line.quantity) for line in lines],
                notes=f"Replacement for return {return_request.number} of order {order.number}.",
                free_of_charge=True,
            ),
            user=user,
        )
        if not order.channel.auto_confirm:
            order_confirm(order=replacement, user=user)
        placed: Order = Order.objects.get(pk=replacement.pk)  # fresh: confirmed, numbered
        replacement = placed
        events.event_write(
            order=replacement,
            type=EventType.NOTE,
            user=user,
            message=(
                f"Replacement for return {return_request.number} of order {order.number}"
                + (
                    f"; price difference {price_difference} {order.currency} "
                    f"({'to charge' if price_difference > 0 else 'to refund'}), recorded on "
                    "the return."
                    if price_difference
                    else ", free of charge."
                )
            ),
            **{"return": return_request.number, "original_order": order.number},
        )
        _book_returned(return_lines)
        previous = return_request.status
        return_request.exchange(replacement_order=replacement)
        return_request.exchange_price_difference = price_difference
        return_request.exchange_difference_reason = difference_reason if price_difference else ""
        return_request.save(
            update_fields=[
                "status",
                "replacement_order",
                "exchange_price_difference",
                "exchange_difference_reason",
                "updated_at",
            ]
        )
        message = (
            f"We are sending you replacements for your return {return_request.number} "
            f"free of charge as order {replacement.number}; you will get tracking details when "
            "it ships."
        )
        if price_difference is not None and price_difference > 0:
            message = (
                f"We are sending you replacements for your return {return_request.number} as "
                f"order {replacement.number}; the price difference of {price_difference} "
                f"{order.currency} will be charged to you. You will get tracking details when it "
                "ships."
            )
        elif price_difference is not None:
            message += (
                f" The price difference of {-price_difference} {order.currency} will be refunded "
                "to you."
            )
        _history(
            order=order,
            return_request=return_request,
            type=EventType.EXCHANGED,
            user=user,
            from_status=previous,
            message=message,
            replacement_order=replacement.number,
            value_returned=str(check.value_returned),
            value_sent=str(check.value_sent),
            price_difference=str(price_difference) if price_difference is not None else None,
            difference_reason=difference_reason if price_difference is not None else "",
            currency=order.currency,
        )
    return replacement


def return_close(
    *, return_request: ReturnRequest, user: User | AnonymousUser | None = None
) -> ReturnRequest:
    return _step(
        return_request,
        transition="close",
        action="closed",
        fields=["closed_at"],
        message=lambda r: f"Your return {r.number} is complete.",
        user=user,
    )


# --- the transitions staff trigger (pages, admin, API) --------------------------------------------
STAFF_TRANSITIONS = (
    "approve",
    "reject",
    "receive",
    "inspect",
    "refund",
    "exchange",
    "close",
    "cancel",
)


def available_transitions(
    return_request: ReturnRequest, user: User | AnonymousUser | None = None
) -> list[str]:
    """Staff transitions allowed now (and, with ``user``, permitted to them)."""
    return allowed_transitions(return_request, STAFF_TRANSITIONS, user)


# --- the customer's signed link ---------------------------------------------------------------
CUSTOMER_LINK_SALT = "returns.customer-link"
CUSTOMER_LINK_MAX_AGE = datetime.timedelta(days=365)


def customer_return_token(order: Order) -> str:
    """A signed token naming the order, for the customer's return page link (e-mails)."""
    return sign_order_number(order.number, salt=CUSTOMER_LINK_SALT)


def customer_return_url(order: Order) -> str:
    """Absolute URL (``OMS_SITE_URL`` + path) of the customer's self-service return page, as
    the delivery e-mail carries it."""
    from core.site import site_url

    return site_url(reverse("returns:customer", args=[customer_return_token(order)]))


def order_from_customer_token(token: str) -> Order | None:
    """The order a customer link names, or ``None`` when the link is forged or expired."""
    try:
        number = order_number_from_token(
            token,
            salt=CUSTOMER_LINK_SALT,
            max_age=CUSTOMER_LINK_MAX_AGE,
        )
    except LinkRefused:
        return None
    order: Order | None = Order.objects.select_related("customer").filter(number=number).first()
    return order
