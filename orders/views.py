"""Back-office pages of the order desk. Thin: they validate forms and call services."""

import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import (
    Http404,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseBase,
    JsonResponse,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from core.api.pagination import COUNT_CAP, CappedPaginator, requested_page
from core.spreadsheet import csv_lines, write_xlsx
from inventory.selectors import product_list_with_availability

from . import selectors, services
from .exceptions import OrderError, OrderValidationError
from .expected import expected_dates
from .exports import order_desk_rows
from .filters import OrderDeskFilter
from .forms import (
    CancelForm,
    HoldForm,
    NoteForm,
    OrderEntryForm,
    OrderLineFormSet,
    ReasonForm,
    SubstituteForm,
)
from .models import Customer, Order, OrderLine, OrderStatus
from .transitions import TRANSITIONS

PAGE_SIZE = 50
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _desk_filter(request) -> tuple[OrderDeskFilter, QuerySet[Order]]:
    """The order desk's filters as the request sets them, and the orders they select (the
    list page and its export share them: the export holds exactly the listed orders)."""
    orders = selectors.order_list()
    filterset = OrderDeskFilter(request.GET or None, queryset=orders)
    return filterset, (filterset.qs if filterset.is_bound else orders)


@login_required
@permission_required("orders.view_order", raise_exception=True)
def order_list(request):
    filterset, qs = _desk_filter(request)
    filtered = any(value for key, value in request.GET.items() if key != "page")
    if filtered:
        paginator = Paginator(qs, PAGE_SIZE)
    else:
        # The unfiltered list stops counting at COUNT_CAP orders (the page shows "10,000+"): an
        # exact COUNT(*) of the whole table grows with it. Filtered lists count exactly.
        wanted = requested_page(request.GET.get("page"))
        paginator = CappedPaginator(qs, PAGE_SIZE, cap=COUNT_CAP, page=wanted)
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "orders/order_list.html",
        {
            "filter": filterset,
            "page": page,
            "query": query.urlencode(),
            "statuses": OrderStatus,
            "bulk_actions": _bulk_actions(request.user),
            "can_pick": request.user.has_perm("fulfillment.pick_shipment"),
            "reason_max_length": services.REASON_MAX_LENGTH,
        },
    )


def _bulk_actions(user) -> list[tuple[str, str]]:
    """(name, button) of the bulk transitions ``user`` may run (docs/roles.md)."""
    return [
        (name, TRANSITIONS[name].desk_button)
        for name in services.BULK_TRANSITIONS
        if user.has_perm(TRANSITIONS[name].permission)
    ]


def back_to_order_desk(request):
    """The order desk with the filters the selection was made under (only its query string
    is taken from the form: the path is ours)."""
    query = QueryDict(request.POST.get("query", "")[:2000]).urlencode()
    return redirect(reverse("orders:list") + (f"?{query}" if query else ""))


def bulk_report(request, verb: str, outcome) -> None:
    """One message for the orders done, one for those refused, each order named."""
    if outcome.done:
        messages.success(request, f"{verb}: {', '.join(outcome.done)}.")
    if outcome.refused:
        messages.error(
            request,
            f"Not {verb[0].lower() + verb[1:]}: "
            + "; ".join(f"{number} — {why}" for number, why in outcome.refused)
            + ".",
        )


@login_required
@require_POST
def order_bulk(request, name: str):
    """Confirm, hold or release the orders selected on the order desk, each through its
    service; the message says per order what happened."""
    if name not in services.BULK_TRANSITIONS:
        raise Http404(f"No bulk action {name}.")
    if not request.user.has_perm(TRANSITIONS[name].permission):
        raise PermissionDenied(f"You may not {name} orders.")
    form = (HoldForm if name == "hold" else ReasonForm)(request.POST)
    if not form.is_valid():
        problems = " ".join(str(m) for ms in form.errors.values() for m in ms)
        messages.error(request, f"Nothing was done: {problems}")
        return back_to_order_desk(request)
    try:
        outcome = services.orders_bulk_transition(
            numbers=request.POST.getlist("orders"),
            name=name,
            user=request.user,
            reason=form.cleaned_data.get("reason", "") if name != "confirm" else "",
        )
    except OrderValidationError as exc:
        problems = " ".join(m for ms in exc.errors.values() for m in ms)
        messages.error(request, f"Nothing was done: {problems}")
    else:
        verb = {"confirm": "Confirmed", "hold": "Put on hold", "release": "Released"}[name]
        bulk_report(request, verb, outcome)
    return back_to_order_desk(request)


@login_required
@permission_required("orders.view_order", raise_exception=True)
def order_list_export(request):
    """The filtered order list, every page of it, as CSV (streamed) or .xlsx (write-only)."""
    fmt = request.GET.get("format", "csv")
    if fmt not in ("csv", "xlsx"):
        return HttpResponseBadRequest(
            f"Unknown format '{fmt[:20]}': use csv or xlsx.", content_type="text/plain"
        )
    filterset, qs = _desk_filter(request)
    if filterset.is_bound and not filterset.is_valid():
        problems = "; ".join(
            f"{filterset.form.fields[name].label if name in filterset.form.fields else name}: "
            + " ".join(str(error) for error in errors)
            for name, errors in filterset.form.errors.items()
        )
        return HttpResponseBadRequest(
            f"The filters are not valid, nothing was exported. {problems}",
            content_type="text/plain; charset=utf-8",  # the errors quote what was typed
        )
    name = f"orders-{timezone.localdate().isoformat()}.{fmt}"
    response: HttpResponseBase
    if fmt == "csv":
        response = StreamingHttpResponse(
            csv_lines(order_desk_rows(qs)), content_type="text/csv; charset=utf-8"
        )
    else:
        buffer = io.BytesIO()
        write_xlsx(order_desk_rows(qs), buffer, title="Orders")
        response = HttpResponse(buffer.getvalue(), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@permission_required("orders.view_order", raise_exception=True)
def order_detail(request, number: str):
    return _order_page(request, number)


def _order_page(request, number: str, *, note_form: NoteForm | None = None, status: int = 200):
    try:
        order = selectors.order_detail(number=number)
    except Order.DoesNotExist:
        raise Http404(f"No order {number}.") from None
    allowed = services.available_transitions(order, request.user)
    transitions = [TRANSITIONS[name] for name in allowed]
    lines = order.lines.all()
    expected = expected_dates([(order, list(lines))])
    return render(
        request,
        "orders/order_detail.html",
        {
            "order": order,
            "lines": lines,
            # Each line with the date its missing units are expected (backordered lines).
            "line_rows": [(line, expected.of(line)) for line in lines],
            "events": order.events.all(),
            "shipments": order.shipments.select_related("warehouse").prefetch_related(
                "lines__order_line__product"
            ),
            "returns": order.returns.order_by("pk"),
            "returnable": any(line.quantity_shipped > line.quantity_returned for line in lines),
            "transitions": transitions,
            "cancel_form": CancelForm(),
            "reason_form": ReasonForm(),
            "reason_max_length": services.REASON_MAX_LENGTH,
            "substitute_form": SubstituteForm(),
            "can_substitute": request.user.has_perm("orders.substitute_orderline"),
            "can_change": request.user.has_perm("orders.change_order"),
            "note_form": note_form or NoteForm(),
            "can_note": request.user.has_perm("orders.note_order"),
        },
        status=status,
    )


@login_required
@require_POST
@permission_required("orders.note_order", raise_exception=True)
def order_note_add(request, number: str):
    order = get_object_or_404(Order, number=number)
    form = NoteForm(request.POST)
    if not form.is_valid():
        return _order_page(request, number, note_form=form, status=400)
    services.order_note_add(order=order, data=form.note_input(), user=request.user)
    messages.success(request, f"Note added to order {order.number}.")
    return redirect(reverse("orders:detail", args=[order.number]) + "#history")


@login_required
@require_POST
def order_transition(request, number: str, name: str):
    order = get_object_or_404(Order, number=number)
    if name not in TRANSITIONS:
        raise Http404(f"No action {name}.")
    # The permission is the one the transition declares (orders.transitions); whether the
    # order's state allows it now is the service's answer, shown as a message.
    if not request.user.has_perm(TRANSITIONS[name].permission):
        raise PermissionDenied(f"You may not {name} orders.")
    shown = request.POST.get("status")
    if shown and services.changed_meanwhile(shown, order.status):
        # The page was out of date: another person decided about the order since it was shown
        # (a receipt filling it or a pick list does not count: services.changed_meanwhile).
        messages.error(
            request,
            f"Order {order.number} was changed meanwhile and is now "
            f"{order.get_status_display().lower()}; nothing was done. Check it and try again.",
        )
        return redirect("orders:detail", number=number)
    form = {"cancel": CancelForm, "hold": HoldForm}.get(name, ReasonForm)(request.POST)
    if not form.is_valid():
        problems = " ".join(str(m) for ms in form.errors.values() for m in ms)
        messages.error(request, f"Order {order.number}: {problems}")
        return redirect("orders:detail", number=number)
    try:
        order = services.order_transition(
            order=order, name=name, user=request.user, reason=form.cleaned_data.get("reason", "")
        )
    except OrderError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, f"Order {order.number} is now {order.get_status_display().lower()}."
        )
    return redirect("orders:detail", number=number)


@login_required
@require_POST
@permission_required("orders.substitute_orderline", raise_exception=True)
def line_substitute(request, number: str, line_id: int):
    line = get_object_or_404(
        OrderLine.objects.select_related("order"), pk=line_id, order__number=number
    )
    form = SubstituteForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(m) for ms in form.errors.values() for m in ms))
        return redirect("orders:detail", number=number)
    old_sku = line.product.sku if line.product_id else ""
    try:
        new_line = services.order_line_substitute(
            line=line,
            product=form.product,
            user=request.user,
            reason=form.cleaned_data["reason"],
            charge_substitute_price=form.cleaned_data["charge_substitute_price"],
            price_reason=form.cleaned_data["price_reason"],
        )
    except OrderError as exc:
        messages.error(request, exc.message)
    else:
        order = new_line.order
        messages.success(
            request,
            f"{new_line.quantity} × {new_line.product.sku} replace the backordered {old_sku}, "
            f"at {new_line.unit_price} {order.currency} each; the order is now "
            f"{order.get_status_display().lower()} and the customer is e-mailed.",
        )
    return redirect("orders:detail", number=number)


@login_required
@require_POST
@permission_required("orders.change_order", raise_exception=True)
def line_cancel_backorder(request, number: str, line_id: int):
    line = get_object_or_404(OrderLine, pk=line_id, order__number=number)
    form = ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        services.order_line_cancel_backorder(line=line, user=request.user, reason=reason)
    except OrderError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "The backordered units of the line were cancelled.")
    return redirect("orders:detail", number=number)


@login_required
@permission_required("orders.add_order", raise_exception=True)
def order_create(request):
    if request.method == "POST":
        form = OrderEntryForm(request.POST)
        lines = OrderLineFormSet(request.POST, prefix="lines")
        if form.is_valid() and lines.is_valid():
            try:
                with transaction.atomic():
                    order = services.order_place(
                        data=form.placement_input(lines.lines()),  # type: ignore[attr-defined]
                        user=request.user,
                    )
            except OrderValidationError as exc:
                form.add_service_errors(exc.errors, lines)
            except OrderError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(
                    request,
                    f"Order {order.number} placed: {order.get_status_display().lower()}.",
                )
                return redirect(reverse("orders:detail", args=[order.number]))
    else:
        form = OrderEntryForm(initial={"channel": "phone", "country": "GB"})
        lines = OrderLineFormSet(prefix="lines")
    return render(request, "orders/order_form.html", {"form": form, "lines": lines})


@login_required
def product_lookup(request):
    """SKU lookup with live availability and price for the order entry form and the
    substitution form of the order page (JSON)."""
    if not (
        request.user.has_perm("orders.add_order")
        or request.user.has_perm("orders.substitute_orderline")
    ):
        raise PermissionDenied("You may not look products up.")
    term = request.GET.get("q", "").strip()
    qs = product_list_with_availability()
    if term:
        qs = qs.filter(sku__istartswith=term) | qs.filter(name__icontains=term)
    results = [
        {
            "sku": p.sku,
            "name": p.name,
            "unit_price": str(p.unit_price),
            "currency": p.currency,
            "available": p.available,
        }
        for p in qs.order_by("sku")[:20]
    ]
    return JsonResponse({"results": results})


@login_required
@permission_required("orders.view_customer", raise_exception=True)
def customer_list(request):
    term = request.GET.get("q", "").strip()
    qs = Customer.objects.order_by("name", "pk")
    if term:
        match = Q(name__icontains=term) | Q(email__icontains=term) | Q(phone__icontains=term)
        # Phones are stored as E.164 (+442079460000): "020 7946 0000" finds it by its digits
        # without the spacing and the national trunk 0.
        digits = "".join(ch for ch in term if ch in "0123456789").lstrip("0")
        if len(digits) >= 4:
            match |= Q(phone__contains=digits)
        qs = qs.filter(match)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "customers/customer_list.html", {"page": page, "q": term})


@login_required
@permission_required("orders.view_customer", raise_exception=True)
def customer_detail(request, pk: int):
    customer = get_object_or_404(Customer, pk=pk)
    # Reverse relations of the fulfillment and returns apps, by name: no upward import.
    orders = list(
        selectors.order_list()
        .filter(customer=customer)
        .select_related("delivery_feedback")
        .prefetch_related("returns")[:100]
    )
    return render(
        request,
        "customers/customer_detail.html",
        {
            "customer": customer,
            "orders": orders,
            "returns": [r for order in orders for r in order.returns.all()],
            "ratings": [
                (order, order.delivery_feedback)
                for order in orders
                if hasattr(order, "delivery_feedback")
            ],
            "figures": selectors.customer_figures(customer),
            "duplicates": services.customer_duplicates(customer),
        },
    )
