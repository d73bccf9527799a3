"""The count sheet pages: making a sheet (form errors), counting (saved without touching stock,
bad numbers refused), the printable sheet, posting (409 once posted), what the posted page
shows, and queries that do not grow with the rows."""

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from inventory.cycle_counts import CycleCountInput, cycle_count_create
from inventory.models import CycleCount, CycleCountStatus, StockLevel, StockMovement
from tests.factories import ProductFactory, UserFactory, WarehouseFactory, receive

pytestmark = pytest.mark.django_db

CLERK = [
    "view_stocklevel",
    "view_stockmovement",
    "view_cyclecount",
    "add_cyclecount",
    "change_cyclecount",
    "post_cyclecount",
    "cancel_cyclecount",
]


@pytest.fixture
def clerk(client):
    user = UserFactory(username="clerk", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=CLERK))
    client.force_login(user)
    return user


@pytest.fixture
def leeds(db):
    return WarehouseFactory(code="LDS", name="Leeds", country="GB")


def stock(leeds, prefix: str, rows: int, on_hand: int = 10) -> list:
    products = [ProductFactory(sku=f"{prefix}-{i:03d}", name=f"{prefix} {i}") for i in range(rows)]
    receive(leeds, dict.fromkeys(products, on_hand))
    StockLevel.objects.filter(product__in=products).update(bin_location=prefix)
    return products


def make(leeds, prefix):
    return cycle_count_create(data=CycleCountInput(warehouse="LDS", bin_from=prefix, bin_to=prefix))


def test_making_a_sheet_from_the_form(client, clerk, leeds):
    stock(leeds, "A-01", 2)
    response = client.post(
        reverse("inventory:count_new"),
        {"warehouse": "LDS", "bin_from": "A", "bin_to": "A-01", "reason": "Aisle A"},
    )
    sheet = CycleCount.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("inventory:count", args=[sheet.number])
    page = client.get(response["Location"]).content.decode()
    assert f"Count sheet {sheet.number}" in page
    assert "A-01-000" in page and "A-01-001" in page
    assert "2 rows, 0 counted" in page


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"warehouse": "LDS", "bin_from": "B", "bin_to": "A"},
            "The range ends (A) before it starts",
        ),
        ({"warehouse": "LDS", "bin_from": "Z"}, "LDS has no stock rows with a bin in this range"),
        ({"warehouse": "OLD"}, "Select a valid choice"),  # inactive: not offered
        ({"warehouse": "LDS", "bin_from": "A" * 33}, "at most 32 characters"),
    ],
)
def test_the_form_names_what_is_wrong(client, clerk, leeds, body, message):
    WarehouseFactory(code="OLD", is_active=False)
    stock(leeds, "A-01", 1)
    response = client.post(reverse("inventory:count_new"), body)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not CycleCount.objects.exists()


def test_a_nul_byte_is_refused_before_the_form(client, clerk, leeds):
    stock(leeds, "A-01", 1)
    response = client.post(reverse("inventory:count_new"), {"warehouse": "LDS", "reason": "a\x00"})
    assert response.status_code == 400
    assert not CycleCount.objects.exists()


def test_counts_are_saved_on_the_sheet_and_stock_is_untouched(client, clerk, leeds):
    stock(leeds, "A-01", 3)
    made = make(leeds, "A-01")
    url = reverse("inventory:count", args=[made.cycle_count.number])
    first, second, third = made.lines
    shown = f"{first.pk}:,{second.pk}:,{third.pk}:"
    response = client.post(
        url,
        {
            "shown": shown,
            f"line-{first.pk}": "7",
            f"line-{second.pk}": " 0 ",
            f"line-{third.pk}": "",
        },
    )
    assert response.status_code == 302
    assert [line.counted for line in made.cycle_count.lines.order_by("position")] == [7, 0, None]
    assert set(StockLevel.objects.values_list("on_hand", flat=True)) == {10}
    # A second person's page still showed the rows empty: their save writes only what they
    # typed, and keeps the first person's counts.
    client.post(url, {"shown": shown, f"line-{first.pk}": "", f"line-{third.pk}": "4"})
    assert [line.counted for line in made.cycle_count.lines.order_by("position")] == [7, 0, 4]


@pytest.mark.parametrize("bad", ["-1", "2.5", "abc", "99999999999999999999", "1000001", "٣"])
def test_a_count_that_is_not_a_number_of_units_is_refused(client, clerk, leeds, bad):
    stock(leeds, "A-01", 2)
    made = make(leeds, "A-01")
    first, second = made.lines
    response = client.post(
        reverse("inventory:count", args=[made.cycle_count.number]),
        {f"line-{first.pk}": "5", f"line-{second.pk}": bad},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "nothing was saved" in html
    assert "A count is a whole number from 0 to 1,000,000." in html
    assert not made.cycle_count.lines.filter(counted__isnull=False).exists()


def test_posting_shows_the_variances_and_a_second_post_is_409(client, clerk, leeds):
    products = stock(leeds, "A-01", 3)
    made = make(leeds, "A-01")
    first, second, _third = made.lines
    url = reverse("inventory:count", args=[made.cycle_count.number])
    client.post(url, {f"line-{first.pk}": "7", f"line-{second.pk}": "12"})
    receive(leeds, {products[1]: 1})  # stock moves before posting

    post = reverse("count_post", args=[made.cycle_count.number])
    response = client.post(post, {"reason": "Aisle A"}, follow=True)

    assert response.status_code == 200
    html = response.content.decode()
    assert "2 variances written to the stock ledger, 1 row not counted left alone" in html
    assert f"reference <strong>{made.cycle_count.number}</strong>" in html
    # -3 at cost 4.00 and +1 (12 counted, 11 in the books at posting) = -2 units, -8.00 at cost
    # and -20.00 at price (factories: cost 4.00, price 10.00).
    assert "net -2 units" in html
    assert "Value at cost -8.00 EUR, at price -20.00 EUR" in html
    assert 'class="late" title="Stock moved between making the sheet and posting it' in html
    assert StockMovement.objects.filter(reference=made.cycle_count.number).count() == 2

    again = client.post(post, {"reason": "Aisle A"})
    assert again.status_code == 409
    assert "is posted: it cannot be changed or posted" in again.content.decode()
    save = client.post(url, {f"line-{first.pk}": "1"})
    assert save.status_code == 409
    assert StockMovement.objects.filter(reference=made.cycle_count.number).count() == 2


def test_posting_nothing_counted_is_a_form_error(client, clerk, leeds):
    stock(leeds, "A-01", 1)
    made = make(leeds, "A-01")
    response = client.post(reverse("count_post", args=[made.cycle_count.number]), {})
    assert response.status_code == 400
    assert "Nothing is counted on this sheet yet" in response.content.decode()
    made.cycle_count.refresh_from_db()
    assert made.cycle_count.status == CycleCountStatus.OPEN


def test_the_printable_sheet_is_blind(client, clerk, leeds):
    stock(leeds, "A-01", 2, on_hand=987)
    made = make(leeds, "A-01")
    html = client.get(reverse("inventory:count_print", args=[made.cycle_count.number])).content
    html = html.decode()
    assert "A-01-000" in html and "Counted by" in html
    assert "987" not in html


def test_cancelling(client, clerk, leeds):
    stock(leeds, "A-01", 1)
    made = make(leeds, "A-01")
    response = client.post(reverse("inventory:count_cancel", args=[made.cycle_count.number]))
    assert response.status_code == 302
    made.cycle_count.refresh_from_db()
    assert made.cycle_count.status == CycleCountStatus.CANCELLED


@pytest.mark.parametrize("name", ["inventory:count", "inventory:count_print"])
def test_the_sheet_pages_do_not_grow_queries_with_rows(client, clerk, leeds, name):
    def queries(prefix, rows, posted):
        stock(leeds, prefix, rows)
        made = make(leeds, prefix)
        url = reverse("inventory:count", args=[made.cycle_count.number])
        client.post(url, {f"line-{line.pk}": "9" for line in made.lines})
        if posted:
            client.post(reverse("count_post", args=[made.cycle_count.number]))
        with CaptureQueriesContext(connection) as captured:
            response = client.get(reverse(name, args=[made.cycle_count.number]))
        assert response.status_code == 200
        return len(captured.captured_queries)

    assert queries("S", 2, False) == queries("L", 40, False)
    assert queries("P", 2, True) == queries("Q", 40, True)


def test_the_list_and_the_stock_page_link_the_sheets(client, clerk, leeds):
    stock(leeds, "A-01", 1)
    made = make(leeds, "A-01")
    assert reverse("inventory:counts") in client.get(reverse("inventory:stock")).content.decode()
    listing = client.get(reverse("inventory:counts")).content.decode()
    assert made.cycle_count.number in listing and "whole warehouse" not in listing
    assert client.get(reverse("inventory:counts") + "?page=999999&status=x").status_code == 200


def test_the_list_does_not_grow_queries_with_sheets(client, clerk, leeds):
    stock(leeds, "A-01", 1)
    make(leeds, "A-01")
    with CaptureQueriesContext(connection) as one:
        assert client.get(reverse("inventory:counts")).status_code == 200
    for _ in range(15):
        make(leeds, "A-01")
    with CaptureQueriesContext(connection) as many:
        html = client.get(reverse("inventory:counts")).content.decode()
    assert len(many.captured_queries) == len(one.captured_queries)
    assert html.count("bins A-01 to A-01") == 0 and html.count("A-01 to A-01") == 16
