"""Shipments API (staff): list and filters, one shipment, pick / pack / ship / deliver with
their 400 / 403 / 404 / 409 answers."""

import pytest
from django.contrib.auth.models import Permission

from fulfillment.models import Shipment
from inventory.models import StockLevel
from orders.models import Order
from orders.services import order_hold
from tests.factories import ProductFactory, UserFactory, WarehouseFactory, place, receive

from .conftest import token_client

pytestmark = pytest.mark.django_db

SHIPMENTS = "/api/v1/shipments/"


def url(number: str, action: str = "") -> str:
    return f"{SHIPMENTS}{number}/" + (f"{action}/" if action else "")


def partner_order(partner, lines, reference=""):
    return place(lines, channel_code="partner", partner=partner, reference=reference)


@pytest.fixture
def order(partner, stocked, mug, tee, carrier_service):
    return partner_order(partner, {mug: 2, tee: 1})


@pytest.fixture
def shipment(order) -> Shipment:
    return Shipment.objects.get(order=order)


def status_of(shipment) -> str:
    return Shipment.objects.get(pk=shipment.pk).status


# --- reading --------------------------------------------------------------------------------------
def test_shipment_detail_has_the_order_summary_fields_plus_lines(staff_client, order, shipment):
    body = staff_client.get(url(shipment.number)).json()

    assert body["number"] == shipment.number
    assert body["order"] == order.number
    assert body["warehouse"] == "LDS"
    assert body["status"] == "pending"
    assert body["carrier"] is None and body["tracking_number"] is None
    assert body["shipped_at"] is None and body["delivered_at"] is None
    assert sorted((line["sku"], line["quantity"]) for line in body["lines"]) == [
        ("MUG-BLUE", 2),
        ("TEE-M", 1),
    ]
    assert body["available_actions"] == ["pick"]


def test_shipment_list_filters(staff_client, partner, stocked, mug, carrier_service):
    york = WarehouseFactory(code="YRK", name="York", country="GB", priority=200)
    cup = ProductFactory(sku="CUP-ONLY-YORK")
    receive(york, {cup: 5})
    first = partner_order(partner, {mug: 1})
    second = partner_order(partner, {cup: 1})
    staff_client.post(url(Shipment.objects.get(order=first).number, "pick"))

    def numbers(**params):
        response = staff_client.get(SHIPMENTS, params)
        assert response.status_code == 200, response.json()
        return [s["order"] for s in response.json()["results"]]

    assert numbers() == [first.number, second.number]
    assert numbers(status="picking") == [first.number]
    assert numbers(status="pending") == [second.number]
    assert numbers(warehouse="YRK") == [second.number]
    assert numbers(order=first.number) == [first.number]
    assert numbers(order="SO-NOPE") == []
    bad = staff_client.get(SHIPMENTS, {"status": "lost"})
    assert bad.status_code == 400 and "status" in bad.json()


def test_shipments_are_staff_only(partner_client, bare_staff_client, client, shipment):
    assert partner_client.get(SHIPMENTS).status_code == 403
    assert bare_staff_client.get(SHIPMENTS).status_code == 403
    assert client.get(SHIPMENTS).status_code == 401
    assert partner_client.post(url(shipment.number, "pick")).status_code == 403


def test_unknown_shipment_is_404_json(staff_client, db):
    response = staff_client.get(url("SH-999999"))
    assert response.status_code == 404
    assert response.json() == {
        "code": "not_found",
        "detail": "No Shipment matches the given query.",
    }
    assert staff_client.post(url("SH-999999", "pick")).status_code == 404


def test_shipment_list_query_count_does_not_grow(
    staff_client, partner, stocked, mug, carrier_service, django_assert_max_num_queries
):
    def count_queries(n):
        for _ in range(n):
            partner_order(partner, {mug: 1})
        with django_assert_max_num_queries(12) as captured:
            response = staff_client.get(SHIPMENTS, {"page_size": 200})
        assert response.status_code == 200
        return len(captured.captured_queries), response.json()["count"]

    receive(stocked, {mug: 100})
    small, rows = count_queries(5)
    large, more = count_queries(25)
    assert (rows, more) == (5, 30)
    assert large == small


# --- the flow -------------------------------------------------------------------------------------
def test_pick_pack_ship_deliver_with_defaults(staff_client, order, shipment):
    picked = staff_client.post(url(shipment.number, "pick"))
    assert picked.status_code == 200, picked.json()
    assert picked.json()["status"] == "picking"
    assert picked.json()["pick_list"].startswith("PL-")

    packed = staff_client.post(url(shipment.number, "pack"), {}, format="json")
    assert packed.status_code == 200, packed.json()
    body = packed.json()
    assert body["status"] == "packed"
    assert body["weight_grams"] == 750  # 3 units × 250 g (the products' weights)
    assert [body["length_cm"], body["width_cm"], body["height_cm"]] == [30, 20, 10]
    assert (body["carrier"], body["service"]) == ("parcelo", "standard")

    shipped = staff_client.post(url(shipment.number, "ship"), {}, format="json")
    assert shipped.status_code == 200, shipped.json()
    assert shipped.json()["tracking_number"].startswith("PCL")
    assert StockLevel.objects.get(product__sku="MUG-BLUE").on_hand == 8

    delivered = staff_client.post(url(shipment.number, "deliver"))
    assert delivered.status_code == 200
    assert delivered.json()["status"] == "delivered"
    assert Order.objects.get(pk=order.pk).status == "delivered"
    again = staff_client.post(url(shipment.number, "deliver"))
    assert again.status_code == 200 and again.json()["status"] == "delivered"


def test_pack_with_an_empty_body_when_the_products_have_no_weight(
    staff_client, order, shipment, mug, tee
):
    # Weight is optional on products and the pack body is optional in the contract.
    ProductFactory._meta.model.objects.filter(pk__in=[mug.pk, tee.pk]).update(weight_grams=0)
    staff_client.post(url(shipment.number, "pick"))

    packed = staff_client.post(url(shipment.number, "pack"), {}, format="json")

    assert packed.status_code == 200, packed.json()
    body = packed.json()
    assert body["status"] == "packed"
    assert body["weight_grams"] is None  # not recorded
    assert (body["carrier"], body["service"]) == ("parcelo", "standard")
    assert status_of(shipment) == "packed"


def test_pack_with_explicit_lines_measurements_and_carrier(staff_client, shipment):
    staff_client.post(url(shipment.number, "pick"))
    body = {
        "lines": [{"sku": "mug-blue", "quantity": 2}, {"sku": "TEE-M", "quantity": 1}],
        "weight_grams": 1234,
        "length_cm": 40,
        "width_cm": 30,
        "height_cm": 20,
        "carrier": "parcelo/standard",
    }
    response = staff_client.post(url(shipment.number, "pack"), body, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["weight_grams"] == 1234
    assert response.json()["length_cm"] == 40


@pytest.mark.parametrize(
    "body, field",
    [
        ({"lines": [{"sku": "MUG-BLUE", "quantity": 1}]}, "lines"),
        ({"lines": [{"sku": "CAP-RED", "quantity": 1}]}, "lines"),
        ({"lines": [{"sku": "MUG-BLUE", "quantity": -1}]}, "lines"),
        ({"weight_grams": 0}, "weight_grams"),
        ({"length_cm": 5000}, "length_cm"),
        ({"carrier": "Pigeon Post"}, "carrier"),
    ],
)
def test_pack_refuses_bad_input_naming_the_field(staff_client, shipment, body, field):
    staff_client.post(url(shipment.number, "pick"))
    response = staff_client.post(url(shipment.number, "pack"), body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert status_of(shipment) == "picking"


def test_actions_out_of_order_are_409_with_the_current_status(staff_client, shipment):
    for action in ("pack", "ship", "deliver"):
        response = staff_client.post(url(shipment.number, action), {}, format="json")
        assert response.status_code == 409, (action, response.json())
        assert response.json()["status"] == "pending"
        assert shipment.number in response.json()["detail"]
    staff_client.post(url(shipment.number, "pick"))
    again = staff_client.post(url(shipment.number, "pick"))
    assert again.status_code == 409
    assert again.json()["status"] == "picking"


def test_pick_of_an_order_on_hold_is_409(staff_client, order, shipment):
    order_hold(order=order, reason="Customer called")
    response = staff_client.post(url(shipment.number, "pick"))
    assert response.status_code == 409
    assert "on hold" in response.json()["detail"]
    assert status_of(shipment) == "pending"


def test_ship_validates_tracking_number_and_carrier(staff_client, partner, stocked, mug, shipment):
    staff_client.post(url(shipment.number, "pick"))
    staff_client.post(url(shipment.number, "pack"), {}, format="json")

    bad = staff_client.post(url(shipment.number, "ship"), {"tracking_number": "x"}, format="json")
    assert bad.status_code == 400 and "tracking_number" in bad.json()
    unknown = staff_client.post(url(shipment.number, "ship"), {"carrier": "nope"}, format="json")
    assert unknown.status_code == 400 and "carrier" in unknown.json()
    assert status_of(shipment) == "packed"

    ok = staff_client.post(
        url(shipment.number, "ship"),
        {"carrier": "standard", "tracking_number": "PCL-1234"},
        format="json",
    )
    assert ok.status_code == 200, ok.json()
    assert ok.json()["tracking_url"] == "https://track.example/PCL-1234"

    other = Shipment.objects.get(order=partner_order(partner, {mug: 1}))
    staff_client.post(url(other.number, "pick"))
    staff_client.post(url(other.number, "pack"), {}, format="json")
    taken = staff_client.post(
        url(other.number, "ship"), {"tracking_number": "PCL-1234"}, format="json"
    )
    assert taken.status_code == 400
    assert "already used" in taken.json()["tracking_number"][0]


def test_each_action_needs_its_permission(shipment):
    user = UserFactory(username="picker", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_shipment", "pick_shipment"])
    )
    picker = token_client(user)
    assert picker.post(url(shipment.number, "pick")).status_code == 200
    response = picker.post(url(shipment.number, "pack"), {}, format="json")
    assert response.status_code == 403
    assert "fulfillment.pack_shipment" in response.json()["detail"]
    assert picker.get(url(shipment.number)).json()["available_actions"] == []


def test_body_that_is_not_an_object_is_400(staff_client, shipment):
    staff_client.post(url(shipment.number, "pick"))
    response = staff_client.post(url(shipment.number, "pack"), [1, 2], format="json")
    assert response.status_code == 400
    assert "detail" in response.json()


def test_service_errors_use_the_api_field_names(staff_client, shipment, carrier_service):
    carrier_service.countries = "FR"
    carrier_service.save()
    staff_client.post(url(shipment.number, "pick"))
    body = {"carrier": "parcelo/standard"}
    response = staff_client.post(url(shipment.number, "pack"), body, format="json")
    assert response.status_code == 400
    assert "does not deliver to GB" in response.json()["carrier"][0]


def test_delivery_in_the_future_is_refused_naming_delivered_at(staff_client, shipment):
    staff_client.post(url(shipment.number, "pick"))
    staff_client.post(url(shipment.number, "pack"), {}, format="json")
    staff_client.post(url(shipment.number, "ship"), {}, format="json")
    response = staff_client.post(
        url(shipment.number, "deliver"), {"delivered_at": "2999-01-01T00:00:00Z"}, format="json"
    )
    assert response.status_code == 400
    assert "future" in response.json()["delivered_at"][0]
    assert status_of(shipment) == "shipped"


# --- a shop without carrier services (a fresh installation) ---------------------------------------
@pytest.fixture
def uncarried(partner, stocked, mug, tee):
    """An allocated order's shipment, picked, where no CarrierService exists (migrations only)."""
    from fulfillment.models import CarrierService

    assert not CarrierService.objects.exists()
    shipment = Shipment.objects.get(order=partner_order(partner, {mug: 2, tee: 1}))
    picked = token_client(UserFactory(is_superuser=True, is_staff=True)).post(
        url(shipment.number, "pick")
    )
    assert picked.status_code == 200, picked.json()
    return shipment


def test_without_carrier_services_pack_and_ship_with_a_typed_carrier(
    staff_client, uncarried, django_capture_on_commit_callbacks
):
    from django.core import mail

    packed = staff_client.post(url(uncarried.number, "pack"), {}, format="json")
    assert packed.status_code == 200, packed.json()
    assert packed.json()["status"] == "packed"
    assert packed.json()["carrier"] is None and packed.json()["shipping_cost"] is None

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        shipped = staff_client.post(
            url(uncarried.number, "ship"),
            {"carrier": "Royal Mail", "tracking_number": "AB123456789GB"},
            format="json",
        )
    assert shipped.status_code == 200, shipped.json()
    body = shipped.json()
    assert body["status"] == "shipped"
    assert (body["carrier"], body["service"]) == ("Royal Mail", None)
    assert body["tracking_number"] == "AB123456789GB" and body["tracking_url"] is None
    assert StockLevel.objects.get(product__sku="MUG-BLUE").on_hand == 8

    order = Order.objects.get(pk=uncarried.order_id)
    seen = staff_client.get(f"/api/v1/orders/{order.number}/").json()
    assert seen["status"] == "shipped"
    [summary] = seen["shipments"]
    assert summary["carrier"] == "Royal Mail"
    assert summary["tracking_number"] == "AB123456789GB"

    [message] = [m for m in mail.outbox if m.to == [order.customer.email]]
    assert message.subject == f"Your order {order.number} is on its way"
    assert "Carrier: Royal Mail" in message.body
    assert "Tracking number: AB123456789GB" in message.body


def test_a_carrier_typed_at_packing_is_not_swapped_once_services_exist(staff_client, uncarried):
    """The label says DHL: shipping must not pick a newly set-up service behind its back."""
    from fulfillment.models import Carrier, CarrierService

    packed = staff_client.post(url(uncarried.number, "pack"), {"carrier": "DHL"}, format="json")
    assert packed.status_code == 200, packed.json()
    carrier = Carrier.objects.create(code="parcelo", name="Parcelo")
    CarrierService.objects.create(
        carrier=carrier, code="std", name="Standard", price_per_parcel="4.00", transit_days=2
    )

    shipped = staff_client.post(url(uncarried.number, "ship"), {}, format="json")

    assert shipped.status_code == 400, shipped.json()
    assert "DHL" in str(shipped.json())
    assert Shipment.objects.get(pk=uncarried.pk).status == "packed"


def test_without_carrier_services_a_carrier_typed_at_packing_is_kept(staff_client, uncarried):
    packed = staff_client.post(url(uncarried.number, "pack"), {"carrier": "DHL"}, format="json")
    assert packed.status_code == 200, packed.json()
    assert packed.json()["carrier"] == "DHL"

    shipped = staff_client.post(
        url(uncarried.number, "ship"), {"tracking_number": "JD0001234"}, format="json"
    )
    assert shipped.status_code == 200, shipped.json()
    assert (shipped.json()["carrier"], shipped.json()["tracking_number"]) == ("DHL", "JD0001234")


def test_without_carrier_services_shipping_names_what_is_missing(staff_client, uncarried):
    staff_client.post(url(uncarried.number, "pack"), {}, format="json")

    nothing = staff_client.post(url(uncarried.number, "ship"), {}, format="json")
    assert nothing.status_code == 400
    assert "must have a carrier" in nothing.json()["carrier"][0]

    untracked = staff_client.post(
        url(uncarried.number, "ship"), {"carrier": "Royal Mail"}, format="json"
    )
    assert untracked.status_code == 400
    assert "Royal Mail's tracking number" in untracked.json()["tracking_number"][0]

    assert status_of(uncarried) == "packed"
    assert StockLevel.objects.get(product__sku="MUG-BLUE").on_hand == 10
    assert Order.objects.get(pk=uncarried.order_id).status != "shipped"


def test_with_carrier_services_a_typed_unknown_carrier_is_still_refused(
    staff_client, shipment, carrier_service
):
    staff_client.post(url(shipment.number, "pick"))
    staff_client.post(url(shipment.number, "pack"), {}, format="json")

    response = staff_client.post(
        url(shipment.number, "ship"),
        {"carrier": "Royal Mail", "tracking_number": "AB123456789GB"},
        format="json",
    )

    assert response.status_code == 400
    assert "Unknown carrier 'Royal Mail'" in response.json()["carrier"][0]
    assert status_of(shipment) == "packed"
