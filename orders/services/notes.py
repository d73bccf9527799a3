"""Internal notes on orders: written by staff for staff, kept in the order's history.

A note is an ``OrderEvent`` of type ``STAFF_NOTE`` (author in ``user``, time in ``created_at``,
text in ``message``), so the order page's timeline shows it among the other events with no second
table. It is in ``orders.models.INTERNAL_EVENT_TYPES``: the notifications app never turns it into
an e-mail or a webhook, and the partner API's order representation holds no history.

A note changes nothing of the order, so it takes no lock: two people noting at once both get
their note, each with its own time."""

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction

from .. import events
from ..exceptions import OrderValidationError
from ..models import EventType, Order, OrderEvent

# The history's message column holds 500 characters.
NOTE_MAX_LENGTH = 500


@dataclass(frozen=True)
class NoteInput:
    text: str


def note_clean(text: object) -> str:
    """The note's text, stripped; raises ``OrderValidationError`` ``{"text": [...]}`` naming the
    problem (empty, too long, NUL character, not text)."""
    if not isinstance(text, str):
        raise OrderValidationError({"text": ["Give the note as text."]})
    cleaned = text.strip()
    if not cleaned:
        raise OrderValidationError(
            {"text": [f"Write the note (at most {NOTE_MAX_LENGTH} characters)."]}
        )
    if "\x00" in cleaned:
        raise OrderValidationError({"text": ["The note contains a NUL character; remove it."]})
    if len(cleaned) > NOTE_MAX_LENGTH:
        raise OrderValidationError(
            {
                "text": [
                    f"A note may be at most {NOTE_MAX_LENGTH} characters long; "
                    f"this one has {len(cleaned)}."
                ]
            }
        )
    return cleaned


def order_note_add(*, order: Order, data: NoteInput, user: User) -> OrderEvent:
    """Add ``user``'s internal note to ``order``'s history (one transaction)."""
    text = note_clean(data.text)
    with transaction.atomic():
        if not Order.objects.filter(pk=order.pk).exists():
            raise OrderValidationError({"order": [f"Order {order.number} no longer exists."]})
        return events.event_write(order=order, type=EventType.STAFF_NOTE, user=user, message=text)
