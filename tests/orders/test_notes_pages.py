"""The order page's internal notes: added from the page, shown in the history, form errors."""

import pytest
from django.urls import reverse

from orders.models import EventType, OrderEvent
from orders.services import NOTE_MAX_LENGTH
from tests.backoffice.conftest import user_with
from tests.factories import WarehouseFactory, place, receive

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(product):
    receive(WarehouseFactory(code="LDS", country="GB"), {product: 5})
    return place({product: 1})


@pytest.fixture
def clerk(client):
    user = user_with("orders.view_order", "orders.note_order")
    user.username = "jo.clerk"
    user.save()
    client.force_login(user)
    return user


def notes(order):
    return OrderEvent.objects.filter(order=order, type=EventType.STAFF_NOTE)


def test_a_clerk_adds_a_note_and_sees_it_in_the_history(client, clerk, order):
    url = reverse("orders:note-add", args=[order.number])
    response = client.post(url, {"text": "Rang Ada: leave with the neighbour"}, follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert f"Note added to order {order.number}." in page
    history = page[page.index("<h2>History</h2>") :]
    assert "Internal note" in history
    assert "Rang Ada: leave with the neighbour" in history
    assert "by jo.clerk" in history
    assert notes(order).get().user == clerk


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "Write the note (at most 500 characters)."),
        ("  ", "Write the note (at most 500 characters)."),
        (
            "z" * (NOTE_MAX_LENGTH + 1),
            "A note may be at most 500 characters long; this one has 501.",
        ),
    ],
)
def test_a_bad_note_shows_a_form_error_and_writes_nothing(client, clerk, order, text, error):
    response = client.post(reverse("orders:note-add", args=[order.number]), {"text": text})
    assert response.status_code == 400
    page = response.content.decode()
    assert error in page
    assert f"Order {order.number}" in page  # the order page, with the form and its error
    assert not notes(order).exists()


def test_a_nul_character_is_refused_before_the_form(client, clerk, order):
    response = client.post(reverse("orders:note-add", args=[order.number]), {"text": "a\x00b"})
    assert response.status_code == 400
    assert not notes(order).exists()


def test_the_note_form_is_shown_only_to_who_may_add_notes(client, order):
    url = reverse("orders:detail", args=[order.number])
    reader = user_with("orders.view_order")
    client.force_login(reader)
    assert 'id="note-form"' not in client.get(url).content.decode()
    response = client.post(reverse("orders:note-add", args=[order.number]), {"text": "hi"})
    assert response.status_code == 403
    assert not notes(order).exists()
    client.force_login(user_with("orders.view_order", "orders.note_order"))
    assert 'id="note-form"' in client.get(url).content.decode()


def test_a_note_on_an_unknown_order_is_404(client, clerk):
    response = client.post(reverse("orders:note-add", args=["ORD-NOPE"]), {"text": "hi"})
    assert response.status_code == 404
