"""The order desk's export (issue 15, bulk work): the filtered list, every page of it, as CSV or
Excel, with human headers and the currency of each amount; formulas escaped; the queries do not
grow with the orders."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from orders import views
from orders.models import Customer, Order, OrderStatus
from tests.factories import ProductFactory, WarehouseFactory, place, receive

pytestmark = pytest.mark.django_db

HEADER = [
    "Order number",
    "Placed",
    "Reference",
    "Customer",
    "E-mail",
    "Channel",
    "Status",
    "Ship by",
    "Late",
    "Total",
    "Currency",
]


@pytest.fixture
def cap():
    product = ProductFactory(sku="CAP-1", unit_price="12.50")
    receive(WarehouseFactory(code="LDS"), {product: 1000})
    return product


def orders(product, n: int) -> list[Order]:
    return [place({product: 1}, email=f"c{i}@example.com") for i in range(n)]


def csv_rows(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")  # Excel reads it as UTF-8
    return list(csv.reader(io.StringIO(text[1:])))


def test_csv_holds_every_page_of_the_filtered_list(client, clerk, cap, monkeypatch):
    placed = orders(cap, 4)
    held = placed[1]
    Order.objects.filter(pk=held.pk).update(status=OrderStatus.ON_HOLD)
    monkeypatch.setattr(views, "PAGE_SIZE", 1)  # the page shows one order; the export all
    response = client.get("/orders/export/?format=csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="orders-')
    rows = csv_rows(response)
    assert rows[0] == HEADER
    assert sorted(r[0] for r in rows[1:]) == sorted(o.number for o in placed)
    # Filters: only the orders the list shows with them.
    rows = csv_rows(client.get("/orders/export/?status=allocated&format=csv"))
    assert sorted(r[0] for r in rows[1:]) == sorted(o.number for o in placed if o != held)
    row = rows[1]
    assert row[HEADER.index("Status")] == "Allocated"
    assert row[HEADER.index("Total")] == "12.50"
    assert row[HEADER.index("Currency")] == placed[0].currency == "EUR"
    assert row[HEADER.index("Customer")] == "Ada Park"


def test_export_keeps_the_lists_order(client, clerk, cap):
    placed = orders(cap, 3)
    rows = csv_rows(client.get("/orders/export/?ordering=number&format=csv"))
    assert [r[0] for r in rows[1:]] == sorted(o.number for o in placed)
    rows = csv_rows(client.get("/orders/export/?ordering=-number&format=csv"))
    assert [r[0] for r in rows[1:]] == sorted((o.number for o in placed), reverse=True)


def test_list_page_links_the_export_with_its_filters(client, clerk, cap):
    orders(cap, 1)
    page = client.get("/orders/?status=allocated").content.decode()
    assert 'href="/orders/export/?status=allocated&amp;format=csv"' in page
    assert 'href="/orders/export/?status=allocated&amp;format=xlsx"' in page
    page = client.get("/orders/").content.decode()
    assert 'href="/orders/export/?format=csv"' in page


def test_xlsx_has_the_same_rows_and_text_never_a_formula(client, clerk, cap):
    placed = orders(cap, 2)
    Customer.objects.filter(pk=placed[0].customer_id).update(name='=HYPERLINK("http://x","y")')
    response = client.get("/orders/export/?format=xlsx")
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0] == HEADER
    assert sorted(r[0] for r in rows[1:]) == sorted(o.number for o in placed)
    names = [row[HEADER.index("Customer")] for row in sheet.iter_rows(min_row=2)]
    assert {cell.data_type for cell in names} == {"s"}  # a string, not a formula ("f")
    assert '=HYPERLINK("http://x","y")' in {cell.value for cell in names}
    totals = {row[HEADER.index("Total")].value for row in sheet.iter_rows(min_row=2)}
    assert totals == {12.5}  # a number the spreadsheet can add up


def test_csv_escapes_formulas(client, clerk, cap):
    placed = orders(cap, 1)
    Customer.objects.filter(pk=placed[0].customer_id).update(name="=1+2", email="@x.example")
    row = csv_rows(client.get("/orders/export/?format=csv"))[1]
    assert row[HEADER.index("Customer")] == "'=1+2"
    assert row[HEADER.index("E-mail")] == "'@x.example"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_queries_do_not_grow_with_the_orders(client, clerk, cap, fmt):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/orders/export/?status=allocated&format={fmt}")
            body = b"".join(response.streaming_content) if fmt == "csv" else response.content
        assert body
        return len(queries)

    orders(cap, 3)
    few = count()
    orders(cap, 27)
    assert count() == few  # 30 orders: the same statements as 3


def test_bad_filters_or_format_answer_400_and_export_nothing(client, clerk, cap):
    orders(cap, 1)
    response = client.get("/orders/export/?status=nonsense&format=csv")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert "Status: Select a valid choice." in response.content.decode()
    response = client.get("/orders/export/?placed_after=2026-13-45&format=csv")
    assert response.status_code == 400
    assert "Placed from" in response.content.decode()
    response = client.get("/orders/export/?format=pdf<script>")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    response = client.get("/orders/export/?q=%00&format=csv")
    assert response.status_code in (200, 400)  # a NUL byte never 500s


def test_export_needs_the_right_to_see_orders(client, django_user_model):
    assert client.get("/orders/export/").status_code == 302  # to the login page
    client.force_login(django_user_model.objects.create_user("nobody", password="pw"))
    assert client.get("/orders/export/?format=csv").status_code == 403
