"""Hostile input that does not come in a form field: cookies and a query string decoded with a
charset the client names. Neither may reach the database (PostgreSQL refuses NUL: a 500)."""

import pytest

pytestmark = pytest.mark.django_db


def test_a_session_cookie_with_a_nul_is_dropped_not_looked_up(client):
    # Django decodes the octal escape: the session key would be "\x00aaaaaaaaaaaa".
    client.cookies["sessionid"] = '"\\000aaaaaaaaaaaa"'
    response = client.get("/orders/")
    assert response.status_code == 302  # to the login page, as for anybody without a session
    assert "/accounts/login/" in response["Location"]


def test_a_query_decoded_as_utf7_cannot_smuggle_a_nul(client, admin_user):
    client.force_login(admin_user)
    response = client.get(
        "/orders/?q=%2BAAA-", CONTENT_TYPE="text/plain; charset=utf-7"
    )  # "+AAA-" is NUL in UTF-7
    assert response.status_code == 400
    assert "NUL" in response.content.decode()
