"""Labels, packing slips and pick lists print every script (read back from the PDF's text), long
names stay on the 100 × 150 mm label, and a shipment without a carrier has no label."""

import io

import pytest
from pdfminer.high_level import extract_pages, extract_text
from pdfminer.layout import LTChar, LTContainer

from fulfillment import pdf, selectors, services
from fulfillment.models import PickList
from inventory.models import Product, Warehouse
from orders.models import Order

from .conftest import order_of, pick, to_packed

pytestmark = pytest.mark.django_db

NAME = "Łukasz Żółć 王小明"
LINE1 = "Świętokrzyska 1"
LINE2 = "Αθηνά · Москва"
CITY = "東京都渋谷区 さくら"
POSTAL = "서울 04524"
MUG_NAME = "Кружка синяя 青いマグ"
TEE_NAME = "티셔츠 Ελληνικά"


def text_of(content: bytes) -> str:
    """The PDF's text, with runs of white space made one space."""
    assert content.startswith(b"%PDF")
    return " ".join(extract_text(io.BytesIO(content)).split())


def chars_of(content: bytes):
    """(page, character) for every character drawn."""

    def walk(item):
        if isinstance(item, LTChar):
            yield item
        elif isinstance(item, LTContainer):
            for child in item:
                yield from walk(child)

    return [(page, char) for page in extract_pages(io.BytesIO(content)) for char in walk(page)]


@pytest.fixture
def unicode_order(stocked, mug, tee, carriers):
    Warehouse.objects.filter(pk=stocked.pk).update(
        address_line1="Unit 4, Kirkstall Road", postal_code="LS3 1LL", city="Leeds"
    )
    Product.objects.filter(pk=mug.pk).update(name=MUG_NAME)
    Product.objects.filter(pk=tee.pk).update(name=TEE_NAME)
    order = order_of({mug: 2, tee: 1})
    Order.objects.filter(pk=order.pk).update(
        shipping_name=NAME,
        shipping_line1=LINE1,
        shipping_line2=LINE2,
        shipping_city=CITY,
        shipping_postal_code=POSTAL,
    )
    return order


@pytest.fixture
def shipped(unicode_order):
    shipment = unicode_order.shipments.get()
    to_packed(shipment)
    services.shipment_ship(
        data=services.ShipInput(shipment=shipment, tracking_number="PCL123456789GB"), user=None
    )
    return shipment


def url(shipment, document):
    return f"/fulfillment/shipments/{shipment.number}/{document}"


def test_label_prints_every_script_and_the_senders_full_address(staff_client, shipped):
    response = staff_client.get(url(shipped, "label.pdf"))
    assert response.status_code == 200
    text = text_of(response.content)
    for expected in (NAME, LINE1, LINE2, f"{POSTAL} {CITY}", "PCL123456789GB", shipped.number):
        assert expected in text
    # The sender: the warehouse's full address, not only its name and country.
    for expected in ("Leeds", "Unit 4, Kirkstall Road", "LS3 1LL Leeds", "United Kingdom"):
        assert expected in text
    assert "?" not in text
    assert {page.pageid for page, _ in chars_of(response.content)} == {1}


def test_packing_slip_prints_every_script(staff_client, shipped):
    response = staff_client.get(url(shipped, "packing-slip.pdf"))
    assert response.status_code == 200
    text = text_of(response.content)
    for expected in (NAME, LINE1, LINE2, CITY, "MUG-BLUE", MUG_NAME, "TEE-M", TEE_NAME):
        assert expected in text
    assert "?" not in text.replace("Questions?", "")


def test_pick_list_prints_every_script_with_bins(staff_client, unicode_order):
    shipment = unicode_order.shipments.get()
    pick(shipment)
    pick_list = PickList.objects.get()
    response = staff_client.get(f"/fulfillment/picklists/{pick_list.number}/pdf/")
    assert response.status_code == 200
    text = text_of(response.content)
    for expected in ("C-03", "MUG-BLUE", MUG_NAME, "A-01", "TEE-M", TEE_NAME, shipment.number):
        assert expected in text
    assert "?" not in text


def test_very_long_names_stay_inside_the_label(shipped):
    # Every line as long as its field allows.
    Order.objects.filter(pk=shipped.order_id).update(
        shipping_name=("Łukasz Żółć-Wielkopolski " * 6 + "王小明" * 20)[:200],
        shipping_line1="Świętokrzyska " * 14 + "1",
        shipping_line2="Αθηνά" * 40,
        shipping_postal_code="00-950",
        shipping_city="東京都渋谷区" * 16,
    )
    shipment = selectors.shipment_detail(number=shipped.number)
    content = pdf.label_pdf(shipment)
    chars = chars_of(content)
    pages = {page.pageid: page for page, _ in chars}
    assert list(pages) == [1]
    page = pages[1]
    width, height = page.width, page.height
    assert (round(width * 25.4 / 72), round(height * 25.4 / 72)) == (100, 150)
    margin = 6 * 72 / 25.4 - 0.5  # 6 mm, less half a point of rounding
    outside = [
        c.get_text()
        for _, c in chars
        if c.x0 < margin or c.x1 > width - margin or c.y0 < margin or c.y1 > height - margin
    ]
    assert outside == []
    name_sizes = {round(c.size) for _, c in chars if c.get_text() in "王小明"}
    assert max(name_sizes) < 13  # shrunk from the usual 13 pt
    text = text_of(content)
    assert text.startswith(shipment.carrier.name)
    # Each line of the address is there (wrapped, shrunk, maybe cut with "…"), in order, and the
    # foot of the label (tracking number) is still in its place.
    for expected in ("Łukasz Żółć-Wielkopolski", "Świętokrzyska", "ΑθηνάΑθηνά", "00-950 東京都"):
        assert expected in text
    assert "GB" in text.split("00-950 東京都")[-1]
    assert text.endswith("Tracking PCL123456789GB")


def test_no_label_for_a_shipment_without_a_carrier(staff_client, unicode_order):
    shipment = unicode_order.shipments.get()
    page = staff_client.get(url(shipment, ""))
    assert page.status_code == 200
    assert "label.pdf" not in page.content.decode()

    response = staff_client.get(url(shipment, "label.pdf"))
    assert response.status_code == 409
    assert response["Content-Type"].startswith("text/html")
    assert "has no shipping label yet" in response.content.decode()


def test_a_packed_shipment_has_its_label(staff_client, unicode_order):
    shipment = unicode_order.shipments.get()
    to_packed(shipment)
    assert "label.pdf" in staff_client.get(url(shipment, "")).content.decode()
    response = staff_client.get(url(shipment, "label.pdf"))
    assert response.status_code == 200
    assert "Tracking number: assigned at hand-over" in text_of(response.content)
