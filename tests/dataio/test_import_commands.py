"""The import_* and export_products management commands."""

import csv
import io
import re
import threading
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from openpyxl import Workbook, load_workbook

from inventory.models import Product, StockLevel
from orders.models import Order, OrderStatus
from tests.demo.test_seed_demo import assert_stock_invariants
from tests.factories import ProductFactory, UserFactory, WarehouseFactory, place, receive

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def write_csv(path, rows, delimiter=","):
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, delimiter=delimiter).writerows(rows)
    return path


def write_xlsx(path, rows):
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    workbook.save(path)
    return path


def test_import_products_prints_progress_and_summary(tmp_path):
    ProductFactory(sku="MUG-BLUE", unit_price=Decimal("8.00"))
    path = write_csv(
        tmp_path / "p.csv",
        [["sku", "name", "unit_price"], ["MUG-BLUE", "", "9.00"], ["TEA", "Tea", "3.50"]],
    )
    out = run("import_products", str(path))
    assert "Checking products" in out and "Importing products" in out and "2/2" in out
    assert "2 rows done, 0 rejected." in out
    assert "1 product created" in out and "1 product updated" in out
    assert Product.objects.get(sku="MUG-BLUE").unit_price == Decimal("9.00")
    assert Product.objects.get(sku="TEA").name == "Tea"


def draw_every_update(monkeypatch):
    """A terminal sees the bar redrawn 10 times a second; a test is faster than that."""
    from dataio.imports.command import _Bars

    monkeypatch.setattr(_Bars, "mininterval", 0)
    monkeypatch.setattr(_Bars, "miniters", 1)


def _bar_counts(out: str, label: str) -> list[int]:
    """The row counts a tqdm bar called ``label`` showed, in order (``label: … 250/1200 …``)."""
    return [int(n) for n in re.findall(re.escape(label) + r":[^\r\n]*?\| *(\d+)/\d+", out)]


def test_the_progress_bars_advance_while_checking_and_while_writing(tmp_path, monkeypatch):
    draw_every_update(monkeypatch)
    ProductFactory(sku="P0000", unit_price=Decimal("1.00"))
    rows = [["sku", "name", "unit_price"], *[[f"P{i:04d}", f"N{i}", "2.00"] for i in range(1200)]]
    out = run("import_products", str(write_csv(tmp_path / "p.csv", rows)))
    checking = _bar_counts(out, "Checking products")
    importing = _bar_counts(out, "Importing products")
    assert {250, 500, 1000, 1200} <= set(checking), checking
    assert {500, 1000, 1200} <= set(importing), importing  # one step per batch written
    assert checking == sorted(checking) and importing == sorted(importing)
    assert "1199 products created" in out and "1 product updated" in out


def test_a_dry_run_shows_the_checking_progress(tmp_path, monkeypatch):
    draw_every_update(monkeypatch)
    rows = [["sku", "name", "unit_price"], *[[f"P{i:04d}", f"N{i}", "2.00"] for i in range(600)]]
    out = run("import_products", str(write_csv(tmp_path / "p.csv", rows)), "--dry-run")
    assert {250, 500, 600} <= set(_bar_counts(out, "Checking products"))
    assert "Importing products" not in out
    assert "Dry run: 600 rows valid" in out and not Product.objects.exists()


def test_formula_cells_are_refused_by_the_command(tmp_path):
    path = write_xlsx(tmp_path / "p.xlsx", [["sku", "name", "unit_price"], ["A", "=1+1", 2]])
    with pytest.raises(CommandError, match=r"Cell B2 \(row 2\) holds a formula"):
        run("import_products", str(path))
    assert not Product.objects.exists()


def test_import_products_xlsx_dry_run_imports_nothing(tmp_path):
    path = write_xlsx(tmp_path / "p.xlsx", [["sku", "name", "unit_price"], ["LAMP", "Lamp", 20]])
    out = run("import_products", str(path), "--dry-run")
    assert "Dry run: 1 rows valid, 0 rejected; nothing was imported." in out
    assert not Product.objects.exists()


def test_a_rejected_file_raises_command_error_with_rows_and_imports_nothing(tmp_path):
    path = write_csv(
        tmp_path / "p.csv",
        [["sku", "name", "unit_price"], ["OK", "Fine", "1"], ["BAD", "Bad", "-3"]],
        delimiter=";",
    )
    with pytest.raises(CommandError) as exc:
        run("import_products", str(path))
    message = str(exc.value)
    assert "1 rows valid, 1 rejected; nothing was imported." in message
    assert "Row 3: unit_price must not be negative (got -3)." in message
    assert not Product.objects.exists()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("junk.xlsx", b"definitely not a workbook", "not a valid Excel workbook"),
        ("junk.csv", b"\x00\x01\x02\xff" * 50, "binary data"),
        ("cols.csv", b"warehouse,sku\nLDS,A\n", "missing column(s): quantity"),
    ],
)
def test_garbage_files_raise_command_error(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run("import_stock", str(path))


def test_missing_file_and_unknown_user(tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        run("import_orders", str(tmp_path / "nope.csv"))
    path = write_csv(tmp_path / "p.csv", [["sku", "name", "unit_price"], ["A", "a", "1"]])
    with pytest.raises(CommandError, match="No user ghost"):
        run("import_products", str(path), "--user", "ghost")


def test_import_stock_fills_backorders_and_records_the_user(tmp_path):
    leeds = WarehouseFactory(code="LDS")
    mug = ProductFactory(sku="MUG-BLUE")
    order = place({mug: 3})
    assert order.status == OrderStatus.BACKORDERED
    user = UserFactory(username="keeper")
    path = write_csv(tmp_path / "s.csv", [["warehouse", "sku", "quantity"], ["LDS", "MUG-BLUE", 4]])
    out = run("import_stock", str(path), "--user", "keeper")
    assert "1 rows done, 0 rejected." in out
    assert f"Backorders filled: {order.number}." in out
    order.refresh_from_db()
    assert order.status == OrderStatus.ALLOCATED
    level = StockLevel.objects.get(product=mug, warehouse=leeds)
    assert (level.on_hand, level.reserved) == (4, 3)
    assert level.movements.get().created_by == user


def test_import_orders_places_grouped_orders(tmp_path):
    leeds = WarehouseFactory(code="LDS")
    mug, tea = ProductFactory(sku="MUG-BLUE"), ProductFactory(sku="TEA")
    receive(leeds, {mug: 5, tea: 5})
    header = ["order_ref", "customer_name", "email", "line1", "city", "postal_code", "country"]
    header += ["sku", "quantity", "channel"]
    address = ["Ada Park", "ada@example.com", "1 High St", "Leeds", "LS1 1AA", "gb"]
    path = write_xlsx(
        tmp_path / "o.xlsx",
        [
            header,
            ["T-1", *address, "MUG-BLUE", 1, "web"],
            ["T-1", *address, "TEA", 2, "web"],
            ["T-2", *address, "TEA", 1, ""],
        ],
    )
    out = run("import_orders", str(path))
    assert "3 rows done, 0 rejected." in out and "2 orders placed with 3 lines" in out
    web = Order.objects.get(reference="T-1")
    assert web.status == OrderStatus.ALLOCATED and web.lines.count() == 2
    assert web.shipping_country == "GB"
    assert Order.objects.get(reference="T-2").channel.code == "phone"
    with pytest.raises(CommandError, match="order_ref T-1 was already imported"):
        run("import_orders", str(path))
    assert Order.objects.count() == 2


def test_export_products_csv_xlsx_and_stdout(tmp_path):
    leeds = WarehouseFactory(code="LDS")
    mug = ProductFactory(sku="MUG-BLUE")
    receive(leeds, {mug: 5})
    out = run("export_products", str(tmp_path / "p.csv"))
    assert "1 products exported" in out
    rows = list(csv.DictReader((tmp_path / "p.csv").open(encoding="utf-8-sig")))
    assert rows[0]["sku"] == "MUG-BLUE" and rows[0]["available_LDS"] == "5"

    run("export_products", "--format", "xlsx", str(tmp_path / "p.data"))
    sheet = load_workbook(io.BytesIO((tmp_path / "p.data").read_bytes())).active
    assert list(sheet.iter_rows(values_only=True))[1][0] == "MUG-BLUE"

    assert "MUG-BLUE" in run("export_products", "-")
    with pytest.raises(CommandError, match="No such directory"):
        run("export_products", str(tmp_path / "missing" / "p.csv"))
    # An export imports back unchanged.
    assert "1 product already up to date" in run("import_products", str(tmp_path / "p.csv"))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_stock_import_racing_orders_and_receipts_neither_deadlocks_nor_breaks_stock(tmp_path):
    """A stock import into two warehouses fills backorders while orders are placed and stock
    is received for the same products: every action succeeds and the stock books agree."""
    lds, par = WarehouseFactory(code="LDS"), WarehouseFactory(code="PAR", country="FR")
    mug, tea = ProductFactory(sku="MUG-BLUE"), ProductFactory(sku="TEA")
    waiting = [place({mug: 1, tea: 1}, email=f"w{i}@example.com") for i in range(3)]
    assert {o.status for o in waiting} == {OrderStatus.BACKORDERED}
    path = write_csv(
        tmp_path / "s.csv",
        [
            ["warehouse", "sku", "quantity"],
            ["PAR", "TEA", 4],
            ["LDS", "MUG-BLUE", 4],
            ["LDS", "TEA", 4],
            ["PAR", "MUG-BLUE", 4],
        ],
    )
    barrier = threading.Barrier(4)
    failures = []

    def job(action):
        try:
            barrier.wait(timeout=10)
            action()
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(repr(exc))
        finally:
            connection.close()

    actions = [
        lambda: run("import_stock", str(path)),
        lambda: place({tea: 1, mug: 1}, email="a@example.com"),
        lambda: place({mug: 2}, email="b@example.com"),
        lambda: receive(par, {tea: 1, mug: 1}),
    ]
    threads = [threading.Thread(target=job, args=(a,)) for a in actions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not failures
    assert sum(StockLevel.objects.values_list("on_hand", flat=True)) == 16 + 2
    for order in waiting:
        order.refresh_from_db()
        assert order.status == OrderStatus.ALLOCATED
    assert_stock_invariants()
    assert lds.stock_levels.count() == 2
