"""Late orders: flag those that missed their promised ship date and give a new estimate."""

import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.calendar import add_business_days, business_days_between

from .. import events
from ..locks import orders_locking
from ..models import (
    LATE_FIELDS,
    EventType,
    Order,
)
from ..signals import orders_flagged_late


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
                orders_locking(candidates.filter(pk=pk))
                .select_related("customer", "channel")
                .first()
            )
            if order is None:  # shipped, cancelled or re-promised meanwhile
                continue
            promised = order.promised_ship_date
            assert promised is not None  # late orders have a promise (Order.objects.late)
            estimate = late_estimate(order, today=today)
            order.estimated_delivery_date = estimate
            order.late_since = timezone.now()
            order.late_notified = True
            order.save(update_fields=[*LATE_FIELDS, "estimated_delivery_date", "updated_at"])
            events.event_write(
                order=order,
                type=EventType.LATE,
                message=(
                    f"Not shipped by the promised date {promised:%d %b %Y}; "
                    f"new estimate {estimate:%d %b %Y}."
                ),
                promised_ship_date=promised.isoformat(),
                new_estimate=estimate.isoformat(),
            )
            flagged.append(order)
    if flagged:
        with transaction.atomic():  # staff are alerted (notifications listens)
            orders_flagged_late.send(sender=Order, orders=flagged)
    return flagged
