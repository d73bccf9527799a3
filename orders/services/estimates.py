"""Delivery estimates of backordered orders follow the purchase orders' expected dates.

A backordered order ships the handling days after the last of its missing units is expected
(``orders.expected``), and is delivered the transit days later (``common._estimate_dates``).
It is estimated again when a backorder is made (``allocation.apply``), and when the units on
order change: a purchase order sent, received, closed or cancelled, or its expected date moved
(``purchasing.signals.expected_arrivals_changed``, received in ``orders.receivers``), or passed
(the hourly ``orders.expected_dates_passed`` task).

When the date moves or passes, the customers whose estimated delivery moved are told: one
ESTIMATE_UPDATED event each with ``notify``, which notifications turns into one e-mail per order
per day at most (its dedupe key)."""

import datetime
from collections.abc import Collection
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.utils import timezone

from purchasing.models import OPEN_STATUSES, PurchaseOrderLine

from .. import events
from ..locks import orders_locking, products_lock, waiting_orders
from ..models import EventType, Order, OrderEvent, OrderLine
from .allocation import _orders_update, estimates_follow_expected, line_expected_dates

# Why an estimate was made again (the ESTIMATE_UPDATED event's ``reason``).
REASONS = {
    "sent": "a purchase order was sent",
    "expected_at_changed": "a purchase order's expected date moved",
    "received": "stock was received",
    "closed": "a purchase order was closed",
    "cancelled": "a purchase order was cancelled",
    "passed": "a purchase order's expected date passed",
    "overdue": "a purchase order is overdue",
}
# The reasons the customers are told about (the issue: "when a PO's expected date moves or
# passes"); closing or cancelling a purchase order takes its date away, which moves it too.
NOTIFYING = frozenset({"expected_at_changed", "passed", "closed", "cancelled"})


@dataclass(frozen=True)
class EstimatesRefreshed:
    """The orders whose estimate changed, and their events (``notify``: the customer is told)."""

    orders: list[Order]
    events: list[OrderEvent]


def backorder_estimates_refresh(
    *,
    product_ids: Collection[int],
    reason: str,
    user: User | AnonymousUser | None = None,
    stock_locked: bool = False,
) -> EstimatesRefreshed:
    """Estimate again the backordered orders waiting for ``product_ids`` (the units on order
    changed: ``reason``, one of ``REASONS``). Each order whose estimated delivery moved gets an
    ESTIMATE_UPDATED event with the lines' expected dates; with a notifying reason its customer
    is e-mailed (at most once a day). The orders are locked (by id) before they are written.
    ``stock_locked``: the caller holds the products' stock rows and the orders waiting for them
    (a receipt, after ``stock_arriving``)."""
    if not product_ids:
        return EstimatesRefreshed([], [])
    with transaction.atomic():
        waiting = Order.objects.filter(pk__in=waiting_orders(product_ids).values("pk"))
        orders: list[Order] = []
        if not stock_locked:
            # A purchase order changed (it is locked): the waiting orders (by id), then the
            # products, which waits for the placements of these products in flight: they may
            # have read the expected dates before we wrote them (orders.locks.products_lock).
            orders = list(orders_locking(waiting).select_related("customer", "channel"))
            products_lock(product_ids)
        # The orders found waiting now that were not locked above (backordered by those
        # placements; on a receipt, every order but the ones locked on ``stock_arriving``,
        # which are ours already) are taken without waiting, since we hold later locks (the
        # products, or a receipt's stock rows): one that another transaction holds is being
        # written by it, from what we commit.
        orders += list(
            orders_locking(waiting.exclude(pk__in=[o.pk for o in orders]))
            .select_for_update(of=("self",), no_key=True, skip_locked=True)
            .select_related("customer", "channel")
        )
        orders.sort(key=lambda o: o.pk)
        if not orders:
            return EstimatesRefreshed([], [])
        by_order: dict[int, list[OrderLine]] = {o.pk: [] for o in orders}
        for line in (
            OrderLine.objects.filter(order_id__in=list(by_order))
            .select_related("product")
            .order_by("pk")
        ):
            by_order[line.order_id].append(line)
        previous = {o.pk: o.estimated_delivery_date for o in orders}
        changed, expected = estimates_follow_expected([(o, by_order[o.pk]) for o in orders])
        _orders_update(changed)
        notify = reason in NOTIFYING
        built = []
        for order in changed:
            was, now = previous[order.pk], order.estimated_delivery_date
            moved = was != now
            built.append(
                events.event_build(
                    order=order,
                    type=EventType.ESTIMATE_UPDATED,
                    user=user,
                    message=(
                        f"Estimated delivery {now:%d %b %Y}"
                        + (f" (was {was:%d %b %Y})" if was and moved else "")
                        + f": {REASONS.get(reason, reason)}."
                    ),
                    reason=reason,
                    notify=notify and moved,
                    estimated_delivery_date=now.isoformat() if now else None,
                    previous=was.isoformat() if was else None,
                    lines=line_expected_dates(by_order[order.pk], expected),
                )
            )
        saved = events.events_save(built) if built else []
    return EstimatesRefreshed(changed, saved)


def expected_dates_passed(*, today: datetime.date | None = None) -> int:
    """Hourly: the backorders waiting for purchase orders whose expected date has passed are
    estimated again (they cannot arrive before today). The customers are told on the first day
    after the date passed; later days move the estimate quietly (the history says it). Returns
    the number of orders whose estimate changed."""
    today = today or timezone.localdate()
    yesterday = today - datetime.timedelta(days=1)
    rows = PurchaseOrderLine.objects.filter(
        purchase_order__status__in=OPEN_STATUSES,
        purchase_order__expected_at__lt=today,
    ).values_list("product_id", "purchase_order__expected_at")
    just_passed: set[int] = set()
    overdue: set[int] = set()
    for product_id, expected_at in rows:
        (just_passed if expected_at >= yesterday else overdue).add(product_id)
    count = 0
    if just_passed:
        count += len(backorder_estimates_refresh(product_ids=just_passed, reason="passed").orders)
    if overdue - just_passed:
        count += len(
            backorder_estimates_refresh(product_ids=overdue - just_passed, reason="overdue").orders
        )
    return count
