"""Importing a supplier price list on the back-office pages: upload, preview (rows and their
errors), then the background job; a file with one bad row saves nothing."""

from decimal import Decimal

import pytest
from django.urls import reverse

from inventory.models import Product
from purchasing.models import SupplierProduct
from purchasing.services import supplier_create, supplier_product_upsert
from tests.factories import ProductFactory

from .conftest import user_with
from .test_imports import confirm, csv_bytes, upload, upload_and_preview, xlsx_bytes

pytestmark = pytest.mark.django_db

PRICE_PERMS = (
    "purchasing.view_supplier",
    "purchasing.add_supplierproduct",
    "purchasing.change_supplierproduct",
)
HEADER = ["supplier", "sku", "supplier_sku", "unit_cost", "min_order_quantity", "pack_size"]


@pytest.fixture
def buyer(client):
    user = user_with(*PRICE_PERMS)
    client.force_login(user)
    return user


@pytest.fixture
def acme(db):
    ProductFactory(sku="MUG-BLUE", name="Blue mug")
    ProductFactory(sku="TEE-M", name="T-shirt M")
    return supplier_create(code="ACME", name="Acme", email="po@acme.test")


def costs() -> dict[str, Decimal]:
    return {o.product.sku: o.unit_cost for o in SupplierProduct.objects.select_related("product")}


def test_preview_shows_the_rows_then_the_import_saves_them(buyer, client, acme):
    data = csv_bytes(
        [HEADER, ["ACME", "MUG-BLUE", "AC-1", "3.50", "6", "6"], ["ACME", "TEE-M", "", "5", "", ""]]
    )
    url, preview = upload_and_preview(client, "supplier_products", "prices.csv", data)
    page = preview.content.decode()
    assert "Preview: supplier price list" in page
    assert "2 valid" in page and "0 rejected" in page
    assert "<td>AC-1</td>" in page and "<td>TEE-M</td>" in page
    assert costs() == {}  # nothing before the confirmation
    done = confirm(client, url).content.decode()
    assert "1 product added" not in done and "2 products added to what the suppliers sell" in done
    assert costs() == {"MUG-BLUE": Decimal("3.50"), "TEE-M": Decimal("5.00")}
    offer = SupplierProduct.objects.get(product__sku="MUG-BLUE")
    assert (offer.supplier_sku, offer.min_order_quantity, offer.pack_size) == ("AC-1", 6, 6)


def test_errors_are_named_by_row_and_nothing_is_saved(buyer, client, acme):
    tee = Product.objects.get(sku="TEE-M")
    supplier_product_upsert(supplier=acme, product=tee, unit_cost=Decimal("4.00"))
    data = csv_bytes(
        [
            HEADER,
            ["ACME", "TEE-M", "", "4.50", "", ""],  # valid, but not saved: one file, one go
            ["ZED", "MUG-BLUE", "", "1", "", ""],
            ["ACME", "NOPE", "", "1", "", ""],
            ["ACME", "MUG-BLUE", "", "-2", "0", "x"],
        ]
    )
    url, preview = upload_and_preview(client, "supplier_products", "p.csv", data)
    page = preview.content.decode()
    assert "1 valid" in page and "3 rejected" in page
    assert "Row 3: unknown supplier ZED." in page
    assert "Row 4: unknown sku NOPE." in page
    assert "Row 5: unit_cost must not be negative (got -2)." in page
    assert "Row 5: min_order_quantity must be at least 1 (got 0)." in page
    assert "Row 5: pack_size &#x27;x&#x27; is not a whole number." in page
    assert 'id="import-submit" class="is-disabled" disabled' in page
    # Forcing the confirmation anyway imports nothing, not even the valid row.
    done = confirm(client, url).content.decode()
    assert "Nothing was imported" in done and "Row 3: unknown supplier ZED." in done
    assert costs() == {"TEE-M": Decimal("4.00")}


def test_an_excel_price_list(buyer, client, acme):
    data = xlsx_bytes([HEADER, ["ACME", "MUG-BLUE", "AC-1", 3.25, 12, 4]])
    url, preview = upload_and_preview(client, "supplier_products", "prices.xlsx", data)
    page = preview.content.decode()
    assert "(XLSX)" in page and "1 valid" in page
    confirm(client, url)
    assert costs() == {"MUG-BLUE": Decimal("3.25")}


def test_an_excel_row_error_is_named(buyer, client, acme):
    data = xlsx_bytes([HEADER, ["ACME", "MUG-BLUE", "", 1e15, 1, 1]])
    _url, preview = upload_and_preview(client, "supplier_products", "p.xlsx", data)
    assert "Row 2: unit_cost &#x27;1000000000000000&#x27; is too large." in (
        preview.content.decode()
    )


@pytest.mark.parametrize(
    ("perms", "status"),
    [
        ((), 403),
        (("purchasing.add_supplierproduct",), 403),  # both: a price list adds and changes
        (PRICE_PERMS, 200),
    ],
)
def test_who_may_import_a_price_list(client, perms, status):
    client.force_login(user_with(*perms))
    assert client.get(reverse("imports:upload", args=["supplier_products"])).status_code == status


def test_a_user_without_the_permission_saves_nothing(client, acme):
    client.force_login(user_with("purchasing.view_supplier"))
    response = upload(
        client, "supplier_products", "p.csv", b"supplier,sku,unit_cost\nACME,TEE-M,1\n"
    )
    assert response.status_code == 403
    assert costs() == {}


def test_the_supplier_pages_link_to_the_import(buyer, client, acme):
    link = reverse("imports:upload", args=["supplier_products"])
    assert link in client.get(reverse("purchasing:suppliers")).content.decode()
    assert link in client.get(reverse("purchasing:supplier", args=["ACME"])).content.decode()
    client.force_login(user_with("purchasing.view_supplier"))
    assert link not in client.get(reverse("purchasing:suppliers")).content.decode()
    assert link not in client.get(reverse("purchasing:supplier", args=["ACME"])).content.decode()
    client.force_login(user_with(*PRICE_PERMS, "orders.view_order"))
    assert "Import supplier price list" in client.get(reverse("imports:index")).content.decode()


def test_preview_queries_do_not_grow_with_rows(buyer, client, acme):
    from .test_imports import _preview_queries

    for i in range(40):
        ProductFactory(sku=f"S{i:03d}")

    def prices(n):
        return csv_bytes([HEADER, *[["ACME", f"S{i:03d}", "", "1.00", "", ""] for i in range(n)]])

    assert _preview_queries(client, "supplier_products", prices(40)) == _preview_queries(
        client, "supplier_products", prices(3)
    )
