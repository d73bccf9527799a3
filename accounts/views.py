"""Pages of the whole site: the role-based start page (docs/roles.md), the favicon, the 403 page."""

from django.contrib.auth.decorators import login_required
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.cache import cache_control
from django.views.defaults import permission_denied

from accounts.roles import is_manager


@login_required
def home(request: HttpRequest) -> HttpResponseBase:
    """Send each person to where their work is (docs/roles.md): managers to the dashboard,
    the order desk (purchasing staff) to the orders, the warehouse to the shipment queue."""
    user = request.user
    if is_manager(user):
        return redirect("dashboard:index")
    if user.has_perm("orders.add_order"):
        return redirect("orders:list")
    if user.has_perm("fulfillment.pick_shipment"):
        return redirect("fulfillment:shipments")
    for perm, target in (
        ("orders.view_order", "orders:list"),
        ("fulfillment.view_shipment", "fulfillment:shipments"),
        ("inventory.view_stocklevel", "inventory:stock"),
    ):
        if user.has_perm(perm):
            return redirect(target)
    if user.is_staff:
        return redirect("admin:index")
    return render(request, "home.html")


def handler403(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Root ``handler403``: JSON under /api/, the site's own page (templates/403.html, with the
    navigation) elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"detail": "You do not have permission to perform this action."}, status=403
        )
    return permission_denied(request, exception)


@cache_control(max_age=86400, public=True)
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask /favicon.ico of pages that do not link an icon (the admin, the API docs)."""
    return HttpResponseRedirect(static("favicon.ico"))
