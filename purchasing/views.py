"""The purchasing clerk's back-office pages: suppliers and what they sell, purchase orders, and
receiving against them. Thin: they check the permission, validate the form and call
``purchasing.services``; a service's ``DomainError`` is shown on the form or as a message."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from core.forms import add_service_errors
from inventory.skus import sku_key

from . import selectors
from .exceptions import PurchasingError, PurchasingValidationError
from .forms import (
    ExpectedDateForm,
    PurchaseOrderFilterForm,
    PurchaseOrderForm,
    PurchaseOrderLineFormSet,
    ReasonForm,
    ReceiveForm,
    SupplierForm,
    SupplierProductForm,
)
from .models import RECEIVABLE, PurchaseOrder, Supplier, SupplierProduct
from .services import (
    PurchaseOrderLineInput,
    purchase_order_cancel,
    purchase_order_close,
    purchase_order_create,
    purchase_order_expected_at_change,
    purchase_order_receive,
    purchase_order_send,
    supplier_create,
    supplier_product_upsert,
    supplier_update,
)
from .transitions import ACTIONS

PAGE_SIZE = 50
# The actions with a button on the purchase order page (receiving has its own page).
BUTTONS = ("send", "close", "cancel")


# --- suppliers ----------------------------------------------------------------------------------
@login_required
@permission_required("purchasing.view_supplier", raise_exception=True)
def supplier_list(request: HttpRequest) -> HttpResponse:
    term = request.GET.get("q", "").strip()[:100]
    active = request.GET.get("active", "yes")
    qs = Supplier.objects.order_by("code")
    if term:
        qs = qs.filter(Q(code__icontains=term) | Q(name__icontains=term) | Q(email__icontains=term))
    if active in ("yes", "no"):
        qs = qs.filter(is_active=active == "yes")
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "purchasing/supplier_list.html",
        {"page": page, "q": term, "active": active, "query": query.urlencode()},
    )


@login_required
@permission_required("purchasing.view_supplier", raise_exception=True)
def supplier_detail(request: HttpRequest, code: str) -> HttpResponse:
    supplier = get_object_or_404(Supplier, code=code)
    products = supplier.products.select_related("product").order_by("product__sku")
    orders = selectors.purchase_order_list().filter(supplier=supplier)[:20]
    return render(
        request,
        "purchasing/supplier_detail.html",
        {"supplier": supplier, "products": products, "orders": orders},
    )


@login_required
@permission_required("purchasing.add_supplier", raise_exception=True)
def supplier_create_view(request: HttpRequest) -> HttpResponse:
    form = SupplierForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            supplier = supplier_create(**form.cleaned_data, user=request.user)
        except PurchasingError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Supplier {supplier.code} created.")
            return redirect("purchasing:supplier", code=supplier.code)
    return render(request, "purchasing/supplier_form.html", {"form": form, "supplier": None})


@login_required
@permission_required("purchasing.change_supplier", raise_exception=True)
def supplier_edit(request: HttpRequest, code: str) -> HttpResponse:
    supplier = get_object_or_404(Supplier, code=code)
    form = SupplierForm(request.POST or None, supplier=supplier)
    if request.method == "POST" and form.is_valid():
        try:
            supplier_update(supplier=supplier, **form.cleaned_data, user=request.user)
        except PurchasingError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Supplier {supplier.code} saved.")
            return redirect("purchasing:supplier", code=supplier.code)
    return render(request, "purchasing/supplier_form.html", {"form": form, "supplier": supplier})


def _supplier_product_page(
    request: HttpRequest, supplier: Supplier, offer: SupplierProduct | None
) -> HttpResponse:
    initial: dict[str, Any] | None = None
    if offer is not None:
        initial = {
            f: getattr(offer, f)
            for f in (
                "supplier_sku",
                "unit_cost",
                "min_order_quantity",
                "pack_size",
                "lead_time_days",
                "preferred",
            )
        }
    form = SupplierProductForm(
        request.POST or None,
        initial=initial,
        product=offer.product if offer is not None else None,
    )
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "sku"}
        try:
            result = supplier_product_upsert(
                supplier=supplier, product=form.product, **data, user=request.user
            )
        except PurchasingError as exc:
            add_service_errors(form, exc)
        else:
            verb = "added to" if result.created else "saved for"
            messages.success(request, f"{form.product.sku} {verb} {supplier.code}.")
            return redirect("purchasing:supplier", code=supplier.code)
    return render(
        request,
        "purchasing/supplier_product_form.html",
        {"form": form, "supplier": supplier, "offer": offer},
    )


@login_required
@permission_required("purchasing.add_supplierproduct", raise_exception=True)
def supplier_product_add(request: HttpRequest, code: str) -> HttpResponse:
    supplier = get_object_or_404(Supplier, code=code)
    return _supplier_product_page(request, supplier, None)


@login_required
@permission_required("purchasing.change_supplierproduct", raise_exception=True)
def supplier_product_edit(request: HttpRequest, code: str, sku: str) -> HttpResponse:
    offer = get_object_or_404(
        SupplierProduct.objects.select_related("supplier", "product"),
        supplier__code=code,
        product__sku=sku,
    )
    return _supplier_product_page(request, offer.supplier, offer)


@login_required
@permission_required("purchasing.add_purchaseorder", raise_exception=True)
def supplier_product_lookup(request: HttpRequest, code: str) -> JsonResponse:
    """What ``code`` sells, for the SKU lookup of the purchase order form (static/js/
    sku_lookup.js): its cost as ``unit_price`` in the supplier's currency, and what is
    available in stock now."""
    supplier = get_object_or_404(Supplier, code=code)
    term = request.GET.get("q", "").strip()[:64]
    offers = list(selectors.supplier_offers(supplier, term))
    available = selectors.available_by_product([row.product_id for row in offers])
    results = [
        {
            "sku": row.product.sku,
            "name": row.product.name,
            "unit_price": str(row.unit_cost),
            "currency": supplier.currency,
            "available": available.get(row.product_id, 0),
        }
        for row in offers
    ]
    return JsonResponse({"results": results})


# --- purchase orders ----------------------------------------------------------------------------
@login_required
@permission_required("purchasing.view_purchaseorder", raise_exception=True)
def purchase_order_list(request: HttpRequest) -> HttpResponse:
    form = PurchaseOrderFilterForm(request.GET or None)
    qs = selectors.purchase_order_list()
    if form.is_bound:
        form.is_valid()  # a bad value is shown as an error and ignored; the others filter
        data = form.cleaned_data
        qs = selectors.purchase_order_filter(
            qs,
            status=data.get("status") or "",
            supplier=data.get("supplier"),
            warehouse=data.get("warehouse"),
            sku=sku_key(data.get("sku") or ""),
        )
    page = selectors.purchase_order_page(qs, PAGE_SIZE, request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "purchasing/purchase_order_list.html",
        {"form": form, "page": page, "query": query.urlencode()},
    )


@login_required
@permission_required("purchasing.add_purchaseorder", raise_exception=True)
def purchase_order_create_view(request: HttpRequest) -> HttpResponse:
    form = PurchaseOrderForm(
        request.POST or None, initial={"supplier": request.GET.get("supplier")}
    )
    lines = PurchaseOrderLineFormSet(request.POST or None, prefix="lines")
    if request.method == "POST" and form.is_valid() and lines.is_valid():
        data = form.cleaned_data
        try:
            detail = purchase_order_create(
                supplier=data["supplier"].code,
                warehouse=data["warehouse"].code,
                lines=[PurchaseOrderLineInput(**line) for line in lines.lines()],  # type: ignore[attr-defined]
                expected_at=data["expected_at"],
                notes=data["notes"],
                user=request.user,
            )
        except PurchasingValidationError as exc:
            errors = dict(exc.errors)
            lines.add_service_errors(errors.pop("lines", []))  # type: ignore[attr-defined]
            if errors:
                add_service_errors(form, errors)
        else:
            po = detail.purchase_order
            messages.success(request, f"Draft purchase order {po.number} created.")
            return redirect("purchasing:order", number=po.number)
    return render(request, "purchasing/purchase_order_form.html", {"form": form, "lines": lines})


def _purchase_order(number: str) -> PurchaseOrder:
    try:
        return selectors.purchase_order_detail(number)
    except PurchaseOrder.DoesNotExist:
        raise Http404(f"No purchase order {number}.") from None


@login_required
@permission_required("purchasing.view_purchaseorder", raise_exception=True)
def purchase_order_detail(request: HttpRequest, number: str) -> HttpResponse:
    po = _purchase_order(number)
    lines = list(po.lines.all())
    return render(
        request,
        "purchasing/purchase_order_detail.html",
        {
            "po": po,
            "lines": lines,
            "total": sum((line.line_total() for line in lines), start=0),
            "events": po.events.select_related("user"),
            "buttons": [ACTIONS[name] for name in selectors.allowed_actions(po, request.user)],
            "can_receive": selectors.may_receive(po, request.user),
            "can_change_date": selectors.may_change_expected_at(po, request.user),
            "date_form": ExpectedDateForm(initial={"expected_at": po.expected_at}),
        },
    )


@login_required
@require_POST
def purchase_order_action(request: HttpRequest, number: str, name: str) -> HttpResponse:
    if name not in BUTTONS:
        raise Http404(f"No action {name}.")
    if not request.user.has_perm(ACTIONS[name].permission):
        raise PermissionDenied(f"You may not {name} purchase orders.")
    po = get_object_or_404(PurchaseOrder, number=number)
    form = ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        if name == "send":
            purchase_order_send(purchase_order=po, user=request.user)
        elif name == "close":
            purchase_order_close(purchase_order=po, reason=reason, user=request.user)
        else:
            purchase_order_cancel(purchase_order=po, reason=reason, user=request.user)
    except PurchasingError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, f"Purchase order {po.number} is now {po.get_status_display().lower()}."
        )
    return redirect("purchasing:order", number=number)


@login_required
@require_POST
@permission_required("purchasing.change_purchaseorder", raise_exception=True)
def purchase_order_expected_date(request: HttpRequest, number: str) -> HttpResponse:
    po = get_object_or_404(PurchaseOrder, number=number)
    form = ExpectedDateForm(request.POST)
    if not form.is_valid():
        problems = " ".join(str(m) for ms in form.errors.values() for m in ms)
        messages.error(request, f"Purchase order {po.number}: {problems}")
        return redirect("purchasing:order", number=number)
    try:
        purchase_order_expected_at_change(
            purchase_order=po, expected_at=form.cleaned_data["expected_at"], user=request.user
        )
    except PurchasingError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{po.number} is now expected on {po.expected_at.isoformat()}.")
    return redirect("purchasing:order", number=number)


@login_required
@permission_required("purchasing.view_purchaseorder", raise_exception=True)
@permission_required("purchasing.receive_purchaseorder", raise_exception=True)
def purchase_order_receive_view(request: HttpRequest, number: str) -> HttpResponse:
    po = _purchase_order(number)
    lines = list(po.lines.all())
    form = ReceiveForm(request.POST if request.method == "POST" else None, lines=lines)
    status = 200
    if request.method == "POST":
        if po.status not in RECEIVABLE:
            form.add_error(
                None,
                f"{po.number} is {po.get_status_display().lower()}: nothing can be received "
                "against it.",
            )
        elif form.is_valid():
            try:
                receipt = purchase_order_receive(
                    purchase_order=po, lines=form.pairs(), user=request.user
                )
            except PurchasingError as exc:
                add_service_errors(form, exc)
            else:
                received = ", ".join(
                    f"{r.quantity} × {r.line.product.sku}" for r in receipt.received
                )
                text = f"Received {received} on {po.number} into {po.warehouse.code}."
                if receipt.filled_orders:
                    text += " Backorders that got stock: " + ", ".join(receipt.filled_orders) + "."
                else:
                    text += " No backordered order was waiting for these products."
                messages.success(request, text)
                if po.status in RECEIVABLE:
                    return redirect("purchasing:receive", number=po.number)
                return redirect("purchasing:order", number=po.number)
        if form.errors:
            status = 400
    return render(
        request,
        "purchasing/purchase_order_receive.html",
        {"po": po, "form": form, "receivable": po.status in RECEIVABLE},
        status=status,
    )
