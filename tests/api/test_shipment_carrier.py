"""``POST /api/v1/shipments/{number}/ship/`` with ``{"carrier": ...}``: how a typed carrier is
resolved (fulfillment/api.py, ``carrier_service_from``).

- ``carrier/service`` or ``carrier:service``: that service (carrier by code or name, any case);
- a carrier's code or name (any case): the service chosen at packing if it is that carrier's,
  else that carrier's cheapest active service that keeps the promised date;
- otherwise a service code, if exactly one active service has it; two carriers with that
  service code is ambiguous (400 asking for ``carrier/service``);
- anything else: 400 naming the value. A refused call leaves the parcel packed as it was."""

from decimal import Decimal

import pytest

from fulfillment.models import Carrier, CarrierService, Shipment, ShipmentStatus
from orders.models import EventType
from tests.factories import place

pytestmark = pytest.mark.django_db


def url(number: str, action: str) -> str:
    return f"/api/v1/shipments/{number}/{action}/"


def service(carrier, code, name, per_parcel, transit_days, countries="", per_kg="0"):
    return CarrierService.objects.create(
        carrier=carrier,
        code=code,
        name=name,
        price_per_parcel=Decimal(per_parcel),
        price_per_kg=Decimal(per_kg),
        transit_days=transit_days,
        countries=countries,
    )


@pytest.fixture
def carriers(db):
    parcelo = Carrier.objects.create(
        code="parcelo",
        name="Parcelo",
        tracking_url_template="https://track.example/{tracking_number}",
    )
    zoom = Carrier.objects.create(
        code="zoom",
        name="Zoom Express",
        tracking_url_template="https://zoom.example/t/{tracking_number}",
    )
    gone = Carrier.objects.create(code="gone", name="Gone Post", is_active=False)
    euro = Carrier.objects.create(code="euro", name="Eurocourier")
    return {
        "parcelo/economy": service(parcelo, "economy", "Economy", "3.00", 3, "GB", per_kg="0.50"),
        "parcelo/standard": service(parcelo, "standard", "Standard", "4.50", 2, "GB"),
        "zoom/express": service(zoom, "express", "Express", "9.00", 1),
        "zoom/standard": service(zoom, "standard", "Standard", "6.00", 2),
        "gone/standard": service(gone, "next-day", "Next day", "1.00", 1),
        "euro/intl": service(euro, "intl", "International", "2.00", 2, "FR,DE"),
    }


@pytest.fixture
def packed(staff_client, stocked, mug, carriers) -> Shipment:
    """2 blue mugs (500 g), packed with Parcelo Economy (3.00 + 0.50/kg = 3.25)."""
    order = place({mug: 2})
    shipment = Shipment.objects.get(order=order)
    assert staff_client.post(url(shipment.number, "pick")).status_code == 200
    response = staff_client.post(
        url(shipment.number, "pack"), {"carrier": "parcelo/economy"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert (response.json()["carrier"], response.json()["service"]) == ("parcelo", "economy")
    return Shipment.objects.get(pk=shipment.pk)


def ship(client, shipment, carrier):
    return client.post(url(shipment.number, "ship"), {"carrier": carrier}, format="json")


def assert_shipped_with(response, shipment, carriers, key, cost):
    assert response.status_code == 200, response.json()
    body = response.json()
    chosen = carriers[key]
    assert (body["status"], body["carrier"], body["service"]) == (
        "shipped",
        chosen.carrier.code,
        chosen.code,
    )
    assert body["shipping_cost"] == cost
    shipment = Shipment.objects.get(pk=shipment.pk)
    assert (shipment.status, shipment.carrier_service_id) == (ShipmentStatus.SHIPPED, chosen.pk)
    assert body["tracking_url"] == chosen.carrier.tracking_url(shipment.tracking_number)
    handed = shipment.order.events.get(type=EventType.SHIPPED)
    assert handed.details["carrier"] == chosen.carrier.name


def assert_still_packed(shipment, carriers):
    shipment = Shipment.objects.get(pk=shipment.pk)
    assert shipment.status == ShipmentStatus.PACKED
    assert shipment.carrier_service_id == carriers["parcelo/economy"].pk
    assert shipment.tracking_number in ("", None)
    assert not shipment.order.events.filter(type=EventType.SHIPPED).exists()


# --- resolved -------------------------------------------------------------------------------------
@pytest.mark.parametrize("typed", ["zoom", "ZOOM", "Zoom Express", "zoom express"])
def test_a_carrier_by_code_or_name_takes_its_cheapest_service_that_keeps_the_date(
    staff_client, packed, carriers, typed
):
    # Zoom's Standard (6.00, 2 days) keeps the promise (ships in 1 working day + 2 in transit)
    # and is cheaper than its Express (9.00 + 0.50).
    response = ship(staff_client, packed, typed)
    assert_shipped_with(response, packed, carriers, "zoom/standard", "6.00")


def test_a_carrier_that_cannot_keep_the_date_ships_with_its_fastest_service(
    staff_client, packed, carriers
):
    carriers["zoom/standard"].transit_days = 9
    carriers["zoom/standard"].save()
    response = ship(staff_client, packed, "zoom")
    assert_shipped_with(response, packed, carriers, "zoom/express", "9.00")


@pytest.mark.parametrize("typed", ["parcelo", "PARCELO", "Parcelo"])
def test_the_packing_carrier_by_name_keeps_the_service_chosen_at_packing(
    staff_client, packed, carriers, typed
):
    # Parcelo's Standard is faster, but Economy was chosen at packing: it stays.
    response = ship(staff_client, packed, typed)
    assert_shipped_with(response, packed, carriers, "parcelo/economy", "3.25")


@pytest.mark.parametrize(
    "typed, key, cost",
    [
        ("zoom/standard", "zoom/standard", "6.00"),
        ("Zoom Express/STANDARD", "zoom/standard", "6.00"),
        ("zoom:express", "zoom/express", "9.00"),
        (" parcelo / standard ", "parcelo/standard", "4.50"),
        ("express", "zoom/express", "9.00"),  # a service code only one carrier has
        ("EXPRESS", "zoom/express", "9.00"),
    ],
)
def test_a_service_given_explicitly_or_by_its_unique_code(
    staff_client, packed, carriers, typed, key, cost
):
    response = ship(staff_client, packed, typed)
    assert_shipped_with(response, packed, carriers, key, cost)


def test_an_inactive_service_does_not_make_a_code_ambiguous(staff_client, packed, carriers):
    carriers["zoom/standard"].is_active = False
    carriers["zoom/standard"].save()
    response = ship(staff_client, packed, "standard")
    assert_shipped_with(response, packed, carriers, "parcelo/standard", "4.50")


# --- refused --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "typed, message",
    [
        (
            "Pigeon Post",
            "Unknown carrier 'Pigeon Post': give a carrier code or name, or a service code.",
        ),
        ("standard", "Several carriers have a service 'standard'; give 'carrier/standard'."),
        ("STANDARD", "Several carriers have a service 'STANDARD'; give 'carrier/STANDARD'."),
        ("gone", "Carrier Gone Post is not active."),
        ("Gone Post", "Carrier Gone Post is not active."),
        ("gone/next-day", "No active carrier service 'gone/next-day'."),
        ("euro", "Carrier Eurocourier has no active service that delivers to GB."),
        ("parcelo/express", "No active carrier service 'parcelo/express'."),
        ("pigeon:standard", "No active carrier service 'pigeon:standard'."),
    ],
)
def test_an_unknown_ambiguous_or_unusable_carrier_is_400_naming_it(
    staff_client, packed, carriers, typed, message
):
    response = ship(staff_client, packed, typed)
    assert response.status_code == 400
    assert response.json() == {"code": "invalid", "carrier": [message]}
    assert_still_packed(packed, carriers)


def test_a_service_that_does_not_deliver_to_the_country_is_400(staff_client, packed, carriers):
    response = ship(staff_client, packed, "euro/intl")
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "carrier": ["Eurocourier International does not deliver to GB."],
    }
    assert_still_packed(packed, carriers)


def test_a_value_matching_two_carriers_is_400_naming_the_ambiguity(staff_client, packed, carriers):
    # "fast" is the code of Fast Freight and the name of another carrier (code "speedy").
    fast_freight = Carrier.objects.create(code="fast", name="Fast Freight")
    speedy = Carrier.objects.create(code="speedy", name="Fast")
    service(fast_freight, "road", "Road", "5.00", 2)
    service(speedy, "air", "Air", "7.00", 1)
    response = ship(staff_client, packed, "fast")
    assert response.status_code == 400, response.json()
    message = response.json()["carrier"][0]
    assert "Fast Freight" in message and "Fast" in message.replace("Fast Freight", "")
    assert_still_packed(packed, carriers)
