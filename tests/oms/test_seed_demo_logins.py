"""``seed_demo``'s logins: known passwords (user name = password) only with DEBUG=1; with
DEBUG=0 random ones, printed once."""

import re
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

pytestmark = pytest.mark.django_db

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
