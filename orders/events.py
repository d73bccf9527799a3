"""Writers of the order history (Saleor's ``order/events.py``): every state change and every
stock decision leaves an ``OrderEvent`` in the same transaction."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from inventory.models import StockLevel

from .models import EventType, Order, OrderEvent, OrderLine


@dataclass
class Known:
    """What the code writing events already holds in memory, handed to the notifications the
    events cause so that they need not read it back (keyed by order id)."""

    # Orders created in this transaction, with their lines: their outbox keys are new.
    new_orders: dict[int, list[OrderLine]] = field(default_factory=dict)
    # The locked stock rows each order's ALLOCATED event reserved from (the low-stock check).
    reserved_levels: dict[int, list[StockLevel]] = field(default_factory=dict)

    def add(self, other: "Known | None") -> None:
        if other is not None:
            self.new_orders.update(other.new_orders)
            self.reserved_levels.update(other.reserved_levels)


@dataclass
class _Batch:
    events: list[OrderEvent] = field(default_factory=list)
    known: Known = field(default_factory=Known)


# Events built inside ``collected()``: written together when it ends.
_collecting: ContextVar[_Batch | None] = ContextVar("oms_events", default=None)
# What the writer of the events being saved holds in memory, while their notifications are made.
_writing: ContextVar[Known | None] = ContextVar("oms_events_known", default=None)


def known_now() -> Known:
    """What the code writing the events being saved holds in memory (``Known``): the hook of
    ``events_save`` (the notifications) reads it instead of reading rows back."""
    return _writing.get() or Known()


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


def events_save(events: list[OrderEvent], *, known: Known | None = None) -> list[OrderEvent]:
    """Save built events in one query. Every history write goes through here, so this is also
    where the notifications they cause are written to the outbox (same transaction), given
    what the caller ``known``s.

    Inside ``collected()`` the events are only gathered (they get their ids when it ends)."""
    batch = _collecting.get()
    if batch is not None:
        batch.events.extend(events)
        batch.known.add(known)
        return events
    return _write(events, known or Known())


def _write(events: list[OrderEvent], known: Known) -> list[OrderEvent]:
    from .notifications import notify_events

    saved = OrderEvent.objects.bulk_create(events)
    token = _writing.set(known)
    try:
        notify_events(saved)
    finally:
        _writing.reset(token)
    return saved


@contextmanager
def collected(known: Known | None = None) -> Iterator[None]:
    """Gather the history written inside the block and write it, with its notifications, in
    one INSERT when the block ends without an error (placement writes five or six events in
    three steps: one round trip and one outbox write instead of three). The events keep their
    order; nested blocks write with the outermost one. Use it inside the transaction: notifications
    see the order as the block leaves it, which is all anybody outside the transaction sees.
    ``known``: what the block's code holds in memory for the notifications (filled as it goes)."""
    outer = _collecting.get()
    if outer is not None:
        yield
        outer.known.add(known)
        return
    batch = _Batch(known=known if known is not None else Known())
    token = _collecting.set(batch)
    try:
        yield
    finally:
        _collecting.reset(token)
    if batch.events:
        _write(batch.events, batch.known)


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
