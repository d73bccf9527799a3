"""The transfer pages (/purchasing/transfers/): the list, a new transfer, one transfer with its
buttons. Thin: they check the permission, validate the form and call
``purchasing.services.transfers``; a service's ``DomainError`` is shown on the form or as a
message."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from core.errors import DomainError
from core.forms import add_service_errors
from inventory.skus import sku_key

from . import transfer_selectors as selectors
from .exceptions import PurchasingValidationError
from .models import Transfer, TransferStatus
from .services.transfers import (
    TransferLineInput,
    transfer_cancel,
    transfer_create,
    transfer_receive,
    transfer_ship,
)
from .transfer_forms import (
    TransferFilterForm,
    TransferForm,
    TransferLineFormSet,
    TransferReasonForm,
)
from .transitions import TRANSFER_ACTIONS

PAGE_SIZE = 50


@login_required
@permission_required("purchasing.view_transfer", raise_exception=True)
def transfer_list(request: HttpRequest) -> HttpResponse:
    form = TransferFilterForm(request.GET or None)
    qs = selectors.transfer_list()
    if form.is_bound:
        form.is_valid()  # a bad value is shown as an error and ignored; the others filter
        data = form.cleaned_data
        qs = selectors.transfer_filter(
            qs,
            status=data.get("status") or "",
            source=data.get("source"),
            destination=data.get("destination"),
            sku=sku_key(data.get("sku") or ""),
        )
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    units, transfers = selectors.in_transit_totals()
    return render(
        request,
        "purchasing/transfer_list.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "in_transit_units": units,
            "in_transit_count": transfers,
        },
    )


@login_required
@permission_required("purchasing.add_transfer", raise_exception=True)
def transfer_create_view(request: HttpRequest) -> HttpResponse:
    form = TransferForm(request.POST or None)
    lines = TransferLineFormSet(request.POST or None, prefix="lines")
    status = 200
    if request.method == "POST":
        if form.is_valid() and lines.is_valid():
            data = form.cleaned_data
            try:
                detail = transfer_create(
                    source=data["source"].code,
                    destination=data["destination"].code,
                    lines=[TransferLineInput(**line) for line in lines.lines()],  # type: ignore[attr-defined]
                    notes=data["notes"],
                    user=request.user,
                )
            except PurchasingValidationError as exc:
                errors = dict(exc.errors)
                lines.add_service_errors(errors.pop("lines", []))  # type: ignore[attr-defined]
                if errors:
                    add_service_errors(form, errors)
            else:
                transfer = detail.transfer
                messages.success(
                    request,
                    f"Transfer {transfer.number} requested: ship it when the goods leave "
                    f"{transfer.source.code}.",
                )
                return redirect("purchasing:transfer", number=transfer.number)
        status = 400
    return render(
        request, "purchasing/transfer_form.html", {"form": form, "lines": lines}, status=status
    )


@login_required
@permission_required("purchasing.view_transfer", raise_exception=True)
def transfer_detail(request: HttpRequest, number: str) -> HttpResponse:
    try:
        transfer = selectors.transfer_detail(number)
    except Transfer.DoesNotExist:
        raise Http404(f"No transfer {number}.") from None
    lines = list(transfer.lines.all())
    available = {}
    if transfer.status == TransferStatus.REQUESTED:
        available = selectors.available_at(transfer.source, [line.product_id for line in lines])
    rows = [(line, available.get(line.product_id, 0)) for line in lines]
    return render(
        request,
        "purchasing/transfer_detail.html",
        {
            "transfer": transfer,
            "rows": rows,
            "units": sum(line.quantity for line in lines),
            "short": transfer.status == TransferStatus.REQUESTED
            and any(line.quantity > units for line, units in rows),
            "events": transfer.events.select_related("user"),
            "buttons": [
                TRANSFER_ACTIONS[name] for name in selectors.allowed_actions(transfer, request.user)
            ],
            "may_view_ledger": request.user.has_perm("inventory.view_stockmovement"),
        },
    )


@login_required
@require_POST
def transfer_action(request: HttpRequest, number: str, name: str) -> HttpResponse:
    if name not in TRANSFER_ACTIONS:
        raise Http404(f"No action {name}.")
    if not request.user.has_perm(TRANSFER_ACTIONS[name].permission):
        raise PermissionDenied(f"You may not {name} transfers.")
    transfer = get_object_or_404(Transfer, number=number)
    form = TransferReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        if name == "ship":
            transfer_ship(transfer=transfer, user=request.user)
            text = (
                f"Transfer {transfer.number} shipped: its units left {transfer.source.code} "
                f"and are in transit to {transfer.destination.code}."
            )
        elif name == "receive":
            detail = transfer_receive(transfer=transfer, user=request.user)
            text = f"Transfer {transfer.number} received at {transfer.destination.code}."
            if detail.filled_orders:
                text += " Backorders that got stock: " + ", ".join(detail.filled_orders) + "."
        else:
            transfer_cancel(transfer=transfer, reason=reason, user=request.user)
            text = f"Transfer {transfer.number} cancelled."
    except DomainError as exc:  # the state (409), a warehouse, or stock short at the source
        messages.error(request, exc.message)
    else:
        messages.success(request, text)
    return redirect("purchasing:transfer", number=number)


# Included by purchasing/urls.py under "transfers/" (names in the "purchasing" namespace).
urlpatterns = [
    path("", transfer_list, name="transfers"),
    path("new/", transfer_create_view, name="transfer_create"),
    path("<str:number>/", transfer_detail, name="transfer"),
    path("<str:number>/actions/<str:name>/", transfer_action, name="transfer_action"),
]
