"""The transitions staff decide: confirm, hold, release, cancel; one entry point for them."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django_fsm import can_proceed

from core.fsm import allowed_transitions
from inventory.models import Allocation
from inventory.services import (
    stock_release,
)

from .. import events
from ..exceptions import OrderError, OrderValidationError
from ..models import (
    LATE_FIELDS,
    Order,
    OrderLine,
    OrderStatus,
)
from ..signals import order_cancelled
from ..transitions import TRANSITIONS
from .allocation import allocate_order
from .common import _lock_order, _refuse, _sync


# --- confirmation and allocation ----------------------------------------------------------------
def _confirm(order: Order, *, user: User | AnonymousUser | None) -> None:
    previous = order.status
    order.confirm()
    order.save(update_fields=["status", "confirmed_at", "updated_at"])
    events.status_changed(order=order, from_status=previous, user=user)


def order_confirm(*, order: Order, user: User | AnonymousUser | None = None) -> Order:
    """Staff confirm a placed order; its stock is then reserved at once. The history (and the
    customer's e-mail) is written once: a confirmation that found lines short says so in one
    e-mail, not a confirmation and a delay notice in the same second."""
    with transaction.atomic(), events.collected():
        locked = _lock_order(order, action="confirmed")
        if not can_proceed(locked.confirm):
            raise _refuse(locked, "confirmed")
        _confirm(locked, user=user)
        allocate_order(locked, user=user)
        _sync(order, locked)
    return locked


# --- hold, release, cancel ------------------------------------------------------------------------
# One rule for the reason of a hold or a cancellation, in the pages, the admin and the API:
# at most as long as ``Order.hold_reason``; required wherever a person types it (pages). The API
# keeps it optional (the contract lets a partner cancel with an empty body).
REASON_MAX_LENGTH = Order._meta.get_field("hold_reason").max_length
REASON_ACTIONS = {"hold": "put the order on hold", "cancel": "cancel the order"}


def reason_clean(reason: object, *, action: str, required: bool = True) -> str:
    """The reason for ``action`` (``hold`` or ``cancel``), stripped; raises
    ``OrderValidationError`` ``{"reason": [...]}`` naming the problem and the limit."""
    if reason is not None and not isinstance(reason, str):
        raise OrderValidationError({"reason": ["Give the reason as text."]})
    text = (reason or "").strip()
    if required and not text:
        raise OrderValidationError(
            {
                "reason": [
                    f"Give a reason to {REASON_ACTIONS.get(action, action)} "
                    f"(at most {REASON_MAX_LENGTH} characters)."
                ]
            }
        )
    if len(text) > REASON_MAX_LENGTH:
        raise OrderValidationError(
            {
                "reason": [
                    f"The reason may be at most {REASON_MAX_LENGTH} characters long; "
                    f"this one has {len(text)}."
                ]
            }
        )
    return text


def order_hold(
    *, order: Order, user: User | AnonymousUser | None = None, reason: str = ""
) -> Order:
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


def order_release(
    *, order: Order, user: User | AnonymousUser | None = None, reason: str = ""
) -> Order:
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
            allocate_order(locked, user=user)
        _sync(order, locked)
    return locked


def order_cancel(
    *, order: Order, user: User | AnonymousUser | None = None, reason: str = ""
) -> Order:
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


# --- one entry point for the transitions staff trigger (API, admin, pages) ----------------------
# Name -> service, in the order of orders.transitions.TRANSITIONS (the buttons' order).
STAFF_TRANSITIONS: dict[str, Callable[..., Order]] = {
    name: globals()[t.service] for name, t in TRANSITIONS.items()
}


def order_transition(
    *, order: Order, name: str, user: User | AnonymousUser | None = None, reason: str = ""
) -> Order:
    try:
        service = STAFF_TRANSITIONS[name]
    except KeyError:
        raise OrderValidationError({"transition": [f"Unknown transition '{name}'."]}) from None
    if name == "confirm":
        return service(order=order, user=user)
    return service(order=order, user=user, reason=reason)


def available_transitions(order: Order, user: User | AnonymousUser | None = None) -> list[str]:
    """Staff transitions allowed now (and, with ``user``, permitted to them)."""
    return allowed_transitions(order, STAFF_TRANSITIONS, user)


# --- bulk: the order desk's selection ------------------------------------------------------------
BULK_TRANSITIONS = ("confirm", "hold", "release")
BULK_MAX = 200  # orders one bulk action takes (the desk's page shows 50)


@dataclass(frozen=True)
class BulkOutcome:
    """What a bulk action did: the orders done, and each refused one with the reason."""

    done: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)


def orders_bulk_transition(
    *,
    numbers: Sequence[str],
    name: str,
    user: User | AnonymousUser | None = None,
    reason: str = "",
) -> BulkOutcome:
    """Run the transition ``name`` on each selected order, one by one through
    ``order_transition`` (each in its own transaction, under its order's lock): one refused
    order (wrong state, gone) is reported with its reason and does not stop the others."""
    if name not in BULK_TRANSITIONS:
        raise OrderValidationError({"action": [f"Unknown bulk action '{name[:40]}'."]})
    wanted = list(dict.fromkeys(n.strip() for n in numbers if n.strip()))
    if not wanted:
        raise OrderValidationError({"orders": ["Select at least one order."]})
    if len(wanted) > BULK_MAX:
        raise OrderValidationError({"orders": [f"Select at most {BULK_MAX} orders at once."]})
    outcome = BulkOutcome()
    valid = [n for n in wanted if len(n) <= 32 and "\x00" not in n]
    found = {o.number: o for o in Order.objects.filter(number__in=valid)}
    for number in wanted:
        order = found.get(number)
        if order is None:
            outcome.refused.append((number[:32], "no such order"))
            continue
        try:
            order_transition(order=order, name=name, user=user, reason=reason)
        except OrderError as exc:
            outcome.refused.append((number, exc.message))
        else:
            outcome.done.append(number)
    return outcome
