"""What a locked-out login sees (django-axes' ``AXES_LOCKOUT_CALLABLE``): the site's own login
page, with a message saying why and what to do, answered ``429``. Used for the back-office login
and the admin's alike (docs/security.md)."""

from datetime import timedelta
from typing import Any

from axes.helpers import get_client_username, get_cool_off
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def lockout_message(cool_off: timedelta | None) -> str:
    wait = ""
    if cool_off:
        minutes = max(1, round(cool_off.total_seconds() / 60))
        wait = f" Try again in {minutes} minute{'s' if minutes != 1 else ''}, or"
    else:
        wait = " Please"
    return (
        "Too many failed logins for this user name from your address, so logging in is locked."
        f"{wait} ask a manager to unlock it."
    )


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    username = get_client_username(request, credentials) or ""
    form = AuthenticationForm(request, initial={"username": username})
    context = {
        "form": form,
        "lockout_message": lockout_message(get_cool_off(request)),
        "next": request.POST.get("next") or request.GET.get("next", ""),
    }
    return render(request, "registration/login.html", context, status=429)
