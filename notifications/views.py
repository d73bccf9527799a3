"""The customer's public tracking page (no login: the signed link in every customer e-mail)."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

from .tracking import TrackingLinkRefused, order_from_tracking_token, tracking_page


@require_safe
@cache_control(private=True, no_store=True)
def tracking(request: HttpRequest, token: str) -> HttpResponse:
    try:
        order = order_from_tracking_token(token)
    except TrackingLinkRefused as exc:
        # The same page for a forged link and one naming no order: nothing tells them apart.
        response = render(
            request,
            "tracking/invalid.html",
            {"expired": exc.expired, "support_email": settings.OMS_SUPPORT_EMAIL},
            status=410 if exc.expired else 404,
        )
    else:
        response = render(
            request,
            "tracking/order.html",
            {"page": tracking_page(order), "support_email": settings.OMS_SUPPORT_EMAIL},
        )
    # The token is the key to the page: never sent on to the carrier's site, never indexed.
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response
