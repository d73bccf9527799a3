"""Writers of the purchase order history (like ``orders/events.py``): every action leaves a
``PurchaseOrderEvent`` in the same transaction."""

from typing import Any

from django.contrib.auth.models import AnonymousUser, User

from .models import PurchaseOrder, PurchaseOrderEvent, Transfer, TransferEvent
from .signals import purchase_order_events_saved


def _user(user: User | AnonymousUser | None) -> User | None:
    return user if isinstance(user, User) and user.is_authenticated else None


def event_build(
    *,
    purchase_order: PurchaseOrder,
    type: str,
    user: User | AnonymousUser | None = None,
    message: str = "",
    from_status: str = "",
    to_status: str = "",
    **details: Any,
) -> PurchaseOrderEvent:
    return PurchaseOrderEvent(
        purchase_order=purchase_order,
        type=type,
        user=_user(user),
        message=message[:500],
        from_status=from_status,
        to_status=to_status,
        details=details,
    )


def events_save(events: list[PurchaseOrderEvent]) -> list[PurchaseOrderEvent]:
    """Save built events in one query and send ``purchase_order_events_saved`` (the
    notifications they cause are written by its receivers, in the same transaction)."""
    saved = PurchaseOrderEvent.objects.bulk_create(events)
    purchase_order_events_saved.send(sender=PurchaseOrderEvent, events=saved)
    return saved


def event_write(
    *,
    purchase_order: PurchaseOrder,
    type: str,
    user: User | AnonymousUser | None = None,
    message: str = "",
    from_status: str = "",
    to_status: str = "",
    **details: Any,
) -> PurchaseOrderEvent:
    event = event_build(
        purchase_order=purchase_order,
        type=type,
        user=user,
        message=message,
        from_status=from_status,
        to_status=to_status,
        **details,
    )
    return events_save([event])[0]


def transfer_event_write(
    *,
    transfer: Transfer,
    type: str,
    user: User | AnonymousUser | None = None,
    message: str = "",
    from_status: str = "",
    to_status: str = "",
    **details: Any,
) -> TransferEvent:
    """One line of a transfer's history, in the caller's transaction. Nobody is e-mailed about
    a transfer, so no signal."""
    return TransferEvent.objects.create(
        transfer=transfer,
        type=type,
        user=_user(user),
        message=message[:500],
        from_status=from_status,
        to_status=to_status,
        details=details,
    )
