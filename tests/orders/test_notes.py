"""Internal notes on orders (orders.services.notes): staff's, in the history, never sent out."""

import pytest
from django.core import mail

from notifications.models import OutboxKind, OutboxMessage, WebhookEndpoint
from orders.exceptions import OrderValidationError
from orders.models import INTERNAL_EVENT_TYPES, EventType, OrderEvent
from orders.services import NOTE_MAX_LENGTH, NoteInput, order_cancel, order_hold, order_note_add
from tests.factories import PartnerFactory, UserFactory, place, receive

pytestmark = pytest.mark.django_db

SECRET_TEXT = "Customer is difficult, ring before 9 only"


@pytest.fixture(autouse=True)
def _mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def order(leeds, product, django_capture_on_commit_callbacks):
    receive(leeds, {product: 5})
    with django_capture_on_commit_callbacks(execute=True):
        placed = place({product: 2})
    mail.outbox.clear()
    return placed


def notes_of(order):
    return list(OrderEvent.objects.filter(order=order, type=EventType.STAFF_NOTE))


def test_a_note_is_kept_in_the_history_with_its_author_and_time(order):
    clerk = UserFactory(username="jo")
    event = order_note_add(order=order, data=NoteInput(text=f"  {SECRET_TEXT}\n"), user=clerk)
    [note] = notes_of(order)
    assert note.pk == event.pk
    assert note.message == SECRET_TEXT
    assert note.user == clerk
    assert note.created_at is not None
    assert note.get_type_display() == "Internal note"
    assert EventType.STAFF_NOTE in INTERNAL_EVENT_TYPES


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "Write the note"),
        ("   \n ", "Write the note"),
        ("x" * (NOTE_MAX_LENGTH + 1), f"at most {NOTE_MAX_LENGTH} characters long; this one has"),
        ("a\x00b", "NUL character"),
        (42, "as text"),
    ],
)
def test_a_bad_note_is_refused_naming_the_problem_and_nothing_is_written(order, text, problem):
    before = OrderEvent.objects.count()
    with pytest.raises(OrderValidationError) as exc:
        order_note_add(order=order, data=NoteInput(text=text), user=UserFactory())
    assert problem in exc.value.errors["text"][0]
    assert OrderEvent.objects.count() == before


def test_a_note_of_the_longest_length_is_kept(order):
    order_note_add(order=order, data=NoteInput(text="y" * NOTE_MAX_LENGTH), user=UserFactory())
    assert notes_of(order)[0].message == "y" * NOTE_MAX_LENGTH


def test_a_note_never_reaches_the_customer(order, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        order_note_add(order=order, data=NoteInput(text=SECRET_TEXT), user=UserFactory())
    assert mail.outbox == []
    assert not OutboxMessage.objects.filter(event__type=EventType.STAFF_NOTE).exists()
    # The customer's next e-mail (the cancellation) carries nothing of it either.
    with django_capture_on_commit_callbacks(execute=True):
        order_cancel(order=order, reason="Out of season")
    [message] = mail.outbox
    assert "Out of season" in message.body
    assert SECRET_TEXT not in message.body
    assert all(SECRET_TEXT not in body for body, _kind in message.alternatives)


def test_a_note_is_never_sent_in_a_partners_webhook(order, django_capture_on_commit_callbacks):
    partner = PartnerFactory()
    order.partner = partner
    order.save(update_fields=["partner"])
    # No event_types: the endpoint wants every event that notifies partners.
    WebhookEndpoint.objects.create(partner=partner, url="https://hooks.example/x", secret="s")
    order_note_add(order=order, data=NoteInput(text=SECRET_TEXT), user=UserFactory())
    assert not OutboxMessage.objects.filter(kind=OutboxKind.WEBHOOK).exists()
    # The endpoint is live: the hold that follows is sent, without the note.
    order_hold(order=order, reason="Checking the address")
    [hook] = OutboxMessage.objects.filter(kind=OutboxKind.WEBHOOK)
    assert hook.purpose == "order.status_changed"
    assert SECRET_TEXT not in str(hook.context)
