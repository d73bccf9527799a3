"""The transfer pages: the list (in transit, filters, queries that do not grow with rows), a new
transfer with its form errors, one transfer with what it shows and the buttons each role gets,
and shipping and receiving from its page."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from inventory.models import StockLevel
from orders.models import OrderStatus
from purchasing.models import Transfer, TransferStatus
from purchasing.services import TransferLineInput, transfer_create, transfer_ship
from tests.factories import ProductFactory, UserFactory, WarehouseFactory, place, receive

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _groups():
    call_command("setup_groups", stdout=open("/dev/null", "w"))  # noqa: SIM115


def member(client, group: str, username: str):
    user = UserFactory(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    client.force_login(user)
    return user


@pytest.fixture
def clerk(client):
    member(client, "Purchasing staff", "clerk")
    return client


@pytest.fixture
def world(db):
    madrid = WarehouseFactory(code="MAD", name="Madrid", country="ES")
    leeds = WarehouseFactory(code="LDS", name="Leeds", country="GB")
    mug = ProductFactory(sku="MUG-BLUE", name="Blue mug")
    tee = ProductFactory(sku="TEE-M", name="T-shirt M")
    receive(madrid, {mug: 10, tee: 1})
    return madrid, leeds, mug, tee


def create(lines, source="MAD", destination="LDS") -> Transfer:
    return transfer_create(
        source=source,
        destination=destination,
        lines=[TransferLineInput(sku=p.sku, quantity=q) for p, q in lines.items()],
    ).transfer


def form_body(source="MAD", destination="LDS", lines=(), notes=""):
    body = {
        "source": source,
        "destination": destination,
        "notes": notes,
        "lines-TOTAL_FORMS": "3",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "200",
    }
    for i, (sku, quantity) in enumerate(lines):
        body[f"lines-{i}-sku"] = sku
        body[f"lines-{i}-quantity"] = str(quantity)
    return body


def test_a_clerk_requests_a_transfer(clerk, world):
    response = clerk.post(
        reverse("purchasing:transfer_create"),
        form_body(lines=[("mug-blue", 4), ("TEE-M", 1)], notes="Before the sale"),
    )
    transfer = Transfer.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("purchasing:transfer", args=[transfer.number])
    page = clerk.get(response["Location"]).content.decode()
    assert f"Transfer {transfer.number} requested" in page
    assert "Ship from MAD" in page and "Before the sale" in page
    assert [(line.product.sku, line.quantity) for line in transfer.lines.all()] == [
        ("MUG-BLUE", 4),
        ("TEE-M", 1),
    ]


@pytest.mark.parametrize(
    "body, shown",
    [
        (
            form_body(destination="MAD", lines=[("MUG-BLUE", 1)]),
            "the source and the destination are both MAD",
        ),
        (form_body(lines=[("NOPE", 1)]), "Line 1: unknown SKU NOPE."),
        (form_body(lines=[("MUG-BLUE", 0)]), "Ensure this value is greater than or equal to 1."),
        (form_body(lines=[("MUG-BLUE", "2.5")]), "Enter a whole number."),
        (form_body(lines=[]), "Add at least one line."),
        (form_body(destination="OLD", lines=[("MUG-BLUE", 1)]), "Select a valid choice."),
        (
            form_body(lines=[("MUG-BLUE", 1), ("mug-blue", 2)]),
            "SKU MUG-BLUE is already on line 1",
        ),
    ],
)
def test_form_errors_are_shown_and_nothing_is_created(clerk, world, body, shown):
    WarehouseFactory(code="OLD", is_active=False)
    response = clerk.post(reverse("purchasing:transfer_create"), body)
    assert response.status_code == 400
    assert shown in response.content.decode()
    assert not Transfer.objects.exists()


def test_the_page_of_a_requested_transfer_shows_what_the_source_has(clerk, world):
    madrid, leeds, mug, tee = world
    place({mug: 3})  # reserves 3 of Madrid's 10
    transfer = create({mug: 8, tee: 1})
    page = clerk.get(reverse("purchasing:transfer", args=[transfer.number])).content.decode()
    assert "Available at MAD now" in page
    assert '<strong class="short">7</strong>' in page  # 10 on hand − 3 reserved < 8
    assert 'id="short"' in page
    assert "Ship from MAD" in page and ">Cancel</button>" in page
    assert "Receive at LDS" not in page

    response = clerk.post(
        reverse("purchasing:transfer_action", args=[transfer.number, "ship"]), follow=True
    )
    page = response.content.decode()
    assert "MUG-BLUE: 8 to send, only 7 available at MAD" in page
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.REQUESTED
    assert StockLevel.objects.get(product=mug, warehouse=madrid).on_hand == 10


def test_ship_and_receive_from_the_page_fill_the_backorders_at_the_destination(client, world):
    madrid, leeds, mug, tee = world
    member(client, "Warehouse staff", "picker")
    transfer = create({mug: 10})
    page = client.get(reverse("purchasing:transfer", args=[transfer.number])).content.decode()
    assert "Ship from MAD" in page
    assert ">Cancel</button>" not in page  # the warehouse moves goods; purchasing cancels
    url = reverse("purchasing:transfer_action", args=[transfer.number, "ship"])
    page = client.post(url, follow=True).content.decode()
    assert "in transit to LDS" in page
    assert 'id="in-transit"' in page and "<strong>10</strong> units in transit" in page
    assert 'id="short"' not in page  # nothing more to send: no warning about the source
    assert "Receive at LDS" in page
    waiting = place({mug: 4})
    assert waiting.status == OrderStatus.BACKORDERED  # in transit: available nowhere
    listed = client.get(reverse("purchasing:transfers")).content.decode()
    assert "In transit now: <strong>10</strong> units on 1 transfer" in listed

    url = reverse("purchasing:transfer_action", args=[transfer.number, "receive"])
    page = client.post(url, follow=True).content.decode()
    assert f"Backorders that got stock: {waiting.number}." in page
    waiting.refresh_from_db()
    assert waiting.status == OrderStatus.ALLOCATED
    level = StockLevel.objects.get(product=mug, warehouse=leeds)
    assert (level.on_hand, level.reserved) == (10, 4)
    assert "Receive at LDS" not in page and "Ship from" not in page


def test_the_list_filters_and_its_queries_do_not_grow(clerk, world):
    madrid, leeds, mug, tee = world
    receive(madrid, {tee: 20})
    shipped = create({mug: 2})
    transfer_ship(transfer=shipped)
    back = create({tee: 1}, source="LDS", destination="MAD")
    page = clerk.get(reverse("purchasing:transfers") + "?status=shipped").content.decode()
    assert shipped.number in page and back.number not in page
    page = clerk.get(reverse("purchasing:transfers") + "?source=LDS&sku=tee-m").content.decode()
    assert back.number in page and shipped.number not in page
    bad = clerk.get(reverse("purchasing:transfers") + "?status=lost&page=99999")
    assert bad.status_code == 200

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert clerk.get(reverse("purchasing:transfers")).status_code == 200
        return len(queries)

    few = count()
    for _ in range(5):
        transfer_ship(transfer=create({mug: 1, tee: 2}))
    assert count() == few


def test_the_detail_page_queries_do_not_grow_with_lines(clerk, world):
    madrid, leeds, mug, tee = world
    small = create({mug: 1})
    products = [ProductFactory(sku=f"BULK-{i}") for i in range(8)]
    big = create({mug: 1, **dict.fromkeys(products, 1)})

    def count(transfer) -> int:
        with CaptureQueriesContext(connection) as queries:
            url = reverse("purchasing:transfer", args=[transfer.number])
            assert clerk.get(url).status_code == 200
        return len(queries)

    assert count(big) == count(small)
    assert clerk.get(reverse("purchasing:transfer", args=["TR-999999"])).status_code == 404
