"""POST /api/v1/orders/{number}/notes/: staff add internal notes; partners never see them."""

import pytest

from orders.models import EventType, OrderEvent
from tests.api.conftest import make_api_staff, token_client
from tests.factories import PartnerFactory, UserFactory, WarehouseFactory, place, receive

pytestmark = pytest.mark.django_db

TEXT = "Partner's buyer is on holiday until Monday"


@pytest.fixture
def order(product):
    receive(WarehouseFactory(code="LDS", country="GB"), {product: 5})
    return place({product: 1})


@pytest.fixture
def partner_order(order):
    order.partner = PartnerFactory()
    order.save(update_fields=["partner"])
    return order


def with_note_perm(user):
    from django.contrib.auth.models import Permission

    user.user_permissions.add(Permission.objects.get(codename="note_order"))
    return user


def url(order):
    return f"/api/v1/orders/{order.number}/notes/"


def test_staff_add_a_note_and_read_it_in_the_history(order):
    staff = with_note_perm(make_api_staff())
    client = token_client(staff)
    response = client.post(url(order), {"text": f" {TEXT} "}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["type"] == "staff_note"
    assert body["message"] == TEXT
    assert body["user"] == staff.username
    assert body["order"] == order.number
    history = client.get("/api/v1/events/", {"order": order.number}).json()["results"]
    assert TEXT in [e["message"] for e in history]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"text": ""}, "Write the note"),
        ({"text": "x" * 501}, "at most 500 characters"),
        ({}, "required"),
    ],
)
def test_a_bad_note_is_a_400_naming_the_field(order, body, problem):
    client = token_client(with_note_perm(make_api_staff()))
    response = client.post(url(order), body, format="json")
    assert response.status_code == 400
    assert problem in str(response.json())
    assert not OrderEvent.objects.filter(type=EventType.STAFF_NOTE).exists()


def test_a_nul_character_is_a_400(order):
    client = token_client(with_note_perm(make_api_staff()))
    response = client.post(url(order), {"text": "a\x00b"}, format="json")
    assert response.status_code == 400
    assert not OrderEvent.objects.filter(type=EventType.STAFF_NOTE).exists()


def test_staff_without_the_permission_get_403(order):
    client = token_client(make_api_staff())
    assert client.post(url(order), {"text": TEXT}, format="json").status_code == 403


def test_a_partner_may_not_add_notes_nor_see_them_on_its_order(partner_order):
    staff = with_note_perm(UserFactory(is_staff=True))
    assert (
        token_client(staff).post(url(partner_order), {"text": TEXT}, format="json").status_code
        == 201
    )
    partner = token_client(partner_order.partner.user)
    response = partner.post(url(partner_order), {"text": "mine"}, format="json")
    assert response.status_code == 403
    shown = partner.get(f"/api/v1/orders/{partner_order.number}/")
    assert shown.status_code == 200
    assert TEXT not in shown.content.decode()
    assert partner.get("/api/v1/events/").status_code == 403
    assert OrderEvent.objects.filter(type=EventType.STAFF_NOTE).count() == 1


def test_an_unknown_order_is_404(db):
    client = token_client(with_note_perm(make_api_staff()))
    response = client.post("/api/v1/orders/ORD-NOPE/notes/", {"text": TEXT}, format="json")
    assert response.status_code == 404
