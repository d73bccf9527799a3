"""Packing (quantities verified, parcel recorded) and the carrier service choice."""

import datetime
from decimal import Decimal

import pytest

from fulfillment import services
from fulfillment.exceptions import ShipmentValidationError
from fulfillment.models import CarrierService, ShipmentStatus
from orders.models import EventType, Order, OrderEvent

from .conftest import order_of, pack, pick

pytestmark = pytest.mark.django_db

MONDAY = datetime.date(2030, 1, 7)


def picking(products):
    shipment = order_of(products).shipments.get()
    pick(shipment)
    return shipment


def pack_with(shipment, packed, **kwargs):
    values = {"weight_grams": 900, "length_cm": 30, "width_cm": 20, "height_cm": 10}
    values.update(kwargs)
    rows = packed.items() if isinstance(packed, dict) else packed
    lines = [services.PackedLine(sku, quantity) for sku, quantity in rows]
    return services.shipment_pack(data=services.PackInput(shipment=shipment, lines=lines, **values))


def test_packing_mismatch_is_refused_with_a_clear_message(stocked, mug, tee, carriers):
    shipment = picking({mug: 2, tee: 1})
    with pytest.raises(ShipmentValidationError) as short:
        pack_with(shipment, [("MUG-BLUE", 1), ("TEE-M", 1)])
    assert short.value.errors["lines"] == [
        f"SKU MUG-BLUE: 1 packed but shipment {shipment.number} needs 2."
    ]
    with pytest.raises(ShipmentValidationError) as extra:
        pack_with(shipment, [("MUG-BLUE", 2), ("TEE-M", 1), ("CAP-RED", 1)])
    assert extra.value.errors["lines"] == [
        f"SKU CAP-RED is not part of shipment {shipment.number}."
    ]
    with pytest.raises(ShipmentValidationError) as parcel:
        pack_with(shipment, {"MUG-BLUE": 2, "TEE-M": 1}, weight_grams=0, height_cm=-5)
    assert set(parcel.value.errors) == {"weight_grams", "height_cm"}
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.PICKING
    assert not OrderEvent.objects.filter(type=EventType.PACKED).exists()


def test_without_weight_and_size_the_products_weights_and_the_standard_parcel_are_used(
    stocked, mug, tee, carriers, settings
):
    settings.OMS_DEFAULT_PARCEL_CM = (40, 30, 20)
    mug.weight_grams, tee.weight_grams = 350, 200
    mug.save(update_fields=["weight_grams"])
    tee.save(update_fields=["weight_grams"])
    shipment = picking({mug: 2, tee: 1})

    services.shipment_pack(
        data=services.PackInput(
            shipment=shipment, lines=services.packed_lines({"MUG-BLUE": 2, "TEE-M": 1}), width_cm=25
        )
    )

    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.PACKED
    assert shipment.weight_grams == 2 * 350 + 200
    assert (shipment.length_cm, shipment.width_cm, shipment.height_cm) == (40, 25, 20)


def test_without_a_weight_and_none_recorded_the_weight_is_recorded_as_unknown(
    stocked, mug, tee, carriers
):
    # Weight is optional on products: the parcel goes out with its weight "not recorded".
    mug.weight_grams = 0
    mug.save(update_fields=["weight_grams"])  # tee keeps 200 g: a partial sum would be wrong
    shipment = picking({mug: 1, tee: 1})

    services.shipment_pack(
        data=services.PackInput(
            shipment=shipment, lines=services.packed_lines({"MUG-BLUE": 1, "TEE-M": 1})
        )
    )

    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.PACKED
    assert shipment.weight_grams is None
    assert shipment.weight_display == "not recorded"
    # Chosen by the parcel fee among the services on time: standard's 4.50 (economy is late);
    # its per-kg part is unknown, so is its cost.
    assert shipment.carrier_service == carriers["standard"]
    assert shipment.shipping_cost is None
    event = OrderEvent.objects.get(type=EventType.PACKED)
    assert event.message == (
        f"Shipment {shipment.number} packed, weight not recorded, Parcelo Standard."
    )
    assert event.details["weight_grams"] is None

    services.shipment_ship(data=services.ShipInput(shipment=shipment))  # and it can be handed over
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.SHIPPED
    assert shipment.shipping_cost is None


def test_without_a_weight_a_flat_priced_service_costs_its_parcel_fee(stocked, mug, carriers):
    mug.weight_grams = 0
    mug.save(update_fields=["weight_grams"])
    CarrierService.objects.exclude(pk=carriers["express"].pk).update(is_active=False)
    CarrierService.objects.filter(pk=carriers["express"].pk).update(price_per_kg=0)
    shipment = picking({mug: 1})

    services.shipment_pack(
        data=services.PackInput(shipment=shipment, lines=services.packed_lines({"MUG-BLUE": 1}))
    )

    shipment.refresh_from_db()
    assert shipment.carrier_service == carriers["express"]
    assert shipment.shipping_cost == Decimal("9.00")


def test_a_known_weight_is_displayed_in_kg(stocked, mug, carriers):
    shipment = picking({mug: 2})
    services.shipment_pack(
        data=services.PackInput(shipment=shipment, lines=services.packed_lines({"MUG-BLUE": 2}))
    )
    shipment.refresh_from_db()
    assert shipment.weight_grams == 800
    assert shipment.weight_display == "0.80 kg"


def test_scans_are_added_up_per_sku_and_the_parcel_is_recorded(stocked, mug, tee, carriers):
    shipment = picking({mug: 2, tee: 1})
    # Scanning one unit at a time, SKU case as typed.
    pack_with(shipment, [("MUG-BLUE", 1), ("tee-m", 1), ("MUG-BLUE", 1)], weight_grams=1250)
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.PACKED
    assert (shipment.weight_grams, shipment.length_cm, shipment.width_cm, shipment.height_cm) == (
        1250,
        30,
        20,
        10,
    )
    assert shipment.shipping_cost == Decimal("5.50")  # 4.50 + 0.80 × 1.25 kg
    event = OrderEvent.objects.get(type=EventType.PACKED)
    assert event.details["overridden"] is False


def test_staff_may_override_the_proposed_service(stocked, mug, carriers):
    shipment = picking({mug: 1})
    pack_with(shipment, {"MUG-BLUE": 1}, carrier_service=carriers["express"])
    shipment.refresh_from_db()
    assert shipment.carrier_service == carriers["express"]
    assert OrderEvent.objects.get(type=EventType.PACKED).details["overridden"] is True


def test_a_service_that_does_not_serve_the_country_is_refused(stocked, mug, carriers):
    shipment = order_of({mug: 1}, country="FR").shipments.get()
    pick(shipment)
    with pytest.raises(ShipmentValidationError, match="does not deliver to FR"):
        pack_with(shipment, {"MUG-BLUE": 1}, carrier_service=carriers["standard"])


def test_cheapest_service_that_meets_the_promised_date(stocked, mug, carriers):
    order = order_of({mug: 1})
    # Promised in ten working days: even the 6-day economy service is on time and cheapest.
    Order.objects.filter(pk=order.pk).update(
        estimated_delivery_date=MONDAY + datetime.timedelta(14)
    )
    order.refresh_from_db()
    choice = services.carrier_service_choose(order=order, weight_grams=2000, ship_date=MONDAY)
    assert choice.service == carriers["economy"]
    assert choice.cost == Decimal("4.00")
    assert choice.meets_promise

    # Promised in three working days: economy is too slow, standard is the cheapest on time.
    Order.objects.filter(pk=order.pk).update(estimated_delivery_date=MONDAY + datetime.timedelta(3))
    order.refresh_from_db()
    choice = services.carrier_service_choose(order=order, weight_grams=2000, ship_date=MONDAY)
    assert choice.service == carriers["standard"]
    assert choice.delivery_date == MONDAY + datetime.timedelta(2)

    # Promised tomorrow: only express makes it, although it costs most.
    Order.objects.filter(pk=order.pk).update(estimated_delivery_date=MONDAY + datetime.timedelta(1))
    order.refresh_from_db()
    choice = services.carrier_service_choose(order=order, weight_grams=2000, ship_date=MONDAY)
    assert choice.service == carriers["express"]
    assert choice.cost == Decimal("11.00")

    # Promised today: nobody makes it; the fastest is proposed and flagged late.
    Order.objects.filter(pk=order.pk).update(estimated_delivery_date=MONDAY)
    order.refresh_from_db()
    choice = services.carrier_service_choose(order=order, weight_grams=2000, ship_date=MONDAY)
    assert choice.service == carriers["express"]
    assert choice.meets_promise is False


def test_cost_decides_between_services_on_time(stocked, mug, carriers):
    order = order_of({mug: 1})
    Order.objects.filter(pk=order.pk).update(estimated_delivery_date=MONDAY + datetime.timedelta(3))
    order.refresh_from_db()
    # Heavy parcel: standard 4.50 + 0.80 × 30 = 28.50, express 9 + 1 × 30 = 39.
    choice = services.carrier_service_choose(order=order, weight_grams=30000, ship_date=MONDAY)
    assert (choice.service, choice.cost) == (carriers["standard"], Decimal("28.50"))
    carriers["standard"].price_per_kg = Decimal("1.50")
    carriers["standard"].save()
    choice = services.carrier_service_choose(order=order, weight_grams=30000, ship_date=MONDAY)
    assert (choice.service, choice.cost) == (carriers["express"], Decimal("39.00"))


def test_only_services_serving_the_destination_are_proposed(stocked, mug, carriers):
    order = order_of({mug: 1}, country="IE")
    choice = services.carrier_service_choose(order=order, weight_grams=500)
    assert choice.service in (carriers["economy"], carriers["express"])
    order_us = order_of({mug: 1}, country="US")
    assert (
        services.carrier_service_choose(order=order_us, weight_grams=500).service
        == carriers["express"]
    )


def test_packing_where_no_carrier_service_is_set_up_records_none(stocked, mug):
    # A fresh installation has no carrier services: the carrier is typed at packing or shipping.
    shipment = picking({mug: 1})
    packed = pack_with(shipment, {"MUG-BLUE": 1})
    packed.refresh_from_db()
    assert packed.status == ShipmentStatus.PACKED
    assert (packed.carrier_service, packed.carrier_name, packed.shipping_cost) == (None, "", None)


def test_packing_where_no_service_delivers_to_the_destination_is_refused(stocked, mug, carriers):
    CarrierService.objects.update(countries="FR")  # services exist; none for GB
    shipment = picking({mug: 1})
    with pytest.raises(ShipmentValidationError, match="No active carrier service delivers to GB"):
        pack_with(shipment, {"MUG-BLUE": 1})
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.PICKING


def test_ship_with_a_given_tracking_number_and_refuse_duplicates(stocked, mug, carriers):
    first = order_of({mug: 1}).shipments.get()
    second = order_of({mug: 1}).shipments.get()
    for shipment in (first, second):
        pick(shipment)
        pack(shipment)
    services.shipment_ship(data=services.ShipInput(shipment=first, tracking_number="ABC-12345"))
    with pytest.raises(ShipmentValidationError, match="already used"):
        services.shipment_ship(
            data=services.ShipInput(shipment=second, tracking_number="ABC-12345")
        )
    with pytest.raises(ShipmentValidationError, match="letters, digits or dashes"):
        services.shipment_ship(
            data=services.ShipInput(shipment=second, tracking_number="no spaces please")
        )
    second.refresh_from_db()
    assert second.status == ShipmentStatus.PACKED


def test_a_parcel_packed_without_a_service_ships_with_the_proposed_one(stocked, mug, tee, carriers):
    shipment = picking({mug: 1})
    pack_with(shipment, {"MUG-BLUE": 1})
    proposed = services.carrier_service_choose(order=shipment.order, weight_grams=900).service
    type(shipment).objects.filter(pk=shipment.pk).update(carrier_service=None)  # e.g. deleted
    shipment.refresh_from_db()

    services.shipment_ship(data=services.ShipInput(shipment=shipment))

    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.SHIPPED
    assert shipment.carrier_service == proposed
