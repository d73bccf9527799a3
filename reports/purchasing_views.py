"""The *Purchasing figures* page (``/purchasing/figures/``, routed from ``oms/urls.py``): supplier
on-time rate, open purchase order value, turnover and days of cover per SKU, and stock-outs, each
with its definition, a chart where the figure is better seen than read, its table (the first
``PAGE_ROWS`` rows; the CSV export ``?export=<name>`` has all) — read from
``reports.purchasing_kpis`` (numbers) and ``reports.purchasing_formatting`` (words).

Access: whoever may see purchase orders (``purchasing.view_purchaseorder``: purchasing staff and
managers). The date range (default: the last 30 days) applies to the on-time rate and turnover;
the other figures are a picture of now. A fixed number of queries whatever the number of
suppliers and SKUs.
"""

from __future__ import annotations

import csv
import datetime
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from purchasing.replenishment import Suggestion, replenishment_suggestions
from reports import purchasing_kpis as pk
from reports.charts import Chart, bar_chart
from reports.formatting import count, csv_cell, days_axis, number, pct, rate
from reports.purchasing_formatting import PurchasingResult, definition, table
from reports.views import range_form

PAGE_ROWS = 50  # rows of a table shown on the page; the CSV export has all of them
CHART_BARS = 15  # bars of a chart: the suppliers or SKUs that matter most
CHART_CURRENCIES = 4  # open value: one chart per currency, at most this many

Figures = list[tuple[str, str]]


def amount_axis(v: float) -> str:
    return f"{v:,.0f}"


# --- sections: figures and charts of each result -----
def _on_time(r: pk.SupplierOnTime) -> tuple[Figures, list[Chart]]:
    shown = sorted(r.rows, key=lambda s: (-s.lines, s.supplier))[:CHART_BARS]
    shown.sort(key=lambda s: s.supplier)
    chart = bar_chart(
        slug="supplier_on_time",
        title="On-time rate by supplier (lines)",
        desc=f"Share of purchase order lines received in full by the expected date, "
        f"{r.lines} lines due.",
        categories=[s.supplier for s in shown],
        series=[("On time", [(s.rate or 0) * 100 for s in shown])],
        fmt=pct,
        axis_max=100,
    )
    figures = [
        ("On-time rate (lines)", rate(r.rate)),
        ("On-time rate (units)", rate(r.unit_rate)),
        ("Lines due", count(r.lines)),
        ("Suppliers", count(len(r.rows))),
    ]
    return figures, [chart]


def _open_value(r: pk.OpenPurchaseValue) -> tuple[Figures, list[Chart]]:
    figures: Figures = []
    charts = []
    for currency, value, overdue, drafts in r.totals():
        figures.append((f"Open value ({currency})", number(value)))
        figures.append((f"Overdue ({currency})", number(overdue)))
        if drafts:
            figures.append((f"On drafts ({currency})", number(drafts)))
    figures.append(("Open POs", count(sum(o.purchase_orders for o in r.rows))))
    totals = r.totals()[:CHART_CURRENCIES]
    for currency, *_ in totals:
        rows = [o for o in r.rows if o.currency == currency and o.value][:CHART_BARS]
        if not rows:
            continue
        charts.append(
            bar_chart(
                slug=f"open_value_{currency.lower()}",
                title=f"Open purchase order value by supplier ({currency})",
                desc=f"Outstanding value in {currency} per supplier, the overdue part stacked "
                "on top.",
                categories=[o.supplier for o in rows],
                series=[
                    ("Not yet due", [float(o.value - o.overdue_value) for o in rows]),
                    ("Overdue", [float(o.overdue_value) for o in rows]),
                ],
                fmt=amount_axis,
            )
        )
    return figures, charts


def _cover(r: pk.SkuCover) -> tuple[Figures, list[Chart]]:
    shown = [s for s in r.rows if s.days_of_cover is not None][:CHART_BARS]
    chart = bar_chart(
        slug="days_of_cover",
        title=f"Days of cover: the {len(shown)} SKUs with the least",
        desc="Days the units available now last at the daily demand, least first.",
        categories=[s.sku for s in shown],
        series=[("Days of cover", [float(s.days_of_cover or 0) for s in shown])],
        fmt=days_axis,
    )
    figures = [
        ("Turnover in the range (all SKUs, at cost)", number(r.turnover)),
        ("SKUs with demand", count(r.with_demand)),
        (f"Under {pk.COVER_WARNING_DAYS} days of cover", count(r.under_warning)),
    ]
    return figures, [chart]


def _stock_outs(r: pk.StockOuts) -> tuple[Figures, list[Chart]]:
    figures = [
        ("SKUs out with nothing on the way", count(len(r.rows))),
        ("Units waiting", count(r.units)),
        ("Of which on a draft PO", count(sum(1 for s in r.rows if s.in_drafts))),
    ]
    return figures, []


@dataclass(frozen=True)
class Section:
    title: str
    ranged: bool  # the date range applies
    compute: Callable[[datetime.date, datetime.date, Sequence[Suggestion]], PurchasingResult]
    show: Callable[[Any], tuple[Figures, list[Chart]]]


SECTIONS: dict[str, Section] = {
    "supplier_on_time": Section(
        "Supplier on-time rate",
        True,
        lambda start, end, _s: pk.kpi_supplier_on_time(start=start, end=end),
        _on_time,
    ),
    "open_po_value": Section(
        "Open purchase order value by supplier",
        False,
        lambda _start, _end, _s: pk.kpi_open_po_value(),
        _open_value,
    ),
    "sku_cover": Section(
        "Inventory turnover and days of cover per SKU",
        True,
        lambda start, end, s: pk.kpi_sku_cover(start=start, end=end, suggestions=s),
        _cover,
    ),
    "stock_outs": Section(
        "Stock-outs: backordered, nothing on the way",
        False,
        lambda _start, _end, s: pk.kpi_stock_outs(suggestions=s),
        _stock_outs,
    ),
}
NEEDS_SUGGESTIONS = {"sku_cover", "stock_outs"}


def _csv(
    name: str, result: PurchasingResult, start: datetime.date, end: datetime.date
) -> HttpResponse:
    header, rows = table(result)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    stamp = (
        f"{start.isoformat()}_{end.isoformat()}"
        if SECTIONS[name].ranged
        else (timezone.localdate().isoformat())
    )
    response["Content-Disposition"] = f'attachment; filename="{name}_{stamp}.csv"'
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows([csv_cell(value) for value in row] for row in rows)
    return response


def _bad_request(text: str) -> HttpResponse:
    return HttpResponse(text, status=400, content_type="text/plain; charset=utf-8")


@login_required
@permission_required("purchasing.view_purchaseorder", raise_exception=True)
def purchasing_figures(request: HttpRequest) -> HttpResponse:
    form = range_form(request.GET)
    export = request.GET.get("export")
    if export is not None and export not in SECTIONS:
        return _bad_request(f"Unknown table {export!r}; choose one of: {', '.join(SECTIONS)}.")
    valid = form.is_valid()
    start: datetime.date | None = form.cleaned_data["start"] if valid else None
    end: datetime.date | None = form.cleaned_data["end"] if valid else None
    if export is not None:
        if start is None or end is None:
            problems = "; ".join(
                f"{name}: {' '.join(str(e) for e in errors)}"
                for name, errors in form.errors.items()
            )
            return _bad_request(f"Invalid date range: {problems}")
        suggestions = (
            replenishment_suggestions(only_needed=False) if export in NEEDS_SUGGESTIONS else []
        )
        return _csv(export, SECTIONS[export].compute(start, end, suggestions), start, end)

    sections: list[dict[str, Any]] = []
    if start is not None and end is not None:
        suggestions = replenishment_suggestions(only_needed=False)
        for name, spec in SECTIONS.items():
            result = spec.compute(start, end, suggestions)
            figures, charts = spec.show(result)
            header, rows = table(result)
            sections.append(
                {
                    "name": name,
                    "title": spec.title,
                    "ranged": spec.ranged,
                    "definition": definition(result),
                    "figures": figures,
                    "charts": charts,
                    "header": header,
                    "rows": rows[:PAGE_ROWS],
                    "total_rows": len(rows),
                }
            )
    return render(
        request,
        "reports/purchasing_figures.html",
        {
            "form": form,
            "sections": sections,
            "start": start,
            "end": end,
            "query": f"start={start.isoformat()}&end={end.isoformat()}" if start and end else "",
            "page_rows": PAGE_ROWS,
            "time_zone": timezone.get_current_timezone_name(),
        },
        status=200 if valid else 400,
    )
