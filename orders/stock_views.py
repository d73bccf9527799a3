"""Stock pages that change orders: receiving stock (which fills backorders), recording a count
and posting a count sheet (which may send reservations back to backorders). They are
inventory's pages (``/stock/...``, routed from ``oms/urls.py``) but call orders' services, so
they live here: a view lives in the lowest app whose services it calls."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from core.errors import DomainError, error_messages
from inventory import cycle_count_views
from inventory.exceptions import InventoryError
from inventory.forms import ReceiptForm, ReceiptLineFormSet, StockAdjustForm, StockCountForm
from inventory.models import StockLevel
from orders.cycle_counts import cycle_count_post as cycle_count_post_service
from orders.exceptions import OrderValidationError
from orders.services import stock_receipt_record
from orders.stock_counts import stock_count_record


@login_required
@permission_required("inventory.add_stockmovement", raise_exception=True)
def receive(request):
    form = ReceiptForm(request.POST or None)
    lines = ReceiptLineFormSet(request.POST or None, prefix="lines")
    if request.method == "POST" and form.is_valid() and lines.is_valid():
        try:
            movements, filled = stock_receipt_record(
                warehouse=form.cleaned_data["warehouse"],
                lines=lines.pairs(),  # type: ignore[attr-defined]  # the formset class's own
                user=request.user,
                reference=form.cleaned_data["reference"],
            )
        except InventoryError as exc:
            form.add_error(None, exc.message)
        else:
            units = sum(m.quantity for m in movements)
            text = f"Received {units} units into {form.cleaned_data['warehouse'].code}."
            if filled:
                text += " Backorders filled: " + ", ".join(o.number for o in filled) + "."
            messages.success(request, text)
            return redirect("inventory:stock")
    return render(request, "inventory/receive.html", {"form": form, "lines": lines})


@login_required
@permission_required("inventory.change_stocklevel", raise_exception=True)
def stock_count(request, pk: int):
    """Record a count from the adjust page (inventory's page; the count changes orders)."""
    level = get_object_or_404(StockLevel.objects.select_related("product", "warehouse"), pk=pk)
    if request.method != "POST":
        return redirect("inventory:adjust", pk=pk)
    form = StockCountForm(request.POST)
    if form.is_valid():
        try:
            result = stock_count_record(
                warehouse=level.warehouse,
                sku=level.product,
                counted=form.cleaned_data["counted"],
                reason=form.cleaned_data["reason"],
                user=request.user,
            )
        except OrderValidationError as exc:
            for field, errors in exc.errors.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            text = f"{level}: counted {result.counted} (was {result.previous_on_hand})."
            if result.backordered:
                text += (
                    f" {result.units_backordered} reserved units went back to backorders: "
                    + ", ".join(result.backordered)
                    + "."
                )
            messages.success(request, text)
            return redirect("inventory:ledger", sku=level.product.sku)
    return render(
        request,
        "inventory/stock_adjust.html",
        {"level": level, "form": StockAdjustForm(), "count_form": form},
        status=400,
    )


@login_required
@permission_required("inventory.post_cyclecount", raise_exception=True)
@require_POST
def cycle_count_post(request, number: str):
    """Post a count sheet (inventory's page; posting may send reservations to backorders)."""
    sheet = cycle_count_views.sheet_for(number)
    form = cycle_count_views.PostForm(request.POST)
    if not form.is_valid():
        return cycle_count_views.render_sheet(request, sheet, post_form=form, status=400)
    try:
        posted = cycle_count_post_service(
            cycle_count_id=sheet.pk, reason=form.cleaned_data["reason"], user=request.user
        )
    except DomainError as exc:
        return cycle_count_views.render_sheet(
            request,
            cycle_count_views.sheet_for(number),
            post_form=form,
            problems=error_messages(exc.fields) if exc.fields else [exc.message],
            status=exc.http_status,
        )
    text = (
        f"{number} posted: {len(posted.variances)} variances written to the stock ledger, "
        f"{len(posted.uncounted)} row{'' if len(posted.uncounted) == 1 else 's'} not counted "
        "left alone."
    )
    if posted.backordered:
        units = sum(q for skus in posted.backordered.values() for q in skus.values())
        text += f" {units} reserved units went back to backorders: " + ", ".join(posted.backordered)
        text += "."
    messages.success(request, text)
    return redirect("inventory:count", number=number)
