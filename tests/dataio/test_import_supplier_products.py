"""The supplier price list import (`import_supplier_products`): rows go through the purchasing
service, every bad row is named, and a file with one bad row saves nothing."""

from decimal import Decimal

import pytest
from django.core.management.base import CommandError

from purchasing.models import SupplierProduct
from purchasing.services import supplier_create, supplier_product_upsert, supplier_update
from tests.factories import ProductFactory, UserFactory

from .test_import_commands import run, write_csv, write_xlsx

pytestmark = pytest.mark.django_db

HEADER = [
    "supplier",
    "sku",
    "supplier_sku",
    "unit_cost",
    "min_order_quantity",
    "pack_size",
    "lead_time_days",
    "preferred",
]


@pytest.fixture
def shop():
    mug = ProductFactory(sku="MUG-BLUE", name="Blue mug")
    tee = ProductFactory(sku="TEE-M", name="T-shirt M")
    acme = supplier_create(code="ACME", name="Acme", email="po@acme.test", lead_time_days=5)
    bolt = supplier_create(code="BOLT", name="Bolt", email="po@bolt.test", currency="GBP")
    old = supplier_create(code="OLD", name="Old Ltd", email="po@old.test")
    supplier_update(supplier=old, is_active=False)
    supplier_product_upsert(
        supplier=acme,
        product=mug,
        unit_cost=Decimal("3.50"),
        supplier_sku="AC-MUG",
        min_order_quantity=6,
        pack_size=6,
        lead_time_days=9,
    )
    return {"mug": mug, "tee": tee, "acme": acme, "bolt": bolt}


def offers() -> dict[tuple[str, str], tuple]:
    return {
        (o.supplier.code, o.product.sku): (
            o.supplier_sku,
            o.unit_cost,
            o.min_order_quantity,
            o.pack_size,
            o.lead_time_days,
            o.preferred,
        )
        for o in SupplierProduct.objects.select_related("supplier", "product")
    }


def test_a_price_list_adds_and_updates_what_suppliers_sell(tmp_path, shop):
    UserFactory(username="clerk")
    path = write_csv(
        tmp_path / "prices.csv",
        [
            HEADER,
            # A known pair: blank cells keep what is there; the cost and preferred change.
            ["acme", "mug-blue", "", "3.20", "", "", "", "yes"],
            # New pairs: defaults for the blank cells.
            ["ACME", "TEE-M", "AC-TEE", "6.00", "10", "5", "12", "no"],
            ["BOLT", "MUG-BLUE", "B-1", "2,95", "", "", "", ""],
        ],
    )
    out = run("import_supplier_products", str(path), "--user", "clerk")
    assert "3 rows done, 0 rejected." in out
    assert "2 products added to what the suppliers sell" in out and "1 product updated" in out
    assert offers() == {
        ("ACME", "MUG-BLUE"): ("AC-MUG", Decimal("3.20"), 6, 6, 9, True),
        ("ACME", "TEE-M"): ("AC-TEE", Decimal("6.00"), 10, 5, 12, False),
        ("BOLT", "MUG-BLUE"): ("B-1", Decimal("2.95"), 1, 1, None, False),
    }


def test_the_same_file_again_changes_nothing(tmp_path, shop):
    rows = [HEADER, ["ACME", "MUG-BLUE", "AC-MUG", "3.50", "6", "6", "9", "false"]]
    out = run("import_supplier_products", str(write_csv(tmp_path / "p.csv", rows)))
    assert "1 row already up to date" in out and "0 products updated" in out


def test_an_excel_price_list(tmp_path, shop):
    path = write_xlsx(
        tmp_path / "prices.xlsx",
        [HEADER, ["BOLT", "TEE-M", "B-TEE", 7.25, 12, 12, 20, True]],
    )
    out = run("import_supplier_products", str(path))
    assert "1 rows done" in out
    assert offers()[("BOLT", "TEE-M")] == ("B-TEE", Decimal("7.25"), 12, 12, 20, True)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (["NOPE", "MUG-BLUE", "", "1.00"], "Row 3: unknown supplier NOPE."),
        (["ACME", "GHOST-1", "", "1.00"], "Row 3: unknown sku GHOST-1."),
        (["OLD", "MUG-BLUE", "", "1.00"], "Row 3: supplier OLD is not active"),
        (["BOLT", "MUG-BLUE", "", "-1.00"], "Row 3: unit_cost must not be negative (got -1.00)."),
        (["BOLT", "MUG-BLUE", "", "cheap"], "Row 3: unit_cost 'cheap' is not a number."),
        (["BOLT", "MUG-BLUE", "", "NaN"], "Row 3: unit_cost 'NaN' is not a number."),
        (["BOLT", "MUG-BLUE", "", "1e400"], "Row 3: unit_cost '1e400' is too large."),
        (["BOLT", "MUG-BLUE", "", "99999999999"], "Row 3: unit_cost '99999999999' is too large."),
        (["BOLT", "MUG-BLUE", "", "1.005"], "Row 3: unit_cost '1.005' has more than 2 decimal"),
        (["BOLT", "MUG-BLUE", "", ""], "Row 3: unit_cost is missing."),
        (
            ["BOLT", "MUG-BLUE", "", "1", "0"],
            "Row 3: min_order_quantity must be at least 1 (got 0)",
        ),
        (["BOLT", "MUG-BLUE", "", "1", "1", "-6"], "Row 3: pack_size must be at least 1 (got -6)"),
        (["BOLT", "MUG-BLUE", "", "1", "1", "2.5"], "Row 3: pack_size '2.5' is not a whole number"),
        (
            ["BOLT", "MUG-BLUE", "", "1", "99999999999999999999"],
            "Row 3: min_order_quantity 99999999999999999999 is too large (at most 1,000,000).",
        ),
        (
            ["BOLT", "MUG-BLUE", "", "1", "", "", "4000"],
            "Row 3: lead_time_days 4000 is too large (at most 3,650).",
        ),
        (["BOLT", "MUG-BLUE", "", "1", "", "", "", "maybe"], "Row 3: preferred 'maybe' is not"),
        (
            ["acme", "tee-m", "", "1.00"],
            "Row 3: TEE-M from ACME is already on row 2; give each supplier and SKU one row.",
        ),
        (
            ["BOLT", "TEE-M", "", "1.00", "", "", "", "yes"],
            "Row 3: TEE-M is marked preferred for ACME on row 2 too; mark one supplier preferred.",
        ),
    ],
)
def test_a_bad_row_is_named_and_nothing_is_saved(tmp_path, shop, row, message):
    """The good first row is not saved either: all or nothing."""
    before = offers()
    good = ["ACME", "TEE-M", "", "6.00", "", "", "", "yes"]
    path = write_csv(tmp_path / "p.csv", [HEADER, good, row + [""] * (len(HEADER) - len(row))])
    with pytest.raises(CommandError) as exc:
        run("import_supplier_products", str(path))
    text = str(exc.value)
    assert message in text, text
    assert "1 rows valid, 1 rejected; nothing was imported." in text
    assert offers() == before


def test_a_nul_byte_refuses_the_file(tmp_path, shop):
    path = tmp_path / "p.csv"
    path.write_bytes(b"supplier,sku,unit_cost\nACME,TEE-M,1.00\nACME,MUG-BLUE,2\x00.00\n")
    with pytest.raises(CommandError, match="binary data"):
        run("import_supplier_products", str(path))
    # Further down a long file, the row and column are named.
    filler = b"".join(b"BOLT,TEE-M,%d.00\n" % i for i in range(1000))
    path.write_bytes(b"supplier,sku,unit_cost\n" + filler + b"ACME,MUG-BLUE,2\x00.00\n")
    with pytest.raises(CommandError, match="Row 1002, column 'unit_cost'"):
        run("import_supplier_products", str(path))
    assert ("ACME", "TEE-M") not in offers() and ("BOLT", "TEE-M") not in offers()


def test_wrong_columns_and_a_dry_run(tmp_path, shop):
    path = write_csv(tmp_path / "p.csv", [["supplier", "sku", "price"], ["ACME", "TEE-M", "1"]])
    with pytest.raises(CommandError, match=r"missing column\(s\): unit_cost"):
        run("import_supplier_products", str(path))
    path = write_csv(tmp_path / "q.csv", [["supplier", "sku", "unit_cost"], ["ACME", "TEE-M", "1"]])
    out = run("import_supplier_products", str(path), "--dry-run")
    assert "Dry run: 1 rows valid, 0 rejected; nothing was imported." in out
    assert ("ACME", "TEE-M") not in offers()


def test_a_refusal_by_the_service_while_writing_rolls_back_every_row(tmp_path, shop, monkeypatch):
    """The service has the last word: if it refuses a row the checks let through (a rule added
    to it later, say), the rows written before it are rolled back and the row is named."""
    from dataio.imports import supplier_products
    from purchasing.exceptions import PurchasingValidationError

    real = supplier_products.supplier_product_upsert

    def strict(**kwargs):
        if kwargs["product"].sku == "TEE-M":
            raise PurchasingValidationError({"unit_cost": ["Not from this supplier."]})
        return real(**kwargs)

    monkeypatch.setattr(supplier_products, "supplier_product_upsert", strict)
    before = offers()
    path = write_csv(
        tmp_path / "p.csv",
        [["supplier", "sku", "unit_cost"], ["BOLT", "MUG-BLUE", "1.00"], ["BOLT", "TEE-M", "2"]],
    )
    with pytest.raises(CommandError, match="Row 3: Not from this supplier."):
        run("import_supplier_products", str(path))
    assert offers() == before
