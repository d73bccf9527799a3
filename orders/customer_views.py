"""Customer pages' actions (merge a duplicate, export a customer's data). Thin: forms and
services; the list and the customer's page are in ``orders.views``."""

import json

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from . import selectors, services
from .exceptions import OrderValidationError
from .models import Customer


class CustomerMergeForm(forms.Form):
    duplicate = forms.IntegerField(
        min_value=1,
        max_value=2**31 - 1,
        error_messages={"invalid": "Give the duplicate customer's number (#)."},
    )


@login_required
@require_POST
@permission_required("orders.change_customer", raise_exception=True)
def customer_merge(request, pk: int):
    into = get_object_or_404(Customer, pk=pk)
    form = CustomerMergeForm(request.POST)
    if not form.is_valid():
        problems = " ".join(str(m) for ms in form.errors.values() for m in ms)
        messages.error(request, f"Nothing was merged: {problems}")
        return redirect("customers:detail", pk=pk)
    duplicate = Customer.objects.filter(pk=form.cleaned_data["duplicate"]).first()
    if duplicate is None:
        messages.error(
            request, f"Nothing was merged: no customer #{form.cleaned_data['duplicate']}."
        )
        return redirect("customers:detail", pk=pk)
    try:
        merged = services.customer_merge(
            data=services.CustomerMergeInput(duplicate=duplicate, into=into), user=request.user
        )
    except OrderValidationError as exc:
        messages.error(request, f"Nothing was merged: {exc.message}")
    else:
        messages.success(
            request,
            f"{merged.removed} merged into this customer: {merged.orders_moved} order(s) moved.",
        )
    return redirect("customers:detail", pk=pk)


@login_required
@permission_required("orders.view_customer", raise_exception=True)
def customer_export(request, pk: int):
    """The customer's data as a JSON download: contact, address, orders with their lines."""
    customer = get_object_or_404(Customer, pk=pk)
    data = selectors.customer_export(customer)
    response = HttpResponse(
        json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="customer-{customer.pk}.json"'
    return response


@login_required
@require_POST
@permission_required("orders.erase_customer", raise_exception=True)
def customer_erase(request, pk: int):
    customer = get_object_or_404(Customer, pk=pk)
    if request.POST.get("confirm") != "ERASE":
        messages.error(request, "Nothing was erased: type ERASE to confirm.")
        return redirect("customers:detail", pk=pk)
    try:
        erased = services.customer_erase(customer=customer, user=request.user)
    except OrderValidationError as exc:
        messages.error(request, f"Nothing was erased: {exc.message}")
    else:
        messages.success(
            request,
            f"Personal data erased; {erased.orders_anonymised} order(s) kept for the books.",
        )
    return redirect("customers:detail", pk=pk)
