"""Login lockout (django-axes): repeated wrong passwords for one user name from one address lock
that pair out with a clear message on the site's login page; managers unlock in the admin."""

import pytest
from axes.models import AccessAttempt
from axes.utils import reset
from django.contrib.auth.models import Permission
from django.test import Client

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"
ADDRESS = {"REMOTE_ADDR": "198.51.100.20"}


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.AXES_FAILURE_LIMIT = 3


@pytest.fixture
def clerk(django_user_model):
    return django_user_model.objects.create_user(
        "clerk", password="right-horse-battery", is_staff=True
    )


@pytest.fixture
def colleague(django_user_model):
    return django_user_model.objects.create_user(
        "colleague", password="correct-staple", is_staff=True
    )


def log_in(client, username, password, url=LOGIN, **extra):
    return client.post(url, {"username": username, "password": password}, **{**ADDRESS, **extra})


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def lock_out(client, username="clerk", url=LOGIN):
    for _ in range(3):
        response = log_in(client, username, "wrong", url=url)
    return response


def test_the_right_password_is_refused_after_too_many_wrong_ones(client, clerk):
    first = log_in(client, "clerk", "wrong")
    assert first.status_code == 200
    assert "Please enter a correct username and password" in first.content.decode()

    locked = lock_out(client)
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()

    response = log_in(client, "clerk", "right-horse-battery")
    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many failed logins for this user name from your address" in page
    assert "ask a manager to unlock it" in page
    assert '<form method="post"' in page  # the site's own login page, not a bare error
    assert not logged_in(client)


def test_another_user_name_from_the_same_address_still_logs_in(client, clerk, colleague):
    lock_out(client)
    response = log_in(client, "colleague", "correct-staple")
    assert response.status_code == 302
    assert logged_in(client)


def test_the_same_user_name_from_another_address_still_logs_in(client, clerk):
    lock_out(client)
    response = log_in(client, "clerk", "right-horse-battery", REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 302


def test_admin_login_is_locked_too_with_the_same_message(client, clerk):
    lock_out(client, url=ADMIN_LOGIN)
    response = log_in(client, "clerk", "right-horse-battery", url=ADMIN_LOGIN)
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert not logged_in(client)


def test_login_works_again_after_a_reset(client, clerk):
    lock_out(client)
    assert reset(username="clerk") == 1
    response = log_in(client, "clerk", "right-horse-battery")
    assert response.status_code == 302
    assert logged_in(client)


def test_a_manager_unlocks_a_login_in_the_admin(client, clerk, django_user_model):
    lock_out(client)
    attempt = AccessAttempt.objects.get(username="clerk")

    manager = django_user_model.objects.create_user("mgr", password="x", is_staff=True)
    for codename in ("view_accessattempt", "delete_accessattempt"):
        manager.user_permissions.add(
            Permission.objects.get(content_type__app_label="axes", codename=codename)
        )
    admin = Client()
    admin.force_login(manager)
    listing = admin.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200
    assert "clerk" in listing.content.decode()
    response = admin.post(
        "/admin/axes/accessattempt/",
        {"action": "delete_selected", "_selected_action": [attempt.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()

    response = log_in(client, "clerk", "right-horse-battery")
    assert response.status_code == 302
    assert logged_in(client)


def test_forwarded_addresses_are_ignored_by_default(client, clerk):
    # Rotating X-Forwarded-For does not give a fresh budget: the peer address counts.
    for n in range(3):
        log_in(client, "clerk", "wrong", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    response = log_in(client, "clerk", "right-horse-battery", HTTP_X_FORWARDED_FOR="192.0.2.99")
    assert response.status_code == 429
