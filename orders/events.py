"""Writers of the order history (Saleor's ``order/events.py``): every state change and every
stock decision leaves an ``OrderEvent`` in the same transaction."""

from .models import EventType, Order, OrderEvent


def _user(user):
    return user if user is not None and getattr(user, "is_authenticated", False) else None


def event_build(
    *,
    order: Order,
    type: str,
    user=None,
    message: str = "",
    from_status="",
    to_status="",
    **details,
) -> OrderEvent:
    return OrderEvent(
        order=order,
        type=type,
        user=_user(user),
        message=message[:500],
        from_status=from_status,
        to_status=to_status,
        details=details,
    )


def events_save(events: list[OrderEvent]) -> list[OrderEvent]:
    """Save built events in one query. Every history write goes through here, so this is also
    where the notifications they cause are written to the outbox (same transaction)."""
    from .notifications import notify_events

    saved = OrderEvent.objects.bulk_create(events)
    notify_events(saved)
    return saved


def event_write(**kwargs) -> OrderEvent:
    return events_save([event_build(**kwargs)])[0]


def status_changed(*, order: Order, from_status: str, user=None, message: str = "", **details):
    return event_write(
        order=order,
        type=EventType.STATUS_CHANGED,
        from_status=from_status,
        to_status=order.status,
        user=user,
        message=message,
        **details,
    )
