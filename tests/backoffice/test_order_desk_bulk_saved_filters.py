"""Saved filters on the order desk (issue 15): a person names the current filters, gets them
back from the desk's menu, and deletes them; each sees only their own."""

import pytest

from accounts.models import SavedFilter
from tests.backoffice.conftest import user_with

pytestmark = pytest.mark.django_db


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_save_get_back_and_delete(client, clerk):
    response = client.post(
        "/orders/saved-filters/",
        {"name": "  Late  web ", "query": "status=allocated&channel=web&late=on&page=3"},
        follow=True,
    )
    assert response.redirect_chain == [("/orders/?status=allocated&channel=web&late=on", 302)]
    assert messages_of(response) == ["Filter “Late web” saved."]
    saved = SavedFilter.objects.get(user=clerk)
    assert saved.query == "status=allocated&channel=web&late=on"  # the page is not kept
    page = client.get("/orders/").content.decode()
    assert 'href="/orders/?status=allocated&amp;channel=web&amp;late=on">Late web</a>' in page
    # The same name again replaces it.
    response = client.post(
        "/orders/saved-filters/", {"name": "Late web", "query": "status=on_hold"}, follow=True
    )
    assert messages_of(response) == ["Filter “Late web” updated."]
    assert SavedFilter.objects.get(user=clerk).query == "status=on_hold"
    response = client.post(f"/orders/saved-filters/{saved.pk}/delete/", follow=True)
    assert messages_of(response) == ["Filter “Late web” deleted."]
    assert not SavedFilter.objects.exists()
    assert "Late web" not in client.get("/orders/").content.decode()


def test_each_person_sees_and_deletes_only_their_own(client, clerk):
    other = user_with("orders.view_order")
    theirs = SavedFilter.objects.create(user=other, name="Theirs", query="status=placed")
    SavedFilter.objects.create(user=clerk, name="Mine", query="status=on_hold")
    page = client.get("/orders/").content.decode()
    assert "Mine" in page
    assert "Theirs" not in page
    assert client.post(f"/orders/saved-filters/{theirs.pk}/delete/").status_code == 404
    assert SavedFilter.objects.filter(pk=theirs.pk).exists()


@pytest.mark.parametrize(
    ("name", "message"),
    [("", "Give the filter a name to save it."), ("x" * 61, "at most 60 characters")],
)
def test_bad_name_saves_nothing(client, clerk, name, message):
    response = client.post(
        "/orders/saved-filters/", {"name": name, "query": "x" * 5000}, follow=True
    )
    assert response.status_code == 200
    assert message in messages_of(response)[0]
    assert not SavedFilter.objects.exists()


def test_needs_the_order_desk(client, django_user_model):
    assert client.post("/orders/saved-filters/", {"name": "a"}).status_code == 302  # login
    client.force_login(django_user_model.objects.create_user("nobody", password="pw"))
    assert client.post("/orders/saved-filters/", {"name": "a"}).status_code == 403
    assert client.get("/orders/saved-filters/").status_code in (403, 405)
