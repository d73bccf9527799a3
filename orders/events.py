"""Writers of the order history (Saleor's ``order/events.py``): every state change and every
stock decision leaves an ``OrderEvent`` in the same transaction."""

from contextlib import contextmanager
from contextvars import ContextVar

from django.contrib.auth.models import AnonymousUser, User

from .models import EventType, Order, OrderEvent
from .signals import order_events_saved

# Events built inside ``collected()``: written together when it ends.
_collecting: ContextVar[list[OrderEvent] | None] = ContextVar("oms_events", default=None)


def _user(user: User | AnonymousUser | None) -> User | None:
    return user if isinstance(user, User) and user.is_authenticated else None


def event_build(
    *,
    order: Order,
    type: str,
    user: User | AnonymousUser | None = None,
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
    where ``order_events_saved`` is sent: the notifications they cause are written to the
    outbox by its receivers, in the same transaction.

    Inside ``collected()`` the events are only gathered (they get their ids when it ends)."""
    buffer = _collecting.get()
    if buffer is not None:
        buffer.extend(events)
        return events
    return _write(events)


def _write(events: list[OrderEvent]) -> list[OrderEvent]:
    saved = OrderEvent.objects.bulk_create(events)
    order_events_saved.send(sender=OrderEvent, events=saved)
    return saved


@contextmanager
def collected():
    """Gather the history written inside the block and write it, with its notifications, in
    one INSERT when the block ends without an error (placement writes five or six events in
    three steps: one round trip and one outbox write instead of three). The events keep their
    order; nested blocks write with the outermost one. Use it inside the transaction: notifications
    see the order as the block leaves it, which is all anybody outside the transaction sees."""
    if _collecting.get() is not None:
        yield
        return
    buffer: list[OrderEvent] = []
    token = _collecting.set(buffer)
    try:
        yield
    finally:
        _collecting.reset(token)
    if buffer:
        _write(buffer)


def event_write(**kwargs) -> OrderEvent:
    return events_save([event_build(**kwargs)])[0]


def status_changed(
    *,
    order: Order,
    from_status: str,
    user: User | AnonymousUser | None = None,
    message: str = "",
    **details,
):
    return event_write(
        order=order,
        type=EventType.STATUS_CHANGED,
        from_status=from_status,
        to_status=order.status,
        user=user,
        message=message,
        **details,
    )
