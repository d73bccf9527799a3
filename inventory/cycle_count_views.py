"""Count sheet pages (``/stock/counts/...``): the list, a new sheet, counting (enter and save the
counts), the printable sheet, cancelling. Posting changes orders, so its view is in
``orders.stock_views.cycle_count_post`` (routed from ``oms/urls.py``); it renders the sheet page
from here on an error."""

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from core.errors import DomainError, error_messages
from core.forms import add_service_errors

from .cycle_counts import (
    BIN_MAX_LENGTH,
    REASON_MAX_LENGTH,
    CycleCountInput,
    counted_problem,
    cycle_count_cancel,
    cycle_count_counts_save,
    cycle_count_create,
    cycle_count_detail,
)
from .models import CycleCount, CycleCountLine, CycleCountStatus, Warehouse

PAGE_SIZE = 50


class CycleCountForm(forms.Form):
    warehouse = forms.ModelChoiceField(
        queryset=Warehouse.objects.filter(is_active=True), to_field_name="code"
    )
    bin_from = forms.CharField(
        label="From bin",
        max_length=BIN_MAX_LENGTH,
        required=False,
        help_text="Blank: from the first bin (rows without a bin included).",
    )
    bin_to = forms.CharField(
        label="To bin",
        max_length=BIN_MAX_LENGTH,
        required=False,
        help_text="Included, with the bins that start with it; blank: to the last bin.",
    )
    reason = forms.CharField(
        max_length=REASON_MAX_LENGTH,
        required=False,
        help_text='Kept in the stock ledger with each variance; blank: "Cycle count".',
    )


class PostForm(forms.Form):
    reason = forms.CharField(max_length=REASON_MAX_LENGTH, required=False)


@login_required
@permission_required("inventory.view_cyclecount", raise_exception=True)
def cycle_count_list(request: HttpRequest) -> HttpResponse:
    qs = CycleCount.objects.select_related("warehouse", "created_by", "posted_by").order_by("-pk")
    status = request.GET.get("status", "")
    if status in CycleCountStatus.values:
        qs = qs.filter(status=status)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "inventory/cycle_count_list.html",
        {"page": page, "status": status, "statuses": CycleCountStatus.choices},
    )


@login_required
@permission_required("inventory.add_cyclecount", raise_exception=True)
def cycle_count_new(request: HttpRequest) -> HttpResponse:
    active = list(Warehouse.objects.filter(is_active=True).values_list("code", flat=True)[:2])
    initial = request.GET.get("warehouse") or (active[0] if len(active) == 1 else None)
    form = CycleCountForm(request.POST or None, initial={"warehouse": initial})
    if request.method == "POST" and form.is_valid():
        try:
            created = cycle_count_create(
                data=CycleCountInput(
                    warehouse=form.cleaned_data["warehouse"].code,
                    bin_from=form.cleaned_data["bin_from"],
                    bin_to=form.cleaned_data["bin_to"],
                    reason=form.cleaned_data["reason"],
                ),
                user=request.user,
            )
        except DomainError as exc:
            add_service_errors(form, exc)
        else:
            sheet = created.cycle_count
            messages.success(
                request, f"Count sheet {sheet.number}: {len(created.lines)} stock rows to count."
            )
            return redirect("inventory:count", number=sheet.number)
    return render(
        request,
        "inventory/cycle_count_new.html",
        {"form": form},
        status=400 if form.is_bound else 200,
    )


def _parse_count(raw: str) -> tuple[int | None, str | None]:
    """A typed count: (value, None), (None, None) when blank, (None, problem) when bad."""
    raw = raw.strip()
    if not raw:
        return None, None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        return None, counted_problem(-1)
    value = int(raw)
    return value, counted_problem(value)


def _shown(raw: str) -> dict[int, str]:
    """The counts the page showed when it was loaded: ``id:value,id:,...``."""
    shown: dict[int, str] = {}
    for part in raw.split(","):
        key, _, value = part.partition(":")
        if key.isascii() and key.isdigit() and len(key) < 19:
            shown[int(key)] = value
    return shown


def _money(lines: list[CycleCountLine]) -> dict[str, dict[str, Decimal]]:
    """Currency → {"cost": ..., "price": ...} of the variances."""
    totals: dict[str, dict[str, Decimal]] = {}
    for line in lines:
        if not line.variance:
            continue
        product = line.stock_level.product
        total = totals.setdefault(product.currency, {"cost": Decimal(0), "price": Decimal(0)})
        total["cost"] += line.variance * product.cost_price
        total["price"] += line.variance * product.unit_price
    return totals


def render_sheet(
    request: HttpRequest,
    sheet: CycleCount,
    *,
    errors: dict[int, str] | None = None,
    typed: dict[int, str] | None = None,
    post_form: PostForm | None = None,
    problems: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The sheet page: counting while open, the variances once posted."""
    detail = cycle_count_detail(sheet)
    errors, typed = errors or {}, typed or {}
    rows: list[dict[str, Any]] = []
    for line in detail.lines:
        level = line.stock_level
        value = typed.get(line.pk, "" if line.counted is None else str(line.counted))
        rows.append(
            {
                "line": line,
                "level": level,
                "value": value,
                "error": errors.get(line.pk, ""),
                "now": level.on_hand,
                "moved": (line.on_hand_posted if line.on_hand_posted is not None else level.on_hand)
                != line.on_hand_snapshot,
                "preview": None if line.counted is None else line.counted - level.on_hand,
                "cost": None if not line.variance else line.variance * level.product.cost_price,
                "price": None if not line.variance else line.variance * level.product.unit_price,
            }
        )
    counted = [line for line in detail.lines if line.counted is not None]
    return render(
        request,
        "inventory/cycle_count_detail.html",
        {
            "sheet": sheet,
            "rows": rows,
            "open": sheet.status == CycleCountStatus.OPEN,
            "posted": sheet.status == CycleCountStatus.POSTED,
            "shown": ",".join(
                f"{line.pk}:{'' if line.counted is None else line.counted}" for line in detail.lines
            ),
            "counted": len(counted),
            "variances": [line for line in counted if line.variance],
            "units": sum(line.variance or 0 for line in counted),
            "uncounted": [line for line in detail.lines if line.counted is None],
            "totals": _money(counted),
            "post_form": post_form or PostForm(initial={"reason": sheet.reason}),
            "problems": problems or [],
        },
        status=status,
    )


def sheet_for(number: str) -> CycleCount:
    sheet: CycleCount = get_object_or_404(
        CycleCount.objects.select_related("warehouse", "created_by", "posted_by"), number=number
    )
    return sheet


@login_required
@permission_required("inventory.view_cyclecount", raise_exception=True)
def cycle_count_page(request: HttpRequest, number: str) -> HttpResponse:
    """GET: the sheet. POST (``inventory.change_cyclecount``): save the counts typed; only the
    rows whose count differs from what the page showed are written."""
    sheet = sheet_for(number)
    if request.method != "POST":
        return render_sheet(request, sheet)
    if not request.user.has_perm("inventory.change_cyclecount"):
        raise PermissionDenied
    shown = _shown(request.POST.get("shown", ""))
    counts: dict[int, int | None] = {}
    errors: dict[int, str] = {}
    typed: dict[int, str] = {}
    for key in request.POST:
        raw = request.POST.get(key, "")
        if not key.startswith("line-"):
            continue
        suffix = key.removeprefix("line-")
        if not (suffix.isascii() and suffix.isdigit() and len(suffix) < 19):
            continue
        line_id = int(suffix)
        typed[line_id] = raw
        value, problem = _parse_count(raw)
        if problem:
            errors[line_id] = problem
        elif line_id not in shown or shown[line_id] != raw.strip():
            counts[line_id] = value
    if errors:
        return render_sheet(
            request,
            sheet,
            errors=errors,
            typed=typed,
            problems=["Some counts are not numbers of units: nothing was saved."],
            status=400,
        )
    try:
        saved = cycle_count_counts_save(cycle_count_id=sheet.pk, counts=counts, user=request.user)
    except DomainError as exc:
        bad = {
            int(field.removeprefix("line-")): " ".join(msgs)
            for field, msgs in (exc.fields or {}).items()
            if field.startswith("line-")
        }
        return render_sheet(
            request,
            sheet_for(number),
            errors=bad,
            typed=typed,
            problems=[exc.message] if not bad else error_messages(exc.fields),
            status=exc.http_status,
        )
    done = sum(1 for line in saved.lines if line.counted is not None)
    messages.success(
        request,
        f"Saved {len(counts)} counts; {done} of {len(saved.lines)} rows counted. "
        "Stock is unchanged until the sheet is posted.",
    )
    return redirect("inventory:count", number=number)


@login_required
@permission_required("inventory.view_cyclecount", raise_exception=True)
def cycle_count_print(request: HttpRequest, number: str) -> HttpResponse:
    """The sheet on paper, for counting by hand: bins and SKUs, no figures (a blind count)."""
    sheet = sheet_for(number)
    return render(
        request,
        "inventory/cycle_count_print.html",
        {"sheet": sheet, "lines": cycle_count_detail(sheet).lines},
    )


@login_required
@permission_required("inventory.cancel_cyclecount", raise_exception=True)
@require_POST
def cycle_count_cancel_view(request: HttpRequest, number: str) -> HttpResponse:
    sheet = sheet_for(number)
    try:
        cycle_count_cancel(cycle_count_id=sheet.pk, user=request.user)
    except DomainError as exc:
        return render_sheet(request, sheet, problems=[exc.message], status=exc.http_status)
    messages.success(request, f"Count sheet {sheet.number} cancelled; stock is unchanged.")
    return redirect("inventory:count", number=number)
