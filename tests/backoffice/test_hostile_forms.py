"""Hostile input in the back-office: NUL / invalid text in any form field or query parameter is
refused with a 400 page naming the field, ``%00`` in a page's address is a 404, an upload with
a NUL in a cell is rejected naming the row, and nothing is saved. PostgreSQL is the run that
matters (it refuses NUL in text; SQLite stores it)."""

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.api.conftest import (
    carrier_service,  # noqa: F401 (a fixture)
    deliver_order,
    ship_order,
)
from tests.factories import ProductFactory, WarehouseFactory, place, receive

NUL_MESSAGE = "Contains a NUL character; remove it."
BAD_TEXT_MESSAGE = "Contains an unpaired surrogate or bytes that are not UTF-8"
COUNTED = [
    "orders.Order",
    "orders.OrderLine",
    "orders.Customer",
    "orders.OrderEvent",
    "inventory.Product",
    "inventory.StockMovement",
    "fulfillment.Shipment",
    "fulfillment.PickList",
    "returns.ReturnRequest",
]


def row_counts() -> dict[str, int]:
    return {name: apps.get_model(name).objects.count() for name in COUNTED}


@pytest.fixture
def desk(db, admin_user, carrier_service):  # noqa: F811
    """A manager's browser, an allocated order (shipment pending) and a delivered order with a
    requested return."""
    from tests.factories import return_request_create

    client = Client()
    client.force_login(admin_user)
    leeds = WarehouseFactory(code="LDS", country="GB")
    mug = ProductFactory(sku="MUG-BLUE", name="Blue mug")
    receive(leeds, {mug: 10})
    open_order = place({mug: 1})
    delivered = deliver_order(ship_order(place({mug: 1})))
    rma = return_request_create(
        order=delivered, lines=[{"sku": "MUG-BLUE", "quantity": 1, "reason": "other"}]
    )
    return {
        "client": client,
        "order": open_order.number,
        "delivered": delivered.number,
        "shipment": open_order.shipments.get().number,
        "return": rma.number,
        "level": mug.stock_levels.get().pk,
        "leeds": leeds.pk,
    }


def forms(d) -> list[tuple[str, dict]]:
    """(page, a valid-looking form) for every back-office form that writes."""
    order, shipment, rma = d["order"], d["shipment"], d["return"]
    return [
        (
            "/orders/new/",
            {
                "name": "Ada Park",
                "email": "ada@example.com",
                "phone": "+44 1",
                "line1": "1 High St",
                "line2": "",
                "city": "Leeds",
                "postal_code": "LS1 1AA",
                "country": "GB",
                "reference": "PHONE-1",
                "notes": "Ring twice",
                "lines-TOTAL_FORMS": "1",
                "lines-INITIAL_FORMS": "0",
                "lines-0-sku": "MUG-BLUE",
                "lines-0-quantity": "1",
            },
        ),
        (f"/orders/{order}/actions/hold/", {"reason": "Check the address"}),
        (f"/orders/{order}/actions/cancel/", {"reason": "Customer called"}),
        (f"/stock/levels/{d['level']}/adjust/", {"quantity": "5", "reason": "Counted"}),
        (
            "/stock/receive/",
            {
                "warehouse": str(d["leeds"]),
                "reference": "DEL-1",
                "lines-TOTAL_FORMS": "1",
                "lines-INITIAL_FORMS": "0",
                "lines-0-sku": "MUG-BLUE",
                "lines-0-quantity": "1",
            },
        ),
        ("/fulfillment/picklists/create/", {"shipments": shipment, "warehouse": "LDS"}),
        (
            f"/fulfillment/shipments/{shipment}/pack/",
            {"sku_0": "MUG-BLUE", "qty_0": "1", "weight_grams": "500"},
        ),
        (f"/fulfillment/shipments/{shipment}/ship/", {"tracking_number": "T-1"}),
        (
            "/returns/new/",
            {
                "order": d["delivered"],
                "qty_MUG-BLUE": "1",
                "reason_MUG-BLUE": "other",
                "note_MUG-BLUE": "Chipped",
            },
        ),
        (f"/returns/{rma}/reject/", {"reason": "Outside the window"}),
        (f"/returns/{rma}/cancel/", {"reason": "Withdrawn"}),
    ]


@pytest.mark.django_db
def test_nul_in_any_form_field_is_refused_naming_the_field(desk):
    client = desk["client"]
    failures = []
    for page, data in forms(desk):
        for field in data:
            before = row_counts()
            response = client.post(page, {**data, field: f"{data[field]}\x00x"})
            text = response.content.decode()
            if response.status_code != 400 or NUL_MESSAGE not in text or field not in text:
                failures.append((page, field, response.status_code))
            if row_counts() != before:
                failures.append((page, field, "rows changed"))
    assert failures == []


@pytest.mark.django_db
def test_surrogates_and_bytes_that_are_not_utf8_are_refused(desk):
    client = desk["client"]
    before = row_counts()
    for encoded in ("%ED%A0%80", "%FF", "%C3"):  # a UTF-8-encoded surrogate, stray bytes
        response = client.generic(
            "POST",
            f"/orders/{desk['order']}/actions/hold/",
            f"reason=ab{encoded}cd",
            content_type="application/x-www-form-urlencoded",
        )
        assert response.status_code == 400
        assert BAD_TEXT_MESSAGE in response.content.decode()
        assert "reason" in response.content.decode()
    assert row_counts() == before


@pytest.mark.django_db
def test_nul_in_multipart_fields_and_in_query_strings_is_refused(desk):
    client = desk["client"]
    before = row_counts()
    response = client.post(
        "/data/import/products/",
        {"file": SimpleUploadedFile("p.csv", b"sku,name\nA,B\n"), "note": "a\x00b"},
    )
    assert response.status_code == 400
    assert NUL_MESSAGE in response.content.decode()
    for page in ("/orders/?q=%00", "/customers/?q=a%00", "/stock/?q=%00", "/returns/?q=%00"):
        response = client.get(page)
        assert response.status_code == 400, page
        assert NUL_MESSAGE in response.content.decode()
    assert row_counts() == before


@pytest.mark.django_db
def test_nul_in_a_page_address_is_a_404(desk):
    client = desk["client"]
    for page in (
        "/orders/SO%00/",
        f"/orders/{desk['order']}%00/actions/hold/",
        "/fulfillment/shipments/SH%00/",
        "/fulfillment/picklists/PL%00/",
        "/returns/RMA%00/",
        "/stock/products/MUG%00/ledger/",
    ):
        response = client.get(page)
        assert response.status_code == 404, page


@pytest.mark.django_db
def test_a_page_past_any_range_shows_the_last_page(desk):
    client = desk["client"]
    for page in ("/orders/", "/stock/", "/customers/", "/returns/"):
        response = client.get(f"{page}?page=9223372036854775807")
        assert response.status_code == 200, page


@pytest.mark.django_db
def test_an_import_with_a_nul_in_a_cell_is_rejected_naming_the_row(desk):
    client = desk["client"]
    before = row_counts()
    # Past the first 8 KB, where the "binary file" check does not look.
    rows = "".join(f"P-{i},Product {i},1.00\n" for i in range(400))
    data = f"sku,name,unit_price\n{rows}BAD,Bad\x00name,1.00\n".encode()
    assert len(data) > 8192
    response = client.post(
        "/data/import/products/", {"file": SimpleUploadedFile("p.csv", data)}, follow=True
    )
    text = response.content.decode()
    assert "Row 402, column &#x27;name&#x27;: Contains a NUL character; remove it." in text
    assert row_counts() == before


@pytest.mark.django_db
def test_a_malformed_multipart_body_is_a_400(desk):
    response = desk["client"].generic(
        "POST", "/data/import/products/", b"--x\r\n", content_type="multipart/form-data"
    )
    assert response.status_code == 400
    assert "malformed multipart body" in response.content.decode()
