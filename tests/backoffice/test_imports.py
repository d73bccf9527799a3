"""Imports (upload -> preview -> import) and exports in the back-office."""

import csv
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client, TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from dataio.imports import read_table
from dataio.imports.reading import FileRejected
from inventory.models import MovementKind, Product, StockLevel
from orders.exceptions import OrderValidationError
from orders.models import Order, OrderStatus
from tests.factories import ProductFactory, WarehouseFactory, place, receive

from .conftest import user_with

pytestmark = pytest.mark.django_db

PRODUCT_PERMS = ("inventory.add_product", "inventory.change_product", "inventory.view_product")
STOCK_PERMS = ("inventory.change_stocklevel",)
ORDER_PERMS = ("orders.add_order", "orders.view_order")

ORDER_HEADER = [
    "order_ref",
    "channel",
    "customer_name",
    "email",
    "phone",
    "line1",
    "line2",
    "city",
    "postal_code",
    "country",
    "sku",
    "quantity",
    "notes",
]


def csv_bytes(rows, delimiter=",", bom=False) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    return (("\ufeff" if bom else "") + buffer.getvalue()).encode()


def xlsx_bytes(rows) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload(client, kind, name, data):
    return client.post(
        reverse("imports:upload", args=[kind]), {"file": SimpleUploadedFile(name, data)}
    )


def upload_and_preview(client, kind, name, data):
    response = upload(client, kind, name, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return response["Location"], client.get(response["Location"])


def confirm(client, url):
    """Confirm a previewed upload: the import job runs (eagerly, after commit) and its page is
    returned."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(url)
    assert response.status_code == 302, response.content.decode()[:2000]
    return client.get(response["Location"])


def order_row(ref, sku, quantity, *, channel_code="phone", name="Ada Park", **extra):
    row = {
        "order_ref": ref,
        "channel": channel_code,
        "customer_name": name,
        "email": "ada@example.com",
        "phone": "+44 20 7946 0000",
        "line1": "1 High St",
        "line2": "",
        "city": "Leeds",
        "postal_code": "LS1 1AA",
        "country": "GB",
        "sku": sku,
        "quantity": quantity,
        "notes": "",
    }
    row.update(extra)
    return [row[c] for c in ORDER_HEADER]


@pytest.fixture
def product_manager(client):
    user = user_with(*PRODUCT_PERMS)
    client.force_login(user)
    return user


@pytest.fixture
def order_clerk(client):
    user = user_with(*ORDER_PERMS)
    client.force_login(user)
    return user


# --- products ---------------------------------------------------------------------------------
def test_products_csv_preview_then_import_creates_and_updates(product_manager, client):
    ProductFactory(sku="MUG-BLUE", name="Blue mug", unit_price=Decimal("8.00"))
    data = csv_bytes(
        [
            ["sku", "name", "unit_price", "currency", "cost_price", "weight_grams", "active"],
            ["MUG-BLUE", "", "9.50", "", "", "", ""],
            ["TEA-GREEN", "Green tea", "4,20", "eur", "1.10", "100", "yes"],
            ["OLD-ONE", "Old thing", "1", "", "", "", "false"],
        ]
    )
    url, preview = upload_and_preview(client, "products", "products.csv", data)
    page = preview.content.decode()
    assert preview.status_code == 200
    assert "3 valid" in page and "0 rejected" in page
    assert "TEA-GREEN" in page
    assert Product.objects.count() == 1  # the preview imports nothing

    result = confirm(client, url)
    assert result.status_code == 200
    page = result.content.decode()
    assert "3 rows done, 0 rejected" in page
    assert "2 products created" in page and "1 product updated" in page
    mug = Product.objects.get(sku="MUG-BLUE")
    assert mug.unit_price == Decimal("9.50") and mug.name == "Blue mug"  # blank keeps
    tea = Product.objects.get(sku="TEA-GREEN")
    assert (tea.unit_price, tea.currency, tea.cost_price, tea.weight_grams, tea.is_active) == (
        Decimal("4.20"),
        "EUR",
        Decimal("1.10"),
        100,
        True,
    )
    assert Product.objects.get(sku="OLD-ONE").is_active is False
    # The pending file is gone: confirming twice does not import twice.
    again = client.post(url)
    assert again.status_code == 302 and again["Location"].endswith("/import/products/")


def test_products_xlsx_import_reads_numbers_and_booleans(product_manager, client):
    data = xlsx_bytes(
        [
            ["SKU", "Name", "Unit price", "Weight grams", "Active"],
            ["LAMP-1", "Desk lamp", 24.5, 1200.0, True],
            ["LAMP-2", "Floor lamp", 80, 5000, False],
        ]
    )
    url, preview = upload_and_preview(client, "products", "products.xlsx", data)
    assert "2 valid" in preview.content.decode()
    assert confirm(client, url).status_code == 200
    lamp = Product.objects.get(sku="LAMP-1")
    assert (lamp.unit_price, lamp.weight_grams, lamp.is_active) == (Decimal("24.50"), 1200, True)
    assert Product.objects.get(sku="LAMP-2").is_active is False


def test_preview_lists_row_errors_and_a_file_with_one_bad_row_imports_nothing(
    product_manager, client
):
    data = csv_bytes(
        [
            ["sku", "name", "unit_price"],
            ["A-1", "Fine", "1.00"],
            ["A-2", "Bad price", "abc"],
            ["A-3", "", ""],
            ["A-1", "Again", "2.00"],
        ]
    )
    url, preview = upload_and_preview(client, "products", "p.csv", data)
    page = preview.content.decode()
    assert "1 valid" in page and "3 rejected" in page
    assert "Row 3: unit_price &#x27;abc&#x27; is not a number." in page
    assert "Row 4: new product A-3 needs a name." in page
    assert "Row 5: sku A-1 is already on row 2." in page
    assert "disabled" in page
    # Forcing the confirmation anyway imports nothing, not even the valid row.
    response = confirm(client, url)
    assert "Import failed" in response.content.decode()
    assert "Nothing was imported" in response.content.decode()
    assert "Row 3: unit_price &#x27;abc&#x27; is not a number." in response.content.decode()
    assert not Product.objects.exists()


def test_export_can_be_edited_and_imported_back(product_manager, client):
    leeds = WarehouseFactory(code="LDS")
    mug = ProductFactory(sku="MUG-BLUE", name="Blue mug")
    receive(leeds, {mug: 4})
    exported = b"".join(client.get(reverse("imports:export_products")).streaming_content)
    text = exported.decode("utf-8-sig").replace("Blue mug", "Big blue mug")
    url, preview = upload_and_preview(client, "products", "products.csv", text.encode())
    assert "1 valid" in preview.content.decode()
    confirm(client, url)
    mug.refresh_from_db()
    assert mug.name == "Big blue mug"


# --- stock ------------------------------------------------------------------------------------
def test_stock_import_receives_and_fills_backorders(client):
    user = user_with(*STOCK_PERMS)
    client.force_login(user)
    leeds = WarehouseFactory(code="LDS")
    mug = ProductFactory(sku="MUG-BLUE")
    tea = ProductFactory(sku="TEA-GREEN")
    order = place({mug: 2})
    assert order.status == OrderStatus.BACKORDERED
    data = csv_bytes(
        [
            ["warehouse", "sku", "quantity", "bin_location", "reorder_point"],
            ["lds", "MUG-BLUE", "5", "A-01-3", "2"],
            ["LDS", "TEA-GREEN", "", "B-02", ""],
        ],
        delimiter=";",
        bom=True,
    )
    url, preview = upload_and_preview(client, "stock", "stock.csv", data)
    assert "2 valid" in preview.content.decode()
    result = confirm(client, url)
    page = result.content.decode()
    assert "2 rows done" in page and "5 units received" in page
    assert order.number in page
    order.refresh_from_db()
    assert order.status == OrderStatus.ALLOCATED
    level = StockLevel.objects.get(product=mug, warehouse=leeds)
    assert (level.on_hand, level.reserved, level.bin_location, level.reorder_point) == (
        5,
        2,
        "A-01-3",
        2,
    )
    assert level.movements.get().kind == MovementKind.RECEIPT
    tea_level = StockLevel.objects.get(product=tea, warehouse=leeds)
    assert (tea_level.on_hand, tea_level.bin_location) == (0, "B-02")
    assert user.pk == level.movements.get().created_by_id


def test_stock_xlsx_with_an_unknown_warehouse_is_rejected_whole(client):
    client.force_login(user_with(*STOCK_PERMS))
    WarehouseFactory(code="LDS")
    mug = ProductFactory(sku="MUG-BLUE")
    data = xlsx_bytes(
        [
            ["warehouse", "sku", "quantity"],
            ["LDS", "MUG-BLUE", 3],
            ["XXX", "MUG-BLUE", 3],
            ["LDS", "NOPE", -1],
        ]
    )
    url, preview = upload_and_preview(client, "stock", "stock.xlsx", data)
    page = preview.content.decode()
    assert "Row 3: unknown warehouse XXX." in page
    assert "Row 4: quantity must be at least 0 (got -1)." in page
    assert "Row 4: unknown sku NOPE." in page
    confirm(client, url)
    assert not StockLevel.objects.filter(product=mug, on_hand__gt=0).exists()


def test_stock_xlsx_import(client):
    client.force_login(user_with(*STOCK_PERMS))
    leeds = WarehouseFactory(code="LDS")
    mug = ProductFactory(sku="MUG-BLUE")
    url, _ = upload_and_preview(
        client,
        "stock",
        "s.xlsx",
        xlsx_bytes([["warehouse", "sku", "quantity"], ["LDS", "MUG-BLUE", 7]]),
    )
    confirm(client, url)
    assert StockLevel.objects.get(product=mug, warehouse=leeds).on_hand == 7


# --- orders -----------------------------------------------------------------------------------
def test_order_import_groups_lines_and_keeps_the_reference(order_clerk, client):
    leeds = WarehouseFactory(code="LDS")
    mug, tea = ProductFactory(sku="MUG-BLUE"), ProductFactory(sku="TEA-GREEN")
    receive(leeds, {mug: 10, tea: 10})
    rows = [
        ORDER_HEADER,
        order_row("PH-1", "MUG-BLUE", 2, notes="Ring the bell"),
        # The customer and address may be left blank on an order's later rows.
        ["PH-1", "", "", "", "", "", "", "", "", "", "TEA-GREEN", "3", ""],
        order_row("C-7", "MUG-BLUE", 1, channel_code="counter", name="Bo Lee", email="bo@x.org"),
    ]
    url, preview = upload_and_preview(client, "orders", "phone.csv", csv_bytes(rows))
    assert "3 valid" in preview.content.decode()
    result = confirm(client, url)
    assert "2 orders placed with 3 lines" in result.content.decode()
    phone = Order.objects.get(reference="PH-1")
    assert phone.channel.code == "phone" and phone.status == OrderStatus.PLACED
    assert {(line.product.sku, line.quantity) for line in phone.lines.all()} == {
        ("MUG-BLUE", 2),
        ("TEA-GREEN", 3),
    }
    assert phone.notes == "Ring the bell" and phone.created_by == order_clerk
    counter = Order.objects.get(reference="C-7")
    assert counter.status == OrderStatus.ALLOCATED  # counter orders confirm and allocate
    assert counter.shipping_name == "Bo Lee"
    # The same file again is refused: its references were imported already.
    url, preview = upload_and_preview(client, "orders", "phone.csv", csv_bytes(rows))
    assert f"order_ref PH-1 was already imported as order {phone.number}" in (
        preview.content.decode()
    )
    assert Order.objects.count() == 2


def test_order_import_xlsx_and_row_errors(order_clerk, client):
    ProductFactory(sku="MUG-BLUE")
    ProductFactory(sku="GONE", is_active=False)
    ProductFactory(sku="USD-1", currency="USD")
    rows = [
        ORDER_HEADER,
        order_row("A", "MUG-BLUE", 1),
        order_row("A", "MUG-BLUE", 1),
        order_row("B", "GONE", 1, email="not-an-email", country="XX"),
        order_row("C", "MUG-BLUE", 0, channel_code="fax"),
        order_row("D", "MUG-BLUE", 1, city="York"),
        order_row("D", "USD-1", 1, city="Hull"),
    ]
    _, preview = upload_and_preview(client, "orders", "o.xlsx", xlsx_bytes(rows))
    page = preview.content.decode()
    assert "Row 3: sku MUG-BLUE is already on row 2 of order A" in page
    assert "Row 4: sku GONE is no longer sold." in page
    assert "Row 4: &#x27;not-an-email&#x27; is not a valid e-mail address." in page
    assert "Row 4: country &#x27;XX&#x27; is not a 2-letter ISO country code." in page
    assert "Row 5: quantity must be at least 1 (got 0)." in page
    assert "Row 5: channel &#x27;fax&#x27; is not one of phone, counter, web." in page
    assert "Row 7: city &#x27;Hull&#x27; differs from &#x27;York&#x27; on row 6" in page
    assert "Row 7: sku USD-1 is priced in USD" in page
    assert "disabled" in page


def test_an_order_refused_while_importing_rolls_back_every_order(order_clerk, client, monkeypatch):
    """If placing one order fails at import time, the orders placed before it are undone."""
    import dataio.imports.orders as order_import

    real_place = order_import.order_place

    def place_refusing_b(**kwargs):
        if kwargs["data"].reference == "B":
            raise OrderValidationError({"lines": ["Line 2: SKU TEA-GREEN is no longer sold."]})
        return real_place(**kwargs)

    monkeypatch.setattr(order_import, "order_place", place_refusing_b)
    ProductFactory(sku="MUG-BLUE")
    ProductFactory(sku="TEA-GREEN")
    rows = [
        ORDER_HEADER,
        order_row("A", "MUG-BLUE", 1),
        order_row("B", "MUG-BLUE", 1),
        order_row("B", "TEA-GREEN", 1),
    ]
    url, _ = upload_and_preview(client, "orders", "o.csv", csv_bytes(rows))
    page = confirm(client, url).content.decode()
    assert "Row 4: order B: Line 2: SKU TEA-GREEN is no longer sold." in page
    assert "Nothing was imported" in page
    assert not Order.objects.exists()


def test_errors_the_order_service_finds_are_shown_on_the_rows_they_come_from(
    order_clerk, client, monkeypatch
):
    """What only placement can refuse (here: the customer's e-mail, a line, and the order as a
    whole) is reported on the file's rows: the customer and the order on the order's first row,
    a line on its own row."""
    import dataio.imports.orders as order_import

    def refuse(**kwargs):
        raise OrderValidationError(
            {
                "customer": {"email": ["bad e-mail"]},
                "lines": ["Line 2: unknown SKU B.", "The products are priced in two currencies."],
            }
        )

    monkeypatch.setattr(order_import, "order_place", refuse)
    ProductFactory(sku="MUG-BLUE")
    ProductFactory(sku="TEA-GREEN")
    rows = [
        ORDER_HEADER,
        order_row("R1", "MUG-BLUE", 1),
        order_row("R1", "TEA-GREEN", 2),
    ]
    url, _ = upload_and_preview(client, "orders", "o.csv", csv_bytes(rows))
    page = confirm(client, url).content.decode()
    assert "Row 2: order R1: bad e-mail" in page
    assert "Row 3: order R1: Line 2: unknown SKU B." in page
    assert "Row 2: order R1: The products are priced in two currencies." in page
    assert not Order.objects.exists()


# --- bad files --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("junk.csv", bytes(range(256)) * 10, "binary data"),
        ("junk.bin", b"\x89PNG\r\n\x1a\n\x00\x00garbage", "binary data"),
        ("latin1.csv", "sku,name\nA,Caf\xe9\n".encode("latin-1"), "not UTF-8"),
        ("empty.csv", b"   \n", "The file is empty."),
        ("fake.xlsx", b"sku,name\nA,B\n", "not a valid Excel workbook"),
        ("zip.xlsx", b"PK\x03\x04" + b"\x00" * 100, "not a valid Excel workbook"),
        ("old.xls", b"\xd0\xcf\x11\xe0", ".xls"),
        ("wrong.csv", b"colour,size\nred,L\n", "missing column(s): sku"),
        ("typo.csv", b"sku,nmae\nA,B\n", "unknown column(s): nmae"),
        ("header-only.csv", b"sku,name\n", "no data rows"),
        ("dupe.csv", b"sku,sku\nA,B\n", "appears twice"),
        ("quote.csv", b'sku,name\nA,"unclosed\n', "malformed"),
    ],
)
def test_garbage_files_get_a_clear_error_on_the_form(product_manager, client, name, data, message):
    response = upload(client, "products", name, data)
    assert response.status_code == 400
    page = response.content.decode()
    assert message.replace("'", "&#x27;") in page
    assert 'class="errorlist"' in page
    assert not Product.objects.exists()


def test_upload_without_a_file_and_a_too_large_file(product_manager, client, settings):
    settings.OMS_IMPORT_MAX_BYTES = 5 * 1024 * 1024
    response = client.post(reverse("imports:upload", args=["products"]), {})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    big = b"sku,name\n" + b"A,B\n" * (5 * 1024 * 1024 // 4 + 10)
    response = upload(client, "products", "big.csv", big)
    assert response.status_code == 400
    assert "at most 5 MB" in response.content.decode()


def test_row_limit():
    data = csv_bytes([["sku"], *[[f"S{i}"] for i in range(5)]])
    assert len(read_table(data, "x.csv", max_rows=5).rows) == 5
    with pytest.raises(FileRejected, match="more than 4 rows"):
        read_table(data, "x.csv", max_rows=4)


def test_unknown_or_expired_token_sends_back_to_the_upload(product_manager, client):
    response = client.get(reverse("imports:preview", args=["products", "nope"]))
    assert response.status_code == 302
    follow = client.get(response["Location"])
    assert "no longer waiting to be imported" in follow.content.decode()


# --- permissions and CSRF ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("perms", "kind", "status"),
    [
        ((), "products", 403),
        (("inventory.change_product",), "products", 403),
        (PRODUCT_PERMS, "products", 200),
        (PRODUCT_PERMS, "stock", 403),
        (STOCK_PERMS, "stock", 200),
        (STOCK_PERMS, "orders", 403),
        (ORDER_PERMS, "orders", 200),
        (ORDER_PERMS, "nothing", 404),
    ],
)
def test_import_permissions(client, perms, kind, status):
    client.force_login(user_with(*perms))
    assert client.get(reverse("imports:upload", args=[kind])).status_code == status


def test_a_preview_of_someone_elses_kind_is_forbidden(client):
    client.force_login(user_with(*STOCK_PERMS))
    ProductFactory(sku="A")
    assert client.get(reverse("imports:preview", args=["products", "x"])).status_code == 403
    response = upload(client, "products", "p.csv", b"sku,name,unit_price\nB,b,1\n")
    assert response.status_code == 403
    assert not Product.objects.filter(sku="B").exists()


def test_anonymous_users_are_sent_to_login(client):
    response = client.get(reverse("imports:index"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.get(reverse("imports:export_products")).status_code == 302


def test_index_needs_some_data_permission(client):
    client.force_login(user_with())
    assert client.get(reverse("imports:index")).status_code == 403
    client.force_login(user_with(*STOCK_PERMS))
    page = client.get(reverse("imports:index")).content.decode()
    assert "Import stock" in page and "Import products" not in page


def test_upload_needs_a_csrf_token(product_manager):
    client = Client(enforce_csrf_checks=True)
    client.force_login(product_manager)
    response = client.post(
        reverse("imports:upload", args=["products"]),
        {"file": SimpleUploadedFile("p.csv", b"sku,name,unit_price\nA,a,1\n")},
    )
    assert response.status_code == 403
    assert not Product.objects.exists()


# --- query counts -----------------------------------------------------------------------------
def _preview_queries(client, kind, data) -> int:
    url, _ = upload_and_preview(client, kind, "f.csv", data)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_preview_queries_do_not_grow_with_rows(client):
    client.force_login(user_with(*PRODUCT_PERMS, *STOCK_PERMS, *ORDER_PERMS))
    WarehouseFactory(code="LDS")
    for i in range(40):
        ProductFactory(sku=f"S{i:03d}")
    few = {
        "products": csv_bytes(
            [["sku", "name", "unit_price"], *[[f"S{i:03d}", "x", "1"] for i in range(3)]]
        ),
        "stock": csv_bytes(
            [["warehouse", "sku", "quantity"], *[["LDS", f"S{i:03d}", "1"] for i in range(3)]]
        ),
        "orders": csv_bytes(
            [ORDER_HEADER, *[order_row(f"R{i}", f"S{i:03d}", 1) for i in range(3)]]
        ),
    }
    many = {
        "products": csv_bytes(
            [["sku", "name", "unit_price"], *[[f"S{i:03d}", "x", "1"] for i in range(40)]]
        ),
        "stock": csv_bytes(
            [["warehouse", "sku", "quantity"], *[["LDS", f"S{i:03d}", "1"] for i in range(40)]]
        ),
        "orders": csv_bytes(
            [ORDER_HEADER, *[order_row(f"R{i % 10}", f"S{i:03d}", 1) for i in range(40)]]
        ),
    }
    for kind in ("products", "stock", "orders"):
        assert _preview_queries(client, kind, many[kind]) == _preview_queries(
            client, kind, few[kind]
        ), kind


# --- exports ----------------------------------------------------------------------------------
def test_product_export_csv_and_xlsx_show_stock_per_warehouse(product_manager, client):
    leeds, paris = WarehouseFactory(code="LDS"), WarehouseFactory(code="PAR", country="FR")
    mug = ProductFactory(sku="MUG-BLUE", name="=HYPERLINK(1)")
    receive(leeds, {mug: 5})
    receive(paris, {mug: 2})
    place({mug: 1})  # reserves one in Leeds
    response = client.get(reverse("imports:export_products"), {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="products-')
    rows = list(
        csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")))
    )
    assert rows[0]["sku"] == "MUG-BLUE"
    assert rows[0]["name"] == "'=HYPERLINK(1)"  # never a formula
    assert (rows[0]["available_LDS"], rows[0]["available_PAR"], rows[0]["available_total"]) == (
        "4",
        "2",
        "6",
    )
    response = client.get(reverse("imports:export_products"), {"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][:2] == ("sku", "name")
    assert values[1][0] == "MUG-BLUE" and values[1][-1] == 6
    assert client.get(reverse("imports:export_products"), {"format": "pdf"}).status_code == 400


def test_order_export_filters_by_date_and_rejects_bad_dates(order_clerk, client):
    leeds = WarehouseFactory(code="LDS")
    mug = ProductFactory(sku="MUG-BLUE")
    receive(leeds, {mug: 5})
    order = place({mug: 2}, reference="REF-1")
    old = place({mug: 1})
    Order.objects.filter(pk=old.pk).update(placed_at="2020-01-01T10:00:00Z")
    response = client.get(reverse("imports:export_orders"), {"start": "2021-01-01"})
    assert response.status_code == 200
    rows = list(
        csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")))
    )
    assert [(r["order_number"], r["sku"], r["quantity"], r["order_ref"]) for r in rows] == [
        (order.number, "MUG-BLUE", "2", "REF-1")
    ]
    response = client.get(reverse("imports:export_orders"), {"start": "yesterday"})
    assert response.status_code == 400
    assert "Enter a valid date." in response.content.decode()
    response = client.get(
        reverse("imports:export_orders"), {"start": "2024-02-01", "end": "2024-01-01"}
    )
    assert "The end date is before the start date." in response.content.decode()


def test_exports_need_permissions(client):
    client.force_login(user_with(*STOCK_PERMS))
    assert client.get(reverse("imports:export_products")).status_code == 403
    assert client.get(reverse("imports:export_orders")).status_code == 403


# --- review fixes -------------------------------------------------------------------------------
def test_absurd_prices_are_row_errors_not_a_crash(product_manager, client):
    rows = [
        ["sku", "name", "unit_price", "currency", "cost_price", "weight_grams", "active"],
        ["HUGE-1", "Huge", "1e400", "EUR", "", "", "yes"],
        ["HUGE-2", "Huger", "1E+30", "EUR", "", "", "yes"],
        ["HUGE-3", "Hugest", "12345678901234567890123456789", "EUR", "", "", "yes"],
    ]
    url, preview = upload_and_preview(client, "products", "p.csv", csv_bytes(rows))
    assert preview.status_code == 200
    page = preview.content.decode()
    for raw in ("1e400", "1E+30", "12345678901234567890123456789"):
        assert f"unit_price &#x27;{raw}&#x27; is too large" in page
    assert not Product.objects.filter(sku__startswith="HUGE").exists()


def test_formula_like_names_survive_export_and_import(product_manager, client):
    ProductFactory(sku="DEAL-1", name="-20% mug")
    exported = b"".join(client.get(reverse("imports:export_products")).streaming_content)
    url, preview = upload_and_preview(client, "products", "p.csv", exported)
    confirm(client, url)
    assert Product.objects.get(sku="DEAL-1").name == "-20% mug"


def test_an_upload_is_imported_once_even_when_submitted_twice(client):
    leeds = WarehouseFactory(code="LDS")
    mug = ProductFactory(sku="MUG-BLUE")
    client.force_login(user_with(*STOCK_PERMS))
    rows = [["warehouse", "sku", "quantity"], ["LDS", "MUG-BLUE", "5"]]
    url, _ = upload_and_preview(client, "stock", "stock.csv", csv_bytes(rows))
    # A second tab still holding the same session (and so the same pending upload).
    second = Client()
    second.cookies = client.cookies
    confirm(client, url)
    page = second.post(url, follow=True).content.decode()
    assert "already being imported" in page or "no longer waiting to be imported" in page
    assert StockLevel.objects.get(product=mug, warehouse=leeds).on_hand == 5


def test_imports_match_skus_in_any_case(client):
    """One SKU rule (inventory.skus): products, stock and order files find mug-blue."""
    user = user_with(*PRODUCT_PERMS, *STOCK_PERMS, *ORDER_PERMS)
    client.force_login(user)
    leeds = WarehouseFactory(code="LDS")
    mug = ProductFactory(sku="MUG-BLUE", name="Blue mug")
    data = csv_bytes([["sku", "name"], ["mug-blue", "Blue mug, large"]])
    url, preview = upload_and_preview(client, "products", "p.csv", data)
    assert "1 valid" in preview.content.decode(), preview.content.decode()
    confirm(client, url)
    assert Product.objects.count() == 1  # updated, not a second product
    mug.refresh_from_db()
    assert mug.name == "Blue mug, large"
    data = csv_bytes([["warehouse", "sku", "quantity"], ["LDS", "mug-blue", "4"]])
    url, preview = upload_and_preview(client, "stock", "s.csv", data)
    assert "1 valid" in preview.content.decode(), preview.content.decode()
    confirm(client, url)
    assert StockLevel.objects.get(product=mug, warehouse=leeds).on_hand == 4
    data = csv_bytes([ORDER_HEADER, order_row("R-1", "mug-blue", 2)])
    url, preview = upload_and_preview(client, "orders", "o.csv", data)
    assert "1 valid" in preview.content.decode(), preview.content.decode()
    confirm(client, url)
    assert [(line.product, line.quantity) for line in Order.objects.get().lines.all()] == [(mug, 2)]
