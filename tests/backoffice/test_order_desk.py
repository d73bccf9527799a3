"""The order desk pages as purchasing staff use them."""

import pytest
from django.urls import reverse

from orders.models import Order, OrderStatus
from tests.factories import ProductFactory, place, receive

pytestmark = pytest.mark.django_db

ENTRY = {
    "channel": "phone",
    "name": "Ada Park",
    "email": "ada@example.com",
    "phone": "+44 20 7946 0000",
    "line1": "1 High St",
    "line2": "",
    "city": "Leeds",
    "postal_code": "LS1 1AA",
    "country": "GB",
    "reference": "",
    "notes": "",
    "lines-TOTAL_FORMS": "2",
    "lines-INITIAL_FORMS": "0",
    "lines-0-sku": "MUG-BLUE",
    "lines-0-quantity": "2",
    "lines-1-sku": "",
    "lines-1-quantity": "",
}


def test_login_required(client):
    response = client.get(reverse("orders:list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_without_permission_forbidden(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("nobody", password="pw"))
    assert client.get(reverse("orders:list")).status_code == 403
    assert client.get(reverse("orders:create")).status_code == 403


def test_phone_order_entered_waits_for_review(client, clerk, mug):
    response = client.post(reverse("orders:create"), ENTRY)
    order = Order.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("orders:detail", args=[order.number])
    assert order.status == OrderStatus.PLACED  # phone orders wait for staff review
    assert order.created_by == clerk
    page = client.get(response["Location"]).content.decode()
    assert "MUG-BLUE" in page
    assert ">Confirm</button>" in page


def test_order_entry_errors_shown_in_place_and_input_kept(client, clerk, mug):
    data = {**ENTRY, "email": "not-an-email", "lines-0-sku": "NOPE"}
    response = client.post(reverse("orders:create"), data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Enter a valid email address." in page
    assert 'value="Ada Park"' in page  # what the user typed is kept
    assert not Order.objects.exists()
    data = {**ENTRY, "lines-0-sku": "NOPE"}
    page = client.post(reverse("orders:create"), data).content.decode()
    assert "unknown SKU NOPE" in page
    assert 'value="NOPE"' in page
    assert not Order.objects.exists()


def test_order_entry_refuses_an_invalid_phone_on_its_field(client, clerk, mug):
    response = client.post(reverse("orders:create"), {**ENTRY, "phone": "+44 7700 900123"})
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "phone": ["'+44 7700 900123' is not a valid phone number."]
    }
    assert 'value="+44 7700 900123"' in response.content.decode()  # kept to be corrected
    assert not Order.objects.exists()


def test_order_entry_reads_a_national_phone_with_the_country_and_shows_names(client, clerk, mug):
    """A number typed without its prefix is read as dialled in the delivery country and
    shown internationally; the country's name comes from django-countries."""
    response = client.post(reverse("orders:create"), {**ENTRY, "phone": "020 7946 0000"})
    order = Order.objects.get()
    assert order.contact_phone.as_e164 == "+442079460000"
    page = client.get(response["Location"]).content.decode()
    assert "+44 20 7946 0000" in page
    assert "<br>United Kingdom</p>" in page  # not the bare code
    entry_page = client.get(reverse("orders:create")).content.decode()
    assert '<option value="DE">Germany (DE)</option>' in entry_page


def test_order_entry_needs_a_line(client, clerk, mug):
    data = {**ENTRY, "lines-0-sku": "", "lines-0-quantity": ""}
    page = client.post(reverse("orders:create"), data).content.decode()
    assert "Add at least one line." in page
    assert not Order.objects.exists()


def test_confirm_from_the_page_reserves_stock(client, clerk, mug):
    order = place({mug: 2}, channel_code="phone")
    response = client.post(reverse("orders:transition", args=[order.number, "confirm"]))
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.ALLOCATED
    page = client.get(reverse("orders:detail", args=[order.number])).content.decode()
    assert "is now allocated" in page


def test_refused_transition_shows_why(client, clerk, mug):
    order = place({mug: 1})
    client.post(reverse("orders:transition", args=[order.number, "cancel"]), {"reason": "dup"})
    response = client.post(
        reverse("orders:transition", args=[order.number, "hold"]), {"reason": "x"}, follow=True
    )
    assert "cannot be put on hold while it is cancelled" in response.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED


def test_cancel_needs_a_reason(client, clerk, mug):
    order = place({mug: 1})
    response = client.post(
        reverse("orders:transition", args=[order.number, "cancel"]), {"reason": ""}, follow=True
    )
    assert "Give a reason to cancel" in response.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.ALLOCATED


def test_transition_without_permission_is_forbidden(client, django_user_model, mug):
    from tests.backoffice.conftest import user_with

    order = place({mug: 1})
    client.force_login(user_with("orders.view_order"))
    response = client.post(
        reverse("orders:transition", args=[order.number, "cancel"]), {"reason": "x"}
    )
    assert response.status_code == 403
    order.refresh_from_db()
    assert order.status == OrderStatus.ALLOCATED
    page = client.get(reverse("orders:detail", args=[order.number])).content.decode()
    assert "Cancel order" not in page  # no button for what one may not do


def test_hold_and_release_buttons(client, clerk, mug):
    order = place({mug: 1})
    page = client.get(reverse("orders:detail", args=[order.number])).content.decode()
    assert ">Hold</button>" in page and "Cancel order" in page and ">Release<" not in page
    client.post(reverse("orders:transition", args=[order.number, "hold"]), {"reason": "fraud?"})
    page = client.get(reverse("orders:detail", args=[order.number])).content.decode()
    assert "fraud?" in page and ">Release</button>" in page
    client.post(reverse("orders:transition", args=[order.number, "release"]))
    order.refresh_from_db()
    assert order.status == OrderStatus.ALLOCATED


def test_substitute_backordered_line(client, clerk, leeds, mug):
    tea = ProductFactory(sku="MUG-RED", name="Red mug")
    receive(leeds, {tea: 5})
    order = place({mug: 5})
    assert order.status == OrderStatus.BACKORDERED
    line = order.lines.get()
    client.post(
        reverse("orders:substitute", args=[order.number, line.pk]),
        {"sku": "MUG-RED", "reason": "Customer agreed"},
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.ALLOCATED
    page = client.get(reverse("orders:detail", args=[order.number])).content.decode()
    assert "replaces MUG-BLUE" in page


def test_substitute_unknown_sku_says_so(client, clerk, mug):
    order = place({mug: 5})
    line = order.lines.get()
    response = client.post(
        reverse("orders:substitute", args=[order.number, line.pk]), {"sku": "NOPE"}, follow=True
    )
    assert "Unknown SKU NOPE." in response.content.decode()


def test_list_filters_and_search(client, clerk, leeds, mug):
    backordered = place({mug: 5}, email="bo@example.com")
    other = ProductFactory(sku="TEE-M")
    receive(leeds, {other: 10})
    allocated = place({other: 1}, email="al@example.com", reference="PO-77")
    url = reverse("orders:list")
    page = client.get(url, {"status": "backordered"}).content.decode()
    assert backordered.number in page and allocated.number not in page
    page = client.get(url, {"q": "TEE-M"}).content.decode()
    assert allocated.number in page and backordered.number not in page
    page = client.get(url, {"q": "PO-77"}).content.decode()
    assert allocated.number in page
    page = client.get(url, {"q": "bo@example.com"}).content.decode()
    assert backordered.number in page and allocated.number not in page
    page = client.get(url, {"backordered": "on"}).content.decode()
    assert backordered.number in page and allocated.number not in page
    page = client.get(url, {"warehouse": "LDS", "ordering": "-total"}).content.decode()
    assert allocated.number in page


def test_list_bad_filter_values_do_not_fail(client, clerk):
    response = client.get(
        reverse("orders:list"), {"status": "nonsense", "placed_after": "yesterday", "page": "x"}
    )
    assert response.status_code == 200


@pytest.mark.parametrize("rows", [3, 30])
def test_list_queries_do_not_grow_with_rows(
    client, clerk, mug, rows, django_assert_max_num_queries
):
    for i in range(rows):
        place({mug: 1}, email=f"c{i}@example.com")
    with django_assert_max_num_queries(12):
        response = client.get(reverse("orders:list"))
    assert response.status_code == 200


@pytest.mark.parametrize("lines", [1, 15])
def test_detail_queries_do_not_grow_with_lines(
    client, clerk, leeds, lines, django_assert_max_num_queries
):
    products = [ProductFactory(sku=f"P-{i}") for i in range(lines)]
    receive(leeds, dict.fromkeys(products, 2))
    order = place(dict.fromkeys(products, 1))
    with django_assert_max_num_queries(20):
        response = client.get(reverse("orders:detail", args=[order.number]))
    assert response.status_code == 200


def test_product_lookup_shows_availability(client, clerk, mug):
    place({mug: 1})
    data = client.get(reverse("orders:product-lookup"), {"q": "MUG"}).json()
    assert data["results"] == [
        {
            "sku": "MUG-BLUE",
            "name": "Blue mug",
            "unit_price": "10.00",
            "currency": "EUR",
            "available": 2,
        }
    ]


def test_customer_page_shows_orders_and_figures(client, clerk, mug):
    order = place({mug: 2})
    customer = order.customer
    page = client.get(reverse("customers:list"), {"q": "ada@"}).content.decode()
    assert customer.name in page
    assert "+44 20 7946 0000" in page  # the phone as stored (E.164), shown international
    assert "United Kingdom" in page  # the country's name (django-countries)
    # Found by the phone as people type it, whatever the spacing and the trunk 0.
    for typed in ("020 7946 0000", "7946 0000", "+44 20 7946 0000"):
        page = client.get(reverse("customers:list"), {"q": typed}).content.decode()
        assert customer.name in page, typed
    page = client.get(reverse("customers:list"), {"q": "020 7946 0001"}).content.decode()
    assert customer.name not in page
    page = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert order.number in page
    assert "1 orders · 2 units" in page


def test_a_stale_page_changes_nothing(client, clerk, mug):
    """Two people on the same order: the second click, made on an out-of-date page, is refused."""
    order = place({mug: 1})
    url = reverse("orders:transition", args=[order.number, "hold"])
    client.post(url, {"reason": "first", "status": "allocated"})
    response = client.post(
        reverse("orders:transition", args=[order.number, "cancel"]),
        {"reason": "second", "status": "allocated"},
        follow=True,
    )
    assert "was changed meanwhile and is now on hold" in response.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.ON_HOLD


@pytest.mark.parametrize("orders", [1, 6])
def test_customer_page_shows_returns_and_ratings(
    client, clerk, leeds, orders, django_assert_max_num_queries
):
    from fulfillment.services import feedback_submit
    from tests.factories import return_request_create
    from tests.returns.conftest import deliver, ship

    product = ProductFactory(sku="VASE")
    receive(leeds, {product: orders})
    placed = [place({product: 1}) for _ in range(orders)]
    for order in placed:
        ship(order)
        deliver(order)
        feedback_submit(order=order, rating=4, comment="Quick and tidy")
        return_request_create(
            order=order, lines=[{"sku": "VASE", "quantity": 1, "reason": "changed_mind"}]
        )
    customer = placed[0].customer
    with django_assert_max_num_queries(14):
        page = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert page.count("4 / 5") == orders
    assert "Quick and tidy" in page
    assert page.count(">RMA-") == orders


# --- issue 12: found when tried as a new user ------------------------------------------------
def test_warehouse_filter_has_a_label(client, clerk, mug):
    page = client.get(reverse("orders:list")).content.decode()
    assert "[invalid name]" not in page
    assert '<label for="id_warehouse">Warehouse</label>' in page


@pytest.mark.parametrize("term", ["HOM-002-SD", "hom-002-sd", "HOM-002", "hom-002"])
def test_search_finds_an_order_by_sku(client, clerk, leeds, mug, term):
    sofa = ProductFactory(sku="HOM-002-SD")
    receive(leeds, {sofa: 5})
    with_sofa = place({sofa: 1}, email="sofa@example.com")
    without = place({mug: 1}, email="mug@example.com")
    page = client.get(reverse("orders:list"), {"q": term}).content.decode()
    assert with_sofa.number in page
    assert without.number not in page


def test_customer_lifetime_value_is_money_with_currency(client, clerk, leeds):
    from decimal import Decimal

    product = ProductFactory(sku="LAMP", unit_price=Decimal("1089.237"))
    receive(leeds, {product: 10})
    order = place({product: 3})
    page = client.get(reverse("customers:detail", args=[order.customer.pk])).content.decode()
    total = Order.objects.get(pk=order.pk).total
    assert f"{total:.2f} EUR in value" in page
    assert "0000" not in page.split("in value")[0].rsplit("<p>", 1)[-1]


def test_order_page_shows_the_contact_details_given_with_the_order(client, clerk, mug):
    first = place({mug: 1}, email="ada@example.com")
    customer = first.customer
    customer.phone = "+44 20 0000 0001"
    customer.save()
    response = client.post(reverse("orders:create"), {**ENTRY, "phone": "+44 7400 123456"})
    order = Order.objects.exclude(pk=first.pk).get()
    assert order.customer == customer and order.contact_phone == "+44 7400 123456"
    page = client.get(response["Location"]).content.decode()
    assert "+44 7400 123456" in page
    assert "+44 20 0000 0001" not in page


@pytest.mark.parametrize("name", ["hold", "cancel"])
def test_hold_and_cancel_reasons_follow_one_rule(client, clerk, mug, name):
    order = place({mug: 1})
    url = reverse("orders:transition", args=[order.number, name])
    response = client.post(url, {"reason": "", "status": "allocated"}, follow=True)
    assert "Give a reason to" in response.content.decode()
    assert "at most 255 characters" in response.content.decode()
    response = client.post(url, {"reason": "x" * 256, "status": "allocated"}, follow=True)
    page = response.content.decode()
    assert "The reason may be at most 255 characters long; this one has 256." in page
    order.refresh_from_db()
    assert order.status == OrderStatus.ALLOCATED  # neither was accepted
    response = client.post(url, {"reason": "y" * 255, "status": "allocated"}, follow=True)
    order.refresh_from_db()
    assert order.status == (OrderStatus.ON_HOLD if name == "hold" else OrderStatus.CANCELLED)
    assert order.events.filter(message="y" * 255).exists()


def _text_inputs_without_maxlength(html: str) -> list[str]:
    import re

    tags = re.findall(r"<(?:input|textarea)\b[^>]*>", html)
    text = [
        t
        for t in tags
        if t.startswith("<textarea")
        or not re.search(r'type="(hidden|checkbox|radio|number|date|submit|file)"', t)
    ]
    return [t for t in text if "maxlength=" not in t]


def test_every_text_input_of_the_order_pages_has_a_maxlength(client, clerk, mug):
    order = place({mug: 5})  # backordered: the substitute form is shown too
    for url in (
        reverse("orders:create"),
        reverse("orders:detail", args=[order.number]),
        reverse("orders:list"),
        reverse("customers:list"),
    ):
        page = client.get(url).content.decode()
        assert _text_inputs_without_maxlength(page) == [], url
    page = client.get(reverse("orders:create")).content.decode()
    assert 'maxlength="5000"' in page  # the notes, refused only after submit before


def test_order_form_takes_a_sku_in_any_case(client, clerk, leeds):
    sofa = ProductFactory(sku="HOM-002-SD")
    receive(leeds, {sofa: 5})
    data = {**ENTRY, "lines-0-sku": " hom-002-sd ", "lines-0-quantity": "2"}
    response = client.post(reverse("orders:create"), data)
    assert response.status_code == 302, response.content.decode()
    order = Order.objects.get()
    assert [(line.product, line.quantity) for line in order.lines.all()] == [(sofa, 2)]
    data = {**ENTRY, "lines-0-sku": "hom-002-sd", "lines-1-sku": "HOM-002-SD"}
    data["lines-1-quantity"] = "1"
    response = client.post(reverse("orders:create"), data)
    assert "already on line 1" in response.content.decode()  # the same SKU, twice
