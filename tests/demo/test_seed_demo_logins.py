"""``seed_demo``'s logins: known passwords (user name = password) only with DEBUG=1; with
DEBUG=0 random ones, printed once."""

import re
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

LOGINS = ("admin", "purchasing", "warehouse", "manager")


def run() -> str:
    out = StringIO()
    call_command("seed_demo", "--orders", "0", stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def login_request(rf, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return rf.post("/accounts/login/", REMOTE_ADDR="198.51.100.30")


def test_with_debug_off_demo_logins_get_random_passwords_printed_once(settings, login_request):
    settings.DEBUG = False
    out = run()
    assert "random passwords shown only this once" in out
    printed = dict(re.findall(r"^  (\w+) / (\S+) \(", out, flags=re.MULTILINE))
    assert set(printed) == set(LOGINS)
    for username, password in printed.items():
        assert password != username and len(password) >= 16
        assert authenticate(login_request, username=username, password=password) is not None
    assert authenticate(login_request, username="admin", password="admin") is None

    again = run()
    assert "already exist; their passwords are unchanged" in again
    for password in printed.values():
        assert password not in again
    user = authenticate(login_request, username="manager", password=printed["manager"])
    assert user is not None


def test_with_debug_on_demo_logins_use_their_names_as_passwords(settings, login_request):
    settings.DEBUG = True
    out = run()
    assert "admin / admin (superuser)" in out
    for username in LOGINS:
        assert authenticate(login_request, username=username, password=username) is not None


def test_logins_are_printed_before_the_orders_are_made(settings):
    """A run that fails while seeding orders has shown the passwords of the logins it made."""
    from unittest import mock

    settings.DEBUG = False
    out = StringIO()
    with (
        mock.patch(
            "demo.management.commands.seed_demo.Command.seed_orders",
            side_effect=RuntimeError("disk full"),
        ),
        pytest.raises(RuntimeError),
    ):
        call_command("seed_demo", "--orders", "5", stdout=out, stderr=StringIO())
    printed = re.findall(r"^  (\w+) / (\S+) \(", out.getvalue(), re.MULTILINE)
    assert {username for username, _ in printed} == set(LOGINS)


def test_a_development_run_never_claims_an_existing_login_has_its_name_as_password(settings):
    settings.DEBUG = False
    run()  # random passwords
    settings.DEBUG = True
    again = run()
    assert "admin / admin" not in again
    assert "already exist; their passwords are unchanged" in again
