"""Partner tokens: ``create_partner --rotate`` replaces a token, the admin revokes one; the old
token answers 401 at once (no authentication cache)."""

from io import StringIO

import pytest
from django.contrib.admin.models import LogEntry
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from orders.models import Partner

pytestmark = pytest.mark.django_db


def create_partner(*args) -> str:
    out = StringIO()
    call_command("create_partner", *args, stdout=out)
    return out.getvalue().strip().splitlines()[-1]


def api(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_rotate_prints_a_new_token_last_and_the_old_one_stops_working():
    old = create_partner("Globex Trading")
    old_client = api(old)
    assert old_client.get("/api/v1/orders/").status_code == 200

    new = create_partner("--rotate", "globex trading")

    assert new != old
    assert Partner.objects.get(name="Globex Trading").user.auth_token.key == new
    response = old_client.get("/api/v1/orders/")  # the same client, straight after
    assert response.status_code == 401
    assert response.json() == {"code": "authentication_failed", "detail": "Invalid token."}
    assert api(new).get("/api/v1/orders/").status_code == 200
    assert Partner.objects.count() == 1


def test_rotate_an_unknown_partner_is_refused():
    old = create_partner("Globex Trading")
    with pytest.raises(CommandError, match="No partner named 'Initech'"):
        call_command("create_partner", "--rotate", "Initech", stdout=StringIO())
    assert Token.objects.get().key == old


def test_revoking_in_the_admin_makes_the_partners_calls_answer_401(client, superuser):
    globex = create_partner("Globex Trading")
    initech = create_partner("Initech")
    globex_client = api(globex)
    assert globex_client.get("/api/v1/orders/").status_code == 200

    client.force_login(superuser)
    partner = Partner.objects.get(name="Globex Trading")
    response = client.post(
        "/admin/orders/partner/",
        {"action": "revoke_api_token", "_selected_action": [partner.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "Revoked 1 API token(s)" in response.content.decode()

    assert globex_client.get("/api/v1/orders/").status_code == 401
    assert api(initech).get("/api/v1/orders/").status_code == 200  # only the selected one
    assert LogEntry.objects.filter(object_id=str(partner.pk)).exists()
    # A new token can be issued afterwards.
    assert (
        api(create_partner("--rotate", "Globex Trading")).get("/api/v1/orders/").status_code == 200
    )


def test_rotate_never_guesses_between_partners_whose_names_differ_in_case():
    from tests.factories import PartnerFactory

    acme, shouty = PartnerFactory(name="Acme"), PartnerFactory(name="ACME")
    keys = {p.pk: Token.objects.get_or_create(user=p.user)[0].key for p in (acme, shouty)}

    with pytest.raises(CommandError, match="matches several partners"):
        call_command("create_partner", "--rotate", "acme", stdout=StringIO())
    assert {p.pk: p.user.auth_token.key for p in Partner.objects.all()} == keys

    new = create_partner("--rotate", "ACME")  # the exact name
    assert Token.objects.get(user=shouty.user).key == new != keys[shouty.pk]
    assert Token.objects.get(user=acme.user).key == keys[acme.pk]
