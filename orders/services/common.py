"""Helpers every order service shares: refusing a stale decision, keeping the caller's
instance in step, the promise dates."""

import datetime
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.utils import timezone

from core.calendar import add_business_days

from ..exceptions import TransitionNotAllowedNow
from ..locks import order_for_update
from ..models import (
    Order,
    OrderStatus,
)

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
    locked = order_for_update(order.pk, related=("channel",))
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


def _estimate_dates(
    order: Order,
    *,
    ships_from_countries: Iterable[str],
    backordered: bool,
    arrivals: Sequence[datetime.date | None] | None = None,
) -> None:
    """Promised ship date and estimated delivery date from the handling and transit settings
    (business days). A new promise lies in the future, so the late flag is cleared (the
    caller saves ``LATE_FIELDS``): if this promise is missed too, the customer is told again.

    ``arrivals``: the expected dates of the backordered lines (``orders.expected``). A line
    with a date ships the handling days after it arrives (not before today); a line with none
    (nothing on order) waits the ``OMS_BACKORDER_DAYS`` guess; the order ships with its last
    line. Without ``arrivals`` a backordered order waits the guess."""
    today = timezone.localdate()
    ship = add_business_days(today, settings.OMS_HANDLING_DAYS)
    if backordered:
        guess = add_business_days(ship, settings.OMS_BACKORDER_DAYS)
        if not arrivals:
            ship = guess
        else:
            ship = max(
                guess
                if arrives is None
                else add_business_days(max(arrives, today), settings.OMS_HANDLING_DAYS)
                for arrives in arrivals
            )
    countries = set(ships_from_countries)
    domestic = bool(countries) and countries == {order.shipping_country}
    transit = (
        settings.OMS_TRANSIT_DAYS_DOMESTIC if domestic else settings.OMS_TRANSIT_DAYS_INTERNATIONAL
    )
    order.promised_ship_date = ship
    order.estimated_delivery_date = add_business_days(ship, transit)
    if ship >= today:
        order.late_clear()
