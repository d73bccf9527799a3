"""The *Replenishment* page (``/purchasing/replenishment/``, routed from ``oms/urls.py``): the
suggestions of ``purchasing.replenishment`` grouped by supplier, and "create draft POs" in one
click (one draft per supplier × warehouse), then links to the drafts."""

from itertools import groupby

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode

from core.errors import DomainError
from inventory.models import Warehouse

from .models import PurchaseOrder, Supplier
from .replenishment import (
    demand_days,
    replenishment_orders_create,
    replenishment_suggestions,
    safety_days,
)


def _purchase_order_url(number: str) -> str | None:
    """The purchase order's page when the purchasing pages are installed, else None."""
    try:
        return reverse("purchasing:order", args=[number])
    except NoReverseMatch:
        return None


@login_required
@permission_required("purchasing.view_purchaseorder", raise_exception=True)
def replenishment(request: HttpRequest) -> HttpResponse:
    source = request.POST if request.method == "POST" else request.GET
    warehouse = source.get("warehouse", "").strip()
    supplier = source.get("supplier", "").strip()
    filters = {k: v for k, v in (("warehouse", warehouse), ("supplier", supplier)) if v}
    if request.method == "POST":
        if not request.user.has_perm("purchasing.add_purchaseorder"):
            raise PermissionDenied
        try:
            created = replenishment_orders_create(
                warehouse=warehouse or None, supplier=supplier or None, user=request.user
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            if created:
                numbers = [d.purchase_order.number for d in created]
                messages.success(request, f"Created {len(numbers)} draft purchase orders.")
                filters["created"] = ",".join(numbers)
            else:
                messages.info(request, "Nothing to order: no suggestion has a supplier.")
        url = reverse("replenishment")
        return redirect(f"{url}?{urlencode(filters)}" if filters else url)

    suggestions = replenishment_suggestions(warehouse=warehouse or None, supplier=supplier or None)
    groups = [(code, list(rows)) for code, rows in groupby(suggestions, key=lambda s: s.supplier)]
    names = dict(
        Supplier.objects.filter(code__in=[c for c, _ in groups if c]).values_list("code", "name")
    )
    created_numbers = [n for n in request.GET.get("created", "").split(",") if n][:100]
    links = [
        (po, _purchase_order_url(po.number))
        for po in PurchaseOrder.objects.filter(number__in=created_numbers)
        .select_related("supplier", "warehouse")
        .order_by("number")
    ]
    return render(
        request,
        "purchasing/replenishment.html",
        {
            "groups": [
                {
                    "code": code,
                    "name": names.get(code or "", ""),
                    "rows": rows,
                    "units": sum(r.suggested_quantity for r in rows),
                }
                for code, rows in groups
            ],
            "count": len(suggestions),
            "orderable": any(s.supplier for s in suggestions),
            "warehouses": Warehouse.objects.filter(is_active=True),
            "suppliers": Supplier.objects.filter(is_active=True).order_by("code"),
            "warehouse": warehouse,
            "supplier": supplier,
            "created": links,
            "demand_days": demand_days(),
            "safety_days": safety_days(),
        },
    )
