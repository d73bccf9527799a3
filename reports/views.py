"""The managers' dashboard: KPIs of ``reports.kpis`` as server-rendered SVG charts with their
tables, definitions, a date range and a CSV export of every table (``?export=<table>``).

Access: managers only — superusers, or active users in the group "Managers" (created by
``manage.py setup_groups``) who also hold ``orders.view_order`` and
``inventory.view_stockmovement`` (the data the page reveals). Anyone else logged in gets 403;
anonymous visitors are sent to the login page.

Charts are plain inline SVG (no JavaScript, no CDN): each has a ``<title>`` and ``<desc>``,
each bar a ``<title>`` with its value (shown on hover and read by screen readers), and the
table underneath gives the same numbers for print and export.
"""

from __future__ import annotations

import csv
import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.roles import is_manager
from reports import kpis
from reports.charts import Chart, bar_chart
from reports.formatting import (
    count,
    csv_cell,
    day,
    days_axis,
    days_text,
    definition,
    number,
    pct,
    plain,
    rate,
    table,
)

DEFAULT_DAYS = 30
# What each section of the page shows above its table: (label, figure) pairs and a chart.
Section = tuple[list[tuple[str, str]], Chart]

PAGE_ROWS = 50  # rows of a long table shown on the page; the CSV export has all of them


# --- the date range -----
class DateRangeForm(forms.Form):
    start = forms.DateField(
        label="From", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    end = forms.DateField(
        label="To (inclusive)",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    EARLIEST = datetime.date(2000, 1, 1)
    LATEST = datetime.date(2100, 12, 31)

    @classmethod
    def default_range(cls) -> dict[str, datetime.date]:
        today = timezone.localdate()
        return {"start": today - datetime.timedelta(days=DEFAULT_DAYS - 1), "end": today}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        for name, value in (("start", start), ("end", end)):
            if value is not None and not self.EARLIEST <= value <= self.LATEST:
                self.add_error(
                    name,
                    f"Choose a date between {self.EARLIEST.isoformat()} and "
                    f"{self.LATEST.isoformat()}.",
                )
                return data
        if start and end:
            if start > end:
                self.add_error("end", "The end date must be on or after the start date.")
            elif (end - start).days + 1 > kpis.MAX_RANGE_DAYS:
                self.add_error(
                    "end",
                    f"The range covers {(end - start).days + 1} days; choose at most "
                    f"{kpis.MAX_RANGE_DAYS}.",
                )
        return data


def range_form(params: Mapping[str, str]) -> DateRangeForm:
    """The form bound to the query string, or to the default range (last 30 days)."""
    if "start" in params or "end" in params:
        return DateRangeForm({"start": params.get("start", ""), "end": params.get("end", "")})
    default = DateRangeForm.default_range()
    return DateRangeForm({k: v.isoformat() for k, v in default.items()})


# --- sections: one per KPI -----
def _orders_per_day(r: kpis.OrdersPerDay) -> Section:
    series = r.series() or [("Orders", [0] * len(r.days))]
    chart = bar_chart(
        slug="orders_per_day",
        title="Orders placed per day by channel",
        desc=f"Stacked bars, {r.total} orders in {len(r.days)} days.",
        categories=[day(d) for d in r.days],
        series=series,
        fmt=plain,
    )
    days = max(len(r.days), 1)
    return [("Orders placed", count(r.total)), ("Per day", f"{r.total / days:.1f}")], chart


def _cycle_time(r: kpis.CycleTime) -> Section:
    chart = bar_chart(
        slug="cycle_time",
        title="Order cycle time (placed → delivered)",
        desc=f"Orders delivered in the range by cycle time, {r.orders} orders.",
        categories=[label for label, _n in r.buckets],
        series=[("Orders", [n for _l, n in r.buckets])],
    )
    figures = [
        ("Orders delivered", count(r.orders)),
        ("Median", days_text(r.median)),
        ("90th percentile", days_text(r.p90)),
    ]
    return figures, chart


def _on_time(r: kpis.OnTimeShipment) -> Section:
    chart = bar_chart(
        slug="on_time_shipment",
        title="On-time shipment rate by promised ship date",
        desc=f"Share shipped on time per promised ship date, {r.orders} orders.",
        categories=[day(d) for d, _n, _ok in r.days],
        series=[("On time", [(kpis.ratio(ok, n) or 0) * 100 for _d, n, ok in r.days])],
        fmt=pct,
        axis_max=100,
    )
    figures = [
        ("On-time shipment rate", rate(r.rate)),
        ("Orders measured", count(r.orders)),
        ("Shipped on time", count(r.on_time)),
    ]
    return figures, chart


def _fill_rate(r: kpis.FillRate) -> Section:
    chart = bar_chart(
        slug="fill_rate",
        title="Order fill rate at first inventory check by channel",
        desc="Share of orders whose first inventory check reserved every unit, per channel.",
        categories=[c[0] for c in r.channels],
        series=[("Order fill rate", [(kpis.ratio(c[2], c[1]) or 0) * 100 for c in r.channels])],
        fmt=pct,
        axis_max=100,
    )
    figures = [
        ("Order fill rate", rate(r.order_fill_rate)),
        ("Unit fill rate", rate(r.unit_fill_rate)),
        ("Orders checked", count(r.orders)),
    ]
    return figures, chart


def _backorders(r: kpis.BackorderRate) -> Section:
    chart = bar_chart(
        slug="backorder_rate",
        title="Backorder rate by day placed",
        desc=f"Share of orders backordered per day placed, {r.orders} orders checked.",
        categories=[day(d) for d, _n, _b in r.days],
        series=[("Backordered", [(kpis.ratio(b, n) or 0) * 100 for _d, n, b in r.days])],
        fmt=pct,
        axis_max=100,
    )
    figures = [
        ("Backorder rate", rate(r.rate)),
        ("Orders backordered", count(r.backordered)),
        ("Units still waiting", count(r.units_waiting)),
    ]
    return figures, chart


def _perfect(r: kpis.PerfectOrders) -> Section:
    chart = bar_chart(
        slug="perfect_orders",
        title="Perfect orders and why the others were not",
        desc=f"Of {r.orders} orders delivered in the range.",
        categories=["Perfect", "Late", "Incomplete", "Claim return"],
        series=[("Orders", [r.perfect, r.late, r.incomplete, r.claimed])],
    )
    figures = [("Perfect order rate", rate(r.rate)), ("Orders delivered", count(r.orders))]
    return figures, chart


def _returns(r: kpis.ReturnRate) -> Section:
    chart = bar_chart(
        slug="return_rate",
        title="Units returned by reason",
        desc=f"{r.units} units asked back, {r.units_shipped} units shipped in the range.",
        categories=[label for _c, label, _u, _n in r.reasons],
        series=[("Units", [u for _c, _l, u, _n in r.reasons])],
    )
    figures = [
        ("Return rate", rate(r.rate)),
        ("Units returned", count(r.units)),
        ("Units shipped", count(r.units_shipped)),
    ]
    return figures, chart


def _inventory(r: kpis.InventoryTurnover) -> Section:
    warehouses = r.warehouses()
    chart = bar_chart(
        slug="inventory_turnover",
        title="Days of inventory by warehouse",
        desc="Days the average stock lasts at the range's pace of shipping, per warehouse.",
        categories=[w[0] for w in warehouses],
        series=[("Days of inventory", [w[4] or 0 for w in warehouses])],
        fmt=days_axis,
    )
    figures = [
        ("COGS", number(r.cogs)),
        ("Average inventory value", number(r.average_value)),
        ("Turnover", number(r.turnover)),
        ("Days of inventory", number(r.days_of_inventory, 0)),
    ]
    return figures, chart


def _late(r: kpis.LateOrders) -> Section:
    chart = bar_chart(
        slug="late_orders",
        title="Late orders now by status",
        desc=f"{r.count} open orders past their promised ship date on {r.today.isoformat()}.",
        categories=[label for label, _n in r.by_status] or ["None"],
        series=[("Orders", [n for _l, n in r.by_status] or [0])],
    )
    return [("Late orders now", count(r.count))], chart


@dataclass(frozen=True)
class Table:
    title: str
    compute: Callable[..., kpis.KpiResult]  # kpi function
    section: Callable[[Any], Section]  # builds (figures, chart) from the result


TABLES: dict[str, Table] = {
    "orders_per_day": Table("Orders per day by channel", kpis.kpi_orders_per_day, _orders_per_day),
    "cycle_time": Table("Order cycle time", kpis.kpi_cycle_time, _cycle_time),
    "on_time_shipment": Table("On-time shipment rate", kpis.kpi_on_time_shipment, _on_time),
    "fill_rate": Table("Fill rate at first inventory check", kpis.kpi_fill_rate, _fill_rate),
    "backorder_rate": Table("Backorder rate", kpis.kpi_backorder_rate, _backorders),
    "perfect_orders": Table("Perfect order rate", kpis.kpi_perfect_orders, _perfect),
    "return_rate": Table("Return rate by reason", kpis.kpi_return_rate, _returns),
    "inventory_turnover": Table(
        "Inventory turnover and days of inventory", kpis.kpi_inventory_turnover, _inventory
    ),
    "late_orders": Table("Late orders now", kpis.kpi_late_orders, _late),
}


def _compute(
    name: str, start: datetime.date, end: datetime.date, *, export: bool = False
) -> kpis.KpiResult:
    if name == "late_orders" and export:
        return kpis.kpi_late_orders(start=start, end=end, limit=None)
    return TABLES[name].compute(start=start, end=end)


# --- views -----
def _csv(name: str, start: datetime.date, end: datetime.date) -> HttpResponse:
    header, rows = table(_compute(name, start, end, export=True))
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"{name}_{start.isoformat()}_{end.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(header)
    # Product names and references are text people typed: neutralised like every export.
    writer.writerows([csv_cell(value) for value in row] for row in rows)
    return response


def _bad_request(text: str) -> HttpResponse:
    return HttpResponse(text, status=400, content_type="text/plain; charset=utf-8")


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    if not is_manager(request.user):
        raise PermissionDenied("The dashboard is for managers.")
    form = range_form(request.GET)
    export = request.GET.get("export")
    if export is not None:
        if export not in TABLES:
            return _bad_request(f"Unknown table {export!r}; choose one of: {', '.join(TABLES)}.")
        if not form.is_valid():
            problems = "; ".join(
                f"{name}: {' '.join(str(e) for e in errors)}"
                for name, errors in form.errors.items()
            )
            return _bad_request(f"Invalid date range: {problems}")
        return _csv(export, form.cleaned_data["start"], form.cleaned_data["end"])

    sections: list[dict[str, Any]] = []
    start: datetime.date | None = None
    end: datetime.date | None = None
    if form.is_valid():
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
        for name, spec in TABLES.items():
            result = _compute(name, start, end)
            figures, chart = spec.section(result)
            header, rows = table(result)
            sections.append(
                {
                    "name": name,
                    "title": spec.title,
                    "definition": definition(result),
                    "figures": figures,
                    "chart": chart,
                    "header": header,
                    "rows": rows[:PAGE_ROWS],
                    "total_rows": len(rows),
                }
            )
    status = 200 if form.is_valid() else 400
    context = {
        "form": form,
        "sections": sections,
        "start": start,
        "end": end,
        "query": f"start={start.isoformat()}&end={end.isoformat()}" if start and end else "",
        "page_rows": PAGE_ROWS,
        "time_zone": timezone.get_current_timezone_name(),
    }
    return render(request, "reports/dashboard.html", context, status=status)
