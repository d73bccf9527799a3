"""Back-office pages of returns (open a return for a customer on the phone, approve, receive,
inspect, refund or exchange) and the customer's public return page reached from a signed link.
Thin: they call services and show their errors on the forms."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from django_fsm import has_transition_perm

from core.forms import add_service_errors
from orders.exceptions import OrderValidationError, TransitionNotAllowedNow
from orders.models import Order

from . import selectors, services
from .forms import (
    ExchangeForm,
    FindOrderForm,
    InspectForm,
    RefundForm,
    RejectForm,
    ReturnCreateForm,
)
from .models import ReturnPolicy, ReturnRequest, ReturnSource, ReturnStatus


def staff(perm: str):
    def decorate(view):
        return login_required(permission_required(perm, raise_exception=True)(view))

    return decorate


def _return_or_404(number: str) -> ReturnRequest:
    try:
        return selectors.return_detail(number=number)
    except ReturnRequest.DoesNotExist:
        raise Http404(f"No return {number}.") from None


@staff("returns.view_returnrequest")
def return_list(request):
    filters = {"status": request.GET.get("status", ""), "q": request.GET.get("q", "")}
    if filters["status"] not in ReturnStatus.values:
        filters["status"] = ""
    returns = list(selectors.return_list(filters=filters)[:200])
    return render(
        request,
        "returns/return_list.html",
        {"returns": returns, "filters": filters, "statuses": ReturnStatus.choices},
    )


@staff("returns.add_returnrequest")
def return_create(request):
    """Staff open a return for a customer on the phone: find the order, enter the lines."""
    number = (request.GET.get("order") or request.POST.get("order") or "").strip()
    find = FindOrderForm(initial={"order": number})
    order = Order.objects.select_related("customer").filter(number=number).first()
    if number and order is None:
        find = FindOrderForm({"order": number})
        find.is_valid()
        find.add_error("order", f"No order {number}.")
    if order is None:
        return render(request, "returns/return_create.html", {"find": find, "order": None})

    returnable = selectors.returnable_lines(order=order)
    closes_at = selectors.return_window_closes_at(
        order=order, window_days=ReturnPolicy.load().window_days
    )
    window_closed = closes_at is not None and timezone.now() > closes_at
    # The override field only when it is needed (window closed) and the person may use it.
    can_override = request.user.has_perm("returns.override_return_window")
    form_kwargs = {"returnable": returnable, "allow_override": window_closed and can_override}
    if request.method == "POST":
        form = ReturnCreateForm(request.POST, **form_kwargs)
        if form.is_valid():
            try:
                return_request = services.return_request_create(
                    order=order,
                    lines=form.cleaned_data["lines"],
                    user=request.user,
                    source=ReturnSource.STAFF,
                    override_reason=form.cleaned_data.get("override_reason", ""),
                )
            except OrderValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Return {return_request.number} opened.")
                return redirect("returns:detail", number=return_request.number)
        status = 400
    else:
        form = ReturnCreateForm(**form_kwargs)
        status = 200
    return render(
        request,
        "returns/return_create.html",
        {
            "find": find,
            "order": order,
            "form": form,
            "window_closes_at": closes_at,
            "window_closed": window_closed,
            "can_override": can_override,
        },
        status=status,
    )


# Button texts of the simple actions (the others have their own forms).
ACTION_LABELS = {
    "approve": "Approve",
    "receive": "Mark received (parcel arrived)",
    "close": "Close (done)",
    "cancel": "Cancel the return",
}


def _detail_context(request, return_request, **forms):
    return_lines = list(return_request.lines.all())
    transitions = services.available_transitions(return_request, user=request.user)
    context = {
        "rma": return_request,
        "return_lines": return_lines,
        "transitions": transitions,
        "buttons": [(name, ACTION_LABELS[name]) for name in transitions if name in ACTION_LABELS],
        "refund": getattr(return_request, "refund_record", None),
        "history": return_request.order.events.filter(
            details__return=return_request.number
        ).select_related("user"),
        "reject_form": forms.get("reject_form") or RejectForm(),
        "refund_form": forms.get("refund_form") or RefundForm(),
        "exchange_form": forms.get("exchange_form") or ExchangeForm(),
        "inspect_form": forms.get("inspect_form")
        or InspectForm(
            return_lines=return_lines,
            default_warehouse=selectors.return_default_warehouse(return_request=return_request)
            if "inspect" in transitions
            else None,
        ),
        "refund_quote": services.refund_quote(
            return_request=return_request, return_lines=return_lines
        )
        if "refund" in transitions
        else None,
        "customer_url": request.build_absolute_uri(
            services.customer_return_url(return_request.order)
        ),
    }
    return context


@staff("returns.view_returnrequest")
def return_detail(request, number):
    return_request = _return_or_404(number)
    return render(request, "returns/return_detail.html", _detail_context(request, return_request))


ACTIONS = {
    "approve": lambda r, user, data: services.return_approve(return_request=r, user=user),
    "receive": lambda r, user, data: services.return_receive(return_request=r, user=user),
    "close": lambda r, user, data: services.return_close(return_request=r, user=user),
    "cancel": lambda r, user, data: services.return_cancel(return_request=r, user=user),
}


@require_POST
@login_required
def return_action(request, number, action):
    return_request = _return_or_404(number)
    names = {*ACTIONS, "reject", "refund", "inspect", "exchange"}
    if action not in names:
        raise Http404(f"Unknown action {action}.")
    if not has_transition_perm(getattr(return_request, action), request.user):
        # Either the state forbids it (shown as an error) or the user lacks the permission.
        if action not in services.available_transitions(return_request):
            messages.error(
                request,
                f"Return {number}: {action} is not possible while it is "
                f"{return_request.get_status_display().lower()}.",
            )
            return redirect("returns:detail", number=number)
        raise PermissionDenied
    form: forms.Form | None = None
    try:
        if action == "reject":
            form = RejectForm(request.POST)
            if form.is_valid():
                services.return_reject(
                    return_request=return_request,
                    reason=form.cleaned_data["reason"],
                    user=request.user,
                )
        elif action == "refund":
            form = RefundForm(request.POST)
            if form.is_valid():
                refund = services.return_refund(
                    return_request=return_request,
                    user=request.user,
                    method=form.cleaned_data["method"],
                    reference=form.cleaned_data["reference"],
                )
                messages.success(request, f"Refunded {refund.amount} {refund.currency}.")
        elif action == "exchange":
            form = ExchangeForm(request.POST)
            if form.is_valid():
                replacement = services.return_exchange(
                    return_request=return_request,
                    lines=form.cleaned_data["lines"],
                    price_difference=form.cleaned_data["price_difference"],
                    difference_reason=form.cleaned_data["difference_reason"],
                    user=request.user,
                )
                messages.success(request, f"Replacement order {replacement.number} created.")
        elif action == "inspect":
            form = InspectForm(request.POST, return_lines=list(return_request.lines.all()))
            if form.is_valid():
                services.return_inspect(
                    return_request=return_request,
                    lines=form.inspection_lines(),
                    warehouse=form.cleaned_data["warehouse"],
                    user=request.user,
                )
        else:
            ACTIONS[action](return_request, request.user, request.POST)
    except OrderValidationError as exc:
        if form is None:
            messages.error(request, exc.message)
        else:
            add_service_errors(form, exc)
    except TransitionNotAllowedNow as exc:
        messages.error(request, exc.message)
        return redirect("returns:detail", number=number)
    if form is not None and form.errors:
        context = _detail_context(request, return_request, **{f"{action}_form": form})
        return render(request, "returns/return_detail.html", context, status=400)
    return redirect("returns:detail", number=number)


# --- the customer's page ------------------------------------------------------------------------
def customer_return(request, token):
    order = services.order_from_customer_token(token)
    if order is None:
        return render(request, "returns/customer_invalid.html", status=404)
    returnable = selectors.returnable_lines(order=order)
    opened = None
    if request.method == "POST":
        form = ReturnCreateForm(request.POST, returnable=returnable)
        if form.is_valid():
            try:
                opened = services.return_request_create(
                    order=order, lines=form.cleaned_data["lines"], source=ReturnSource.CUSTOMER
                )
            except OrderValidationError as exc:
                add_service_errors(form, exc)
        if opened is not None:
            return redirect(f"{reverse('returns:customer', args=[token])}?opened={opened.number}")
        status = 400
    else:
        form = ReturnCreateForm(returnable=returnable)
        status = 200
    returns = list(order.returns.order_by("-created_at"))
    closes_at = selectors.return_window_closes_at(
        order=order, window_days=ReturnPolicy.load().window_days
    )
    return render(
        request,
        "returns/customer_return.html",
        {
            "order": order,
            "form": form,
            "returns": returns,
            "opened": request.GET.get("opened", ""),
            "window_closes_at": closes_at,
            "window_closed": closes_at is not None and timezone.now() > closes_at,
            "support_email": settings.OMS_SUPPORT_EMAIL,
        },
        status=status,
    )
