"""The warehouse pages of one shipment: pack form, ship, deliver, label and packing slip."""

import pytest

from fulfillment.models import ShipmentStatus
from orders.models import OrderStatus

from .conftest import order_of, pick, to_packed

pytestmark = pytest.mark.django_db


def pack_data(**overrides):
    data = {
        "sku_0": "MUG-BLUE",
        "qty_0": "2",
        "sku_1": "TEE-M",
        "qty_1": "1",
        "weight_grams": "1000",
        "length_cm": "30",
        "width_cm": "20",
        "height_cm": "10",
        "carrier_service": "",
    }
    data.update(overrides)
    return data


def test_pack_ship_deliver_through_the_pages(staff_client, stocked, mug, tee, carriers):
    order = order_of({mug: 2, tee: 1})
    shipment = order.shipments.get()
    pick(shipment)
    url = f"/fulfillment/shipments/{shipment.number}/"

    page = staff_client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Proposed: <strong>Parcelo Standard</strong>" in html
    assert 'name="sku_1"' in html

    response = staff_client.post(url + "pack/", pack_data())
    assert response.status_code == 302
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.PACKED

    response = staff_client.post(
        url + "ship/", {"carrier_service": carriers["express"].pk, "tracking_number": ""}
    )
    assert response.status_code == 302
    shipment.refresh_from_db()
    order.refresh_from_db()
    assert shipment.status == ShipmentStatus.SHIPPED
    assert shipment.carrier_service == carriers["express"]
    assert order.status == OrderStatus.SHIPPED
    assert shipment.tracking_number in staff_client.get(url).content.decode()

    label = staff_client.get(url + "label.pdf")
    assert label.status_code == 200 and label.content.startswith(b"%PDF")
    slip = staff_client.get(url + "packing-slip.pdf")
    assert slip["Content-Type"] == "application/pdf" and slip.content.startswith(b"%PDF")

    assert staff_client.post(url + "deliver/").status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED


def test_the_pack_page_asks_for_a_weight_but_does_not_require_it(
    staff_client, stocked, mug, tee, carriers
):
    type(mug).objects.filter(pk__in=[mug.pk, tee.pk]).update(weight_grams=0)
    shipment = order_of({mug: 2, tee: 1}).shipments.get()
    pick(shipment)
    url = f"/fulfillment/shipments/{shipment.number}/"
    html = staff_client.get(url).content.decode()
    assert 'name="weight_grams"' in html
    assert "4.50 EUR + 0.80 per kg (weight not recorded)" in html  # the proposal's price

    response = staff_client.post(url + "pack/", pack_data(weight_grams=""))

    assert response.status_code == 302
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.PACKED and shipment.weight_grams is None
    html = staff_client.get(url).content.decode()
    assert "Weight not recorded, 30 × 20 × 10 cm" in html
    assert "cost depends on the weight" in html


def test_pack_mismatch_shows_the_message_and_keeps_input(staff_client, stocked, mug, tee, carriers):
    shipment = order_of({mug: 2, tee: 1}).shipments.get()
    pick(shipment)
    response = staff_client.post(
        f"/fulfillment/shipments/{shipment.number}/pack/", pack_data(qty_0="3", width_cm="")
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "This field is required" in html  # width
    response = staff_client.post(
        f"/fulfillment/shipments/{shipment.number}/pack/", pack_data(qty_0="3")
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert f"SKU MUG-BLUE: 3 packed but shipment {shipment.number} needs 2." in html
    assert 'value="3"' in html and 'value="1000"' in html
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.PICKING


def test_actions_out_of_turn_show_a_message(staff_client, stocked, mug, carriers):
    shipment = order_of({mug: 1}).shipments.get()
    url = f"/fulfillment/shipments/{shipment.number}/"
    response = staff_client.post(url + "deliver/", follow=True)
    assert "cannot be delivered while it is pending" in response.content.decode()
    response = staff_client.post(
        url + "ship/", {"carrier_service": carriers["standard"].pk}, follow=True
    )
    assert "cannot be shipped while it is pending" in response.content.decode()
    assert staff_client.get("/fulfillment/shipments/SH-999999/").status_code == 404


def test_ship_form_errors_keep_input(staff_client, stocked, mug, carriers):
    shipment = to_packed(order_of({mug: 1}).shipments.get())
    response = staff_client.post(
        f"/fulfillment/shipments/{shipment.number}/ship/",
        {"carrier_service": carriers["standard"].pk, "tracking_number": "bad number!"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "letters, digits or dashes" in html
    assert 'value="bad number!"' in html
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.PACKED


def test_admin_pages_load(client, superuser, stocked, mug, carriers):
    shipment = to_packed(order_of({mug: 1}).shipments.get())
    client.force_login(superuser)
    for url in (
        "/admin/fulfillment/carrier/",
        f"/admin/fulfillment/carrier/{carriers['standard'].carrier_id}/change/",
        "/admin/fulfillment/carrierservice/",
        "/admin/fulfillment/shipment/",
        f"/admin/fulfillment/shipment/{shipment.pk}/change/",
        "/admin/fulfillment/picklist/",
        f"/admin/fulfillment/picklist/{shipment.pick_list_id}/change/",
        "/admin/fulfillment/deliveryfeedback/",
    ):
        assert client.get(url).status_code == 200, url


def test_without_carrier_services_the_pages_pack_and_ship_with_a_typed_carrier(
    staff_client, stocked, mug, tee
):
    """A fresh installation (no CarrierService rows): the pages ask for the carrier's name."""
    import io

    from pdfminer.high_level import extract_text

    order = order_of({mug: 2, tee: 1})
    shipment = order.shipments.get()
    pick(shipment)
    url = f"/fulfillment/shipments/{shipment.number}/"

    html = staff_client.get(url).content.decode()
    assert 'name="carrier_name"' in html and 'name="carrier_service"' not in html
    response = staff_client.post(url + "pack/", {**pack_data(), "carrier_name": ""})
    assert response.status_code == 302
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.PACKED and shipment.carrier_service is None

    html = staff_client.get(url).content.decode()
    assert 'name="carrier_name"' in html and "The carrier&#x27;s own tracking number" in html
    missing = staff_client.post(url + "ship/", {"carrier_name": "", "tracking_number": ""})
    assert missing.status_code == 400
    assert "A parcel must have a carrier" in missing.content.decode()
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.PACKED

    response = staff_client.post(
        url + "ship/", {"carrier_name": "Royal Mail", "tracking_number": "AB123456789GB"}
    )
    assert response.status_code == 302
    shipment.refresh_from_db()
    order.refresh_from_db()
    assert shipment.status == ShipmentStatus.SHIPPED and order.status == OrderStatus.SHIPPED
    assert (shipment.carrier_name, shipment.tracking_number) == ("Royal Mail", "AB123456789GB")
    html = staff_client.get(url).content.decode()
    assert "<dt>Carrier</dt><dd>Royal Mail</dd>" in html and "AB123456789GB" in html

    label = staff_client.get(url + "label.pdf")
    assert label.status_code == 200
    text = extract_text(io.BytesIO(label.content))
    assert "Royal Mail" in text and "AB123456789GB" in text
