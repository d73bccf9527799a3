"""The purchasing clerk's pages: suppliers, purchase orders, receiving against them."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from inventory.models import StockLevel, StockMovement
from orders.models import OrderStatus
from purchasing.models import (
    PurchaseOrder,
    PurchaseOrderEvent,
    PurchaseOrderStatus,
    Supplier,
    SupplierProduct,
)
from purchasing.services import (
    PurchaseOrderLineInput,
    purchase_order_create,
    purchase_order_send,
    supplier_create,
    supplier_product_upsert,
)
from tests.factories import ProductFactory, UserFactory, WarehouseFactory, place

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _setup(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    call_command("setup_groups", stdout=open("/dev/null", "w"))  # noqa: SIM115


def member(group: str):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def clerk(client):
    user = member("Purchasing staff")
    client.force_login(user)
    return user


@pytest.fixture
def leeds():
    return WarehouseFactory(code="LDS", name="Leeds", country="GB")


@pytest.fixture
def mug():
    return ProductFactory(sku="MUG-BLUE", name="Blue mug")


@pytest.fixture
def tee():
    return ProductFactory(sku="TEE-M", name="T-shirt M")


@pytest.fixture
def acme(mug, tee):
    supplier = supplier_create(
        code="ACME", name="Acme Supply", email="po@acme.test", currency="GBP", lead_time_days=5
    )
    supplier_product_upsert(
        supplier=supplier, product=mug, unit_cost=Decimal("3.50"), supplier_sku="AC-MUG"
    )
    supplier_product_upsert(
        supplier=supplier, product=tee, unit_cost=Decimal("6.00"), min_order_quantity=10
    )
    return supplier


def draft(supplier, warehouse, lines) -> PurchaseOrder:
    return purchase_order_create(
        supplier=supplier.code,
        warehouse=warehouse.code,
        lines=[PurchaseOrderLineInput(sku=p.sku, quantity=q) for p, q in lines.items()],
    ).purchase_order


def sent(supplier, warehouse, lines) -> PurchaseOrder:
    po = draft(supplier, warehouse, lines)
    purchase_order_send(purchase_order=po)
    return po


def pages(po: PurchaseOrder) -> list[str]:
    return [
        reverse("purchasing:orders"),
        reverse("purchasing:orders") + "?status=sent&supplier=ACME&warehouse=LDS&sku=mug-blue",
        reverse("purchasing:order_create"),
        reverse("purchasing:order", args=[po.number]),
        reverse("purchasing:receive", args=[po.number]),
        reverse("purchasing:suppliers"),
        reverse("purchasing:suppliers") + "?q=acme&active=all",
        reverse("purchasing:supplier_create"),
        reverse("purchasing:supplier", args=["ACME"]),
        reverse("purchasing:supplier_edit", args=["ACME"]),
        reverse("purchasing:supplier_product_add", args=["ACME"]),
        reverse("purchasing:supplier_product_edit", args=["ACME", "MUG-BLUE"]),
        reverse("purchasing:supplier_product_lookup", args=["ACME"]) + "?q=MUG",
    ]


# --- access ---------------------------------------------------------------------------------
@pytest.mark.parametrize("group", ["Purchasing staff", "Managers"])
def test_every_page_renders_for_purchasing_staff_and_managers(client, group, acme, leeds, mug):
    po = sent(acme, leeds, {mug: 4})
    client.force_login(member(group))
    for url in pages(po):
        response = client.get(url)
        assert response.status_code == 200, url
    html = client.get("/orders/").content.decode()
    assert f'href="{reverse("purchasing:orders")}">Purchasing</a>' in html


def test_warehouse_staff_get_403_and_no_navigation(client, acme, leeds, mug):
    po = sent(acme, leeds, {mug: 4})
    client.force_login(member("Warehouse staff"))
    for url in pages(po):
        assert client.get(url).status_code == 403, url
    assert (
        client.post(reverse("purchasing:order_action", args=[po.number, "close"])).status_code
        == 403
    )
    html = client.get(reverse("fulfillment:shipments")).content.decode()
    assert f'href="{reverse("purchasing:orders")}"' not in html
    assert ">Purchasing<" not in html
    # Transfers are the one purchasing page the warehouse has (it ships and receives them).
    assert f'href="{reverse("purchasing:transfers")}">Transfers<' in html


def test_anonymous_goes_to_the_login_page(client, acme, leeds, mug):
    po = sent(acme, leeds, {mug: 4})
    for url in pages(po):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url


# --- suppliers ------------------------------------------------------------------------------
def test_supplier_list_search_and_active_filter(client, clerk, acme):
    supplier_create(code="OLD", name="Old Co", email="old@x.test", is_active=False)
    html = client.get(reverse("purchasing:suppliers")).content.decode()
    assert "ACME" in html and "Old Co" not in html
    html = client.get(reverse("purchasing:suppliers") + "?active=no").content.decode()
    assert "Old Co" in html and "Acme Supply" not in html
    html = client.get(reverse("purchasing:suppliers") + "?active=all&q=old").content.decode()
    assert "Old Co" in html and "Acme Supply" not in html


def test_supplier_detail_lists_what_it_sells(client, clerk, acme):
    html = client.get(reverse("purchasing:supplier", args=["ACME"])).content.decode()
    for text in ("MUG-BLUE", "AC-MUG", "3.50 GBP", "TEE-M", "5 days (supplier"):
        assert text in html


def test_create_and_edit_a_supplier(client, clerk):
    response = client.post(
        reverse("purchasing:supplier_create"),
        {
            "code": "nova",
            "name": "Nova",
            "email": "n@nova.test",
            "currency": "eur",
            "lead_time_days": "9",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    nova = Supplier.objects.get(code="NOVA")
    assert (nova.currency, nova.lead_time_days) == ("EUR", 9)
    response = client.post(
        reverse("purchasing:supplier_edit", args=["NOVA"]),
        {"name": "Nova Ltd", "email": "n@nova.test", "currency": "EUR", "lead_time_days": "3"},
    )
    assert response.status_code == 302
    nova.refresh_from_db()
    assert (nova.name, nova.lead_time_days, nova.is_active) == ("Nova Ltd", 3, False)


def test_a_duplicate_supplier_code_is_a_form_error_from_the_service(client, clerk, acme):
    response = client.post(
        reverse("purchasing:supplier_create"),
        {
            "code": "acme",
            "name": "Again",
            "email": "a@a.test",
            "currency": "EUR",
            "lead_time_days": "1",
        },
    )
    assert response.status_code == 200
    assert "A supplier with code ACME exists already." in response.content.decode()
    assert Supplier.objects.count() == 1


def test_a_bad_currency_is_a_form_error_from_the_service(client, clerk, acme):
    response = client.post(
        reverse("purchasing:supplier_edit", args=["ACME"]),
        {"name": "Acme", "email": "a@a.test", "currency": "E1", "lead_time_days": "1"},
    )
    assert response.status_code == 200
    assert "three-letter ISO 4217 code" in response.content.decode()


def test_add_and_edit_a_supplier_product(client, clerk, acme):
    ProductFactory(sku="CAP-RED")
    response = client.post(
        reverse("purchasing:supplier_product_add", args=["ACME"]),
        {
            "sku": "cap-red",
            "supplier_sku": "AC-CAP",
            "unit_cost": "2.25",
            "min_order_quantity": "12",
            "pack_size": "6",
            "lead_time_days": "",
            "preferred": "on",
        },
    )
    assert response.status_code == 302
    row = SupplierProduct.objects.get(supplier=acme, product__sku="CAP-RED")
    assert (row.unit_cost, row.min_order_quantity, row.pack_size, row.preferred) == (
        Decimal("2.25"),
        12,
        6,
        True,
    )
    response = client.post(
        reverse("purchasing:supplier_product_edit", args=["ACME", "CAP-RED"]),
        {
            "supplier_sku": "AC-CAP",
            "unit_cost": "2.00",
            "min_order_quantity": "1",
            "pack_size": "1",
            "lead_time_days": "20",
        },
    )
    assert response.status_code == 302
    row.refresh_from_db()
    assert (row.unit_cost, row.lead_time_days, row.preferred) == (Decimal("2.00"), 20, False)


def test_an_unknown_sku_is_a_form_error(client, clerk, acme):
    response = client.post(
        reverse("purchasing:supplier_product_add", args=["ACME"]),
        {"sku": "NOPE", "unit_cost": "1", "min_order_quantity": "1", "pack_size": "1"},
    )
    assert response.status_code == 200
    assert "Unknown SKU NOPE." in response.content.decode()


# --- purchase order list ----------------------------------------------------------------------
def test_list_filters(client, clerk, acme, leeds, mug, tee):
    york = WarehouseFactory(code="YRK", country="GB")
    a = sent(acme, leeds, {mug: 4})
    b = draft(acme, york, {tee: 10})
    url = reverse("purchasing:orders")

    def shown(query):
        html = client.get(url + query).content.decode()
        return {po.number for po in (a, b) if po.number in html}

    assert shown("") == {a.number, b.number}
    assert shown("?status=sent") == {a.number}
    assert shown("?warehouse=YRK") == {b.number}
    assert shown("?sku=tee-m") == {b.number}
    assert shown("?supplier=ACME&sku=MUG-BLUE") == {a.number}
    assert shown("?status=nonsense&warehouse=YRK") == {b.number}  # the bad value is ignored
    html = client.get(url).content.decode()
    assert "14.00 GBP" in html  # 4 × 3.50
    assert client.get(url + "?status=nonsense&page=xyz").status_code == 200


def test_list_query_count_does_not_grow_with_rows(client, clerk, acme, leeds, mug, tee):
    url = reverse("purchasing:orders")

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    draft(acme, leeds, {mug: 1})
    few = count()
    for _ in range(8):
        draft(acme, leeds, {mug: 2, tee: 10})
    assert count() == few


def test_filtered_list_query_count_does_not_grow_with_rows(client, clerk, acme, leeds, mug, tee):
    url = reverse("purchasing:orders") + "?supplier=ACME&warehouse=LDS&sku=MUG-BLUE&status=draft"

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    draft(acme, leeds, {mug: 1})
    few = count()
    for _ in range(8):
        draft(acme, leeds, {mug: 2, tee: 10})
    assert count() == few


# --- create -----------------------------------------------------------------------------------
def po_form(**extra):
    data = {
        "supplier": "ACME",
        "warehouse": "LDS",
        "expected_at": "",
        "notes": "",
        "lines-TOTAL_FORMS": "3",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "200",
        "lines-0-sku": "mug-blue",
        "lines-0-quantity": "24",
        "lines-0-unit_cost": "",
        "lines-1-sku": "TEE-M",
        "lines-1-quantity": "10",
        "lines-1-unit_cost": "5.75",
    }
    data.update(extra)
    return data


def test_create_a_draft_through_the_form(client, clerk, acme, leeds, mug, tee):
    response = client.post(reverse("purchasing:order_create"), po_form())
    po = PurchaseOrder.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("purchasing:order", args=[po.number])
    assert po.status == PurchaseOrderStatus.DRAFT and po.created_by == clerk
    lines = {line.product.sku: (line.quantity, line.unit_cost) for line in po.lines.all()}
    assert lines == {"MUG-BLUE": (24, Decimal("3.50")), "TEE-M": (10, Decimal("5.75"))}
    assert po.expected_at == timezone.localdate() + datetime.timedelta(days=5)  # lead time


def test_create_shows_the_services_line_errors(client, clerk, acme, leeds, mug, tee):
    ProductFactory(sku="CAP-RED")
    response = client.post(
        reverse("purchasing:order_create"),
        po_form(**{"lines-1-quantity": "3", "lines-2-sku": "CAP-RED", "lines-2-quantity": "1"}),
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "below the minimum order quantity of 10" in html
    assert "supplier ACME does not sell CAP-RED" in html
    assert not PurchaseOrder.objects.exists()


def test_create_with_a_past_date_is_a_form_error(client, clerk, acme, leeds, mug, tee):
    response = client.post(reverse("purchasing:order_create"), po_form(expected_at="2001-01-01"))
    assert response.status_code == 200
    assert "is in the past" in response.content.decode()
    assert not PurchaseOrder.objects.exists()


def test_the_sku_lookup_gives_the_suppliers_cost(client, clerk, acme):
    response = client.get(reverse("purchasing:supplier_product_lookup", args=["ACME"]) + "?q=mug")
    [row] = response.json()["results"]
    assert row == {
        "sku": "MUG-BLUE",
        "name": "Blue mug",
        "unit_price": "3.50",
        "currency": "GBP",
        "available": 0,
    }


# --- detail and its buttons -------------------------------------------------------------------
def buttons(client, po) -> set[str]:
    html = client.get(reverse("purchasing:order", args=[po.number])).content.decode()
    shown = {
        name
        for name in ("send", "close", "cancel")
        if reverse("purchasing:order_action", args=[po.number, name]) in html
    }
    if reverse("purchasing:receive", args=[po.number]) in html:
        shown.add("receive")
    if reverse("purchasing:order_expected_date", args=[po.number]) in html:
        shown.add("date")
    return shown


def test_the_buttons_follow_the_state(client, clerk, acme, leeds, mug, tee):
    po = draft(acme, leeds, {mug: 4, tee: 10})
    assert buttons(client, po) == {"send", "cancel", "date"}
    purchase_order_send(purchase_order=po)
    assert buttons(client, po) == {"receive", "close", "cancel", "date"}
    client.post(reverse("purchasing:receive", args=[po.number]), {"sku": "MUG-BLUE"})
    po.refresh_from_db()
    assert po.status == PurchaseOrderStatus.PARTIALLY_RECEIVED
    assert buttons(client, po) == {"receive", "close", "date"}  # no cancel: units arrived
    client.post(reverse("purchasing:order_action", args=[po.number, "close"]), {"reason": "x"})
    po.refresh_from_db()
    assert po.status == PurchaseOrderStatus.CLOSED
    assert buttons(client, po) == set()


def test_a_user_without_the_permissions_sees_no_buttons(client, acme, leeds, mug):
    from tests.backoffice.conftest import user_with

    po = draft(acme, leeds, {mug: 4})
    client.force_login(user_with("purchasing.view_purchaseorder"))
    assert buttons(client, po) == set()
    purchase_order_send(purchase_order=po)
    assert buttons(client, po) == set()


def test_detail_shows_lines_total_and_history(client, clerk, acme, leeds, mug, tee):
    po = sent(acme, leeds, {mug: 4, tee: 10})
    html = client.get(reverse("purchasing:order", args=[po.number])).content.decode()
    assert "74.00 GBP" in html  # 4 × 3.50 + 10 × 6.00
    assert "Sent to the supplier" in html and "Created" in html


def test_send_cancel_and_expected_date_from_the_page(client, clerk, acme, leeds, mug):
    po = draft(acme, leeds, {mug: 4})
    client.post(reverse("purchasing:order_action", args=[po.number, "send"]))
    po.refresh_from_db()
    assert po.status == PurchaseOrderStatus.SENT
    later = timezone.localdate() + datetime.timedelta(days=200)
    response = client.post(
        reverse("purchasing:order_expected_date", args=[po.number]),
        {"expected_at": later.isoformat()},
    )
    assert response.status_code == 302
    po.refresh_from_db()
    assert po.expected_at == later
    assert PurchaseOrderEvent.objects.filter(purchase_order=po, type="expected_at_changed").exists()
    client.post(reverse("purchasing:order_action", args=[po.number, "cancel"]), {"reason": "dup"})
    po.refresh_from_db()
    assert po.status == PurchaseOrderStatus.CANCELLED
    # Now nothing is allowed: a stale page's POST gets a message, not a 409 or 500.
    response = client.post(
        reverse("purchasing:order_action", args=[po.number, "send"]), follow=True
    )
    assert response.status_code == 200
    assert "cannot be sent" in response.content.decode()


# --- receiving ----------------------------------------------------------------------------------
def on_hand(product, warehouse) -> int:
    level = StockLevel.objects.filter(product=product, warehouse=warehouse).first()
    return level.on_hand if level else 0


def test_receive_several_lines_in_one_submit(client, clerk, acme, leeds, mug, tee):
    po = sent(acme, leeds, {mug: 4, tee: 10})
    lines = {line.product.sku: line for line in po.lines.all()}
    response = client.post(
        reverse("purchasing:receive", args=[po.number]),
        {
            "sku": "mug-blue",
            "quantity": "",
            f"line_{lines['MUG-BLUE'].pk}": "1",
            f"line_{lines['TEE-M'].pk}": "10",
        },
        follow=True,
    )
    assert response.status_code == 200
    assert on_hand(mug, leeds) == 2 and on_hand(tee, leeds) == 10
    po.refresh_from_db()
    assert po.status == PurchaseOrderStatus.PARTIALLY_RECEIVED
    html = response.content.decode()
    assert "Received 2 × MUG-BLUE, 10 × TEE-M" in html
    assert response.redirect_chain[-1][0] == reverse("purchasing:receive", args=[po.number])
    # The rest: the order is received and the page goes back to the purchase order.
    response = client.post(
        reverse("purchasing:receive", args=[po.number]), {"sku": "MUG-BLUE", "quantity": "2"}
    )
    po.refresh_from_db()
    assert po.status == PurchaseOrderStatus.RECEIVED
    assert response["Location"] == reverse("purchasing:order", args=[po.number])
    assert StockMovement.objects.filter(reference__startswith=po.number).count() == 3


def test_receive_says_which_backorders_got_stock(client, clerk, acme, leeds, mug):
    po = sent(acme, leeds, {mug: 4})
    order = place({mug: 2})
    assert order.status == OrderStatus.BACKORDERED
    response = client.post(
        reverse("purchasing:receive", args=[po.number]),
        {"sku": "MUG-BLUE", "quantity": "3"},
        follow=True,
    )
    assert f"Backorders that got stock: {order.number}." in response.content.decode()
    order.refresh_from_db()
    assert order.status != OrderStatus.BACKORDERED


def test_over_receipt_is_a_form_error_and_changes_nothing(client, clerk, acme, leeds, mug):
    po = sent(acme, leeds, {mug: 4})
    line = po.lines.get()
    response = client.post(
        reverse("purchasing:receive", args=[po.number]),
        {"sku": "MUG-BLUE", "quantity": "3", f"line_{line.pk}": "2"},
    )
    assert response.status_code == 400
    assert (
        f"MUG-BLUE: 5 received, but only 4 of 4 are still outstanding on {po.number}."
        in response.content.decode()
    )
    po.refresh_from_db()
    line.refresh_from_db()
    assert po.status == PurchaseOrderStatus.SENT and line.quantity_received == 0
    assert on_hand(mug, leeds) == 0 and not StockMovement.objects.exists()


def test_receive_refuses_a_sku_not_on_the_order_and_a_draft(client, clerk, acme, leeds, mug, tee):
    po = sent(acme, leeds, {mug: 4})
    response = client.post(reverse("purchasing:receive", args=[po.number]), {"sku": "TEE-M"})
    assert response.status_code == 400
    assert "TEE-M is not on this purchase order." in response.content.decode()
    response = client.post(reverse("purchasing:receive", args=[po.number]), {})
    assert "Scan a SKU or enter a quantity" in response.content.decode()
    other = draft(acme, leeds, {mug: 1})
    response = client.post(reverse("purchasing:receive", args=[other.number]), {"sku": "MUG-BLUE"})
    assert response.status_code == 400
    assert "nothing can be received" in response.content.decode()
    assert not StockMovement.objects.exists()


def test_the_receive_page_is_built_for_a_scanner(client, clerk, acme, leeds, mug):
    po = sent(acme, leeds, {mug: 4})
    html = client.get(reverse("purchasing:receive", args=[po.number])).content.decode()
    assert 'name="sku"' in html and "autofocus" in html
    assert "<strong>4</strong>" in html  # outstanding


# --- hostile input ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url_name, args, data",
    [
        (
            "purchasing:supplier_create",
            (),
            {
                "code": "A B",
                "name": "N",
                "email": "a@a.test",
                "currency": "EUR",
                "lead_time_days": "9" * 40,
            },
        ),
        (
            "purchasing:supplier_edit",
            ("ACME",),
            {"name": "x", "email": "a@a.test", "currency": "EUR", "lead_time_days": "-1"},
        ),
        (
            "purchasing:supplier_product_add",
            ("ACME",),
            {
                "sku": "MUG",
                "unit_cost": "1e400",
                "min_order_quantity": "9" * 30,
                "pack_size": "NaN",
            },
        ),
        (
            "purchasing:supplier_product_edit",
            ("ACME", "MUG-BLUE"),
            {"unit_cost": "Infinity", "min_order_quantity": "0", "pack_size": "1"},
        ),
        (
            "purchasing:order_create",
            (),
            po_form(
                **{
                    "lines-0-quantity": "9" * 50,
                    "lines-1-unit_cost": "1e99999",
                    "lines-1-sku": "TEE-M",
                    "notes": "n" * 5000,
                }
            ),
        ),
        ("purchasing:order_create", (), po_form(**{"lines-TOTAL_FORMS": "99999999"})),
        ("purchasing:order_create", (), po_form(expected_at="99999-99-99")),
    ],
)
def test_hostile_form_input_gives_form_errors(client, clerk, acme, leeds, url_name, args, data):
    response = client.post(reverse(url_name, args=args), data)
    assert response.status_code in (200, 400)
    assert "errorlist" in response.content.decode()
    assert not PurchaseOrder.objects.exists()


def test_hostile_receive_and_date_input(client, clerk, acme, leeds, mug):
    po = sent(acme, leeds, {mug: 4})
    line = po.lines.get()
    url = reverse("purchasing:receive", args=[po.number])
    for data in (
        {"sku": "MUG\x00BLUE"},
        {"sku": "MUG-BLUE", "quantity": "9" * 40},
        {f"line_{line.pk}": "-5"},
        {f"line_{line.pk}": "1e9"},
    ):
        response = client.post(url, data)
        assert response.status_code == 400, data
        assert "errorlist" in response.content.decode()
    response = client.post(
        reverse("purchasing:order_expected_date", args=[po.number]), {"expected_at": "\x00"}
    )
    assert response.status_code == 400  # core.middleware refuses a NUL in any parameter
    response = client.post(
        reverse("purchasing:order_expected_date", args=[po.number]), {"expected_at": "2099-99-99"}
    )
    assert response.status_code == 302
    po.refresh_from_db()
    assert po.status == PurchaseOrderStatus.SENT
    assert on_hand(mug, leeds) == 0
    response = client.get(reverse("purchasing:orders") + "?sku=x%27--&supplier=NOPE&status=9" * 1)
    assert response.status_code == 200


def test_a_nul_in_any_form_is_refused_before_the_view(client, clerk, acme, leeds):
    for url, data in (
        (reverse("purchasing:supplier_create"), {"code": "A\x00B", "name": "N"}),
        (reverse("purchasing:order_create"), po_form(**{"lines-1-sku": "TEE\x00"})),
    ):
        response = client.post(url, data)
        assert response.status_code == 400
    assert not Supplier.objects.exclude(code="ACME").exists()
    assert not PurchaseOrder.objects.exists()
