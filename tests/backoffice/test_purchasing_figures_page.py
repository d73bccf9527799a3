"""The *Purchasing figures* page (/purchasing/figures/): the hand-computed history of
tests/reports/test_purchasing_figures.py as Purchasing staff read it, who else may see it, the
CSV exports, and a number of queries that does not grow with suppliers and SKUs."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from purchasing.services import supplier_create, supplier_product_upsert
from tests.factories import ProductFactory, UserFactory, place
from tests.reports.test_purchasing_figures import TODAY, _po, purchasing_history

pytestmark = pytest.mark.django_db

URL = reverse("purchasing_figures")
RANGE = {"start": "2026-03-01", "end": "2026-03-31"}


@pytest.fixture
def history(settings):
    return purchasing_history(settings)


@pytest.fixture
def today():
    with time_machine.travel(TODAY, tick=False):
        yield


def member(group: str):
    call_command("setup_groups", stdout=io.StringIO())
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def buyer(client):
    client.force_login(member("Purchasing staff"))


def test_purchasing_staff_read_every_figure_with_its_definition(history, today, buyer, client):
    response = client.get(URL, RANGE)
    assert response.status_code == 200
    page = response.content.decode()
    for title in (
        "Supplier on-time rate",
        "Open purchase order value by supplier",
        "Inventory turnover and days of cover per SKU",
        "Stock-outs: backordered, nothing on the way",
    ):
        assert f">{title}" in page
    assert page.count("<strong>Definition.</strong>") == 4
    assert "whole quantity was received on or before the PO&#x27;s expected date" in page
    # The figures of the hand-computed history.
    assert "<dt>On-time rate (lines)</dt><dd>50.0 %</dd>" in page
    assert "<dt>On-time rate (units)</dt><dd>52.0 %</dd>" in page
    assert "<dt>Open value (EUR)</dt><dd>15.00</dd>" in page
    assert "<dt>Overdue (EUR)</dt><dd>15.00</dd>" in page
    assert "<dt>Open value (GBP)</dt><dd>16.50</dd>" in page
    assert "<dt>SKUs out with nothing on the way</dt><dd>2</dd>" in page
    assert "<td>GHOST</td>" in page and "<td>LAMP</td>" in page
    assert "over the last 28 days" in page
    # Charts: on-time by supplier, open value per currency (2), days of cover.
    assert page.count("<svg") == 4
    assert "<title>ACME: 25 %</title>" in page and "<title>BOLT: 100 %</title>" in page
    assert "<title>MUG: 105 d</title>" in page


def test_the_figures_link_is_on_the_purchasing_pages(history, buyer, client):
    assert f'href="{URL}"' in client.get(reverse("purchasing:suppliers")).content.decode()


@pytest.mark.parametrize(
    ("group", "status"), [("Managers", 200), ("Warehouse staff", 403), (None, 403)]
)
def test_who_may_see_the_figures(db, client, group, status):
    client.force_login(member(group) if group else UserFactory())
    assert client.get(URL).status_code == status


def test_anonymous_visitors_go_to_the_login_page(db, client):
    response = client.get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_csv_exports(history, today, buyer, client):
    response = client.get(URL, {**RANGE, "export": "supplier_on_time"})
    assert response.status_code == 200
    assert (
        'filename="supplier_on_time_2026-03-01_2026-03-31.csv"' in (response["Content-Disposition"])
    )
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:5] == ["supplier", "name", "lines_due", "lines_on_time", "on_time_rate_pct"]
    assert rows[1:] == [
        ["ACME", "Acme", "4", "1", "25.0", "42", "18", "42.9"],
        ["BOLT", "Bolt", "2", "2", "100.0", "8", "8", "100.0"],
    ]
    response = client.get(URL, {"export": "open_po_value"})
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[1] == ["ACME", "Acme", "EUR", "1", "5", "15.00", "15.00", "60.00"]
    response = client.get(URL, {"export": "stock_outs"})
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert [r[0] for r in rows[1:]] == ["GHOST", "LAMP"]


@pytest.mark.parametrize(
    "query",
    [
        {"export": "everything"},
        {"export": "sku_cover", "start": "2026-13-01", "end": "2026-03-01"},
        {"export": "sku_cover", "start": "2026-03-02", "end": "2026-03-01"},
    ],
)
def test_bad_exports_are_400(db, buyer, client, query):
    assert client.get(URL, query).status_code == 400


def test_a_bad_range_is_a_400_page(db, buyer, client):
    response = client.get(URL, {"start": "yesterday", "end": "9999999999"})
    assert response.status_code == 400
    assert "Choose a valid date range" in response.content.decode()
    assert client.get(URL, {"start": "\x00"}).status_code == 400  # refused before the page


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(URL, RANGE)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_queries_do_not_grow_with_suppliers_and_skus(history, buyer, client, settings):
    with time_machine.travel(TODAY, tick=False):
        few = _queries(client)
    with time_machine.travel(datetime.datetime(2026, 3, 19, 12, tzinfo=datetime.UTC)):
        for i in range(6):
            supplier = supplier_create(code=f"S{i}", name=f"S {i}", email=f"s{i}@x.test")
            product = ProductFactory(sku=f"NEW-{i}")
            supplier_product_upsert(supplier=supplier, product=product, unit_cost=Decimal("1"))
            _po(f"S{i}", datetime.date(2026, 3, 30), {product: 3})
            if i % 2:
                place({ProductFactory(sku=f"OUT-{i}"): 1})
    with time_machine.travel(TODAY, tick=False):
        many = _queries(client)
    assert many == few
