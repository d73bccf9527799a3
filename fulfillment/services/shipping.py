"""Shipping: the parcel handed to the carrier, stock consumed, the order rolled up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from inventory.locks import stock_levels_for_update
from inventory.models import Allocation
from inventory.services import stock_consume
from orders import events
from orders.models import EventType, OrderLine

from ..exceptions import ShipmentValidationError
from ..models import CarrierService, Shipment, ShipmentStatus
from ._common import _lock_shipment, _order_must_be_active, _refuse
from .carriers import (
    TRACKING_NUMBER_RE,
    _tracking_number_new,
    _typed_carrier_name,
    carrier_service_choose,
    carrier_service_cost,
    carrier_services_exist,
)
from .rollup import _rollup

if TYPE_CHECKING:
    # who acts: a staff user, or None (the system, a carrier, a customer's signed link)
    from django.contrib.auth.models import User

SS = ShipmentStatus


@dataclass(frozen=True)
class ShipInput:
    """The parcel handed over. ``carrier_service`` ``None``: the one chosen at packing (else the
    cheapest that keeps the date); ``carrier_name``: a carrier typed by name where no carrier
    service is set up; ``tracking_number`` empty: one is generated."""

    shipment: Shipment
    tracking_number: str = ""
    carrier_service: CarrierService | None = None
    carrier_name: str = ""


def shipment_ship(*, data: ShipInput, user: User | None = None) -> Shipment:
    """Hand the parcel to the carrier: stock on hand and reserved go down through the ledger,
    the order lines' shipped quantities go up, the order becomes partially shipped or shipped.
    The carrier service is the one given, else the packed one, else the cheapest that keeps
    the promised date. A tracking number is generated when none is given.

    Where no carrier service is set up, the carrier is typed by name (``carrier_name``, else
    the one typed at packing) and its own ``tracking_number`` is required: a number made up
    here would track nothing at that carrier."""
    tracking_number = data.tracking_number.strip()
    errors: dict[str, list[str]] = {}
    typed = _typed_carrier_name(data.carrier_name, errors)
    with transaction.atomic():
        order, shipment = _lock_shipment(data.shipment)
        if shipment.status != SS.PACKED:
            raise _refuse(shipment, "shipped")
        _order_must_be_active(order, shipment, "shipped")
        service = data.carrier_service or shipment.carrier_service
        # A carrier typed at packing is on the label already: never swap it for another
        # one silently, even once carrier services have been set up meanwhile.
        typed = typed or (shipment.carrier_name if service is None else "")
        if service is None and not typed:
            # Packed before carriers were set up: the cheapest that keeps the date.
            proposal = carrier_service_choose(order=order, weight_grams=shipment.weight_grams)
            service = proposal.service if proposal else None
        if service is not None:
            typed = ""
            if not service.serves(order.shipping_country):
                errors["carrier_service"] = [
                    f"{service} does not deliver to {order.shipping_country}."
                ]
        elif carrier_services_exist():
            if typed:
                errors["carrier_name"] = [
                    f"Carrier services are set up: choose one that delivers to "
                    f"{order.shipping_country} instead of typing '{typed}'."
                ]
            else:
                errors["carrier_service"] = ["Choose the carrier service that takes the parcel."]
        else:
            typed = typed or shipment.carrier_name
            if not typed:
                errors["carrier_service"] = [
                    "A parcel must have a carrier: no carrier service is set up, so give the "
                    "carrier's name and its tracking number."
                ]
            elif not tracking_number:
                errors["tracking_number"] = [
                    f"Give {typed}'s tracking number: none can be generated for a carrier "
                    "that is not set up."
                ]
        if tracking_number:
            if not TRACKING_NUMBER_RE.match(tracking_number):
                errors["tracking_number"] = [
                    "A tracking number has 4 to 64 letters, digits or dashes."
                ]
            elif (
                Shipment.objects.filter(tracking_number=tracking_number)
                .exclude(pk=shipment.pk)
                .exists()
            ):
                errors["tracking_number"] = [
                    f"Tracking number {tracking_number} is already used by another shipment."
                ]
        if errors:
            raise ShipmentValidationError(errors)
        if not tracking_number and service is not None:  # typed carriers gave one
            tracking_number = _tracking_number_new(service)

        lines = list(shipment.lines.select_related("order_line__product").order_by("pk"))
        # Stock rows next, all at once and by id (inventory.locks).
        list(stock_levels_for_update(ids={line.stock_level_id for line in lines}))
        allocations = {
            (a.order_line_id, a.stock_level_id): a
            for a in Allocation.objects.filter(
                order_line_id__in=[line.order_line_id for line in lines],
                stock_level_id__in=[line.stock_level_id for line in lines],
            )
        }
        for line in lines:
            allocation = allocations.get((line.order_line_id, line.stock_level_id))
            if allocation is None or allocation.quantity < line.quantity:
                raise ShipmentValidationError(
                    {
                        "lines": [
                            f"Only {allocation.quantity if allocation else 0} units of "
                            f"{line.order_line.product.sku} are reserved in "
                            f"{shipment.warehouse.code}, {line.quantity} to ship."
                        ]
                    }
                )
            stock_consume(
                allocation=allocation,
                quantity=line.quantity,
                reference=shipment.number,
                user=user,
            )
            OrderLine.objects.filter(pk=line.order_line_id).update(
                quantity_shipped=F("quantity_shipped") + line.quantity,
                quantity_allocated=F("quantity_allocated") - line.quantity,
            )
        if service is None:
            shipment.carrier_name = typed
            shipment.shipping_cost = None
        elif service.pk != shipment.carrier_service_id:
            shipment.carrier_service = service
            shipment.carrier_name = ""
            shipment.shipping_cost = carrier_service_cost(service, shipment.weight_grams)
        shipment.ship(tracking_number=tracking_number, at=timezone.now())
        try:
            with transaction.atomic():
                shipment.save(
                    update_fields=[
                        "status",
                        "tracking_number",
                        "shipped_at",
                        "carrier_service",
                        "carrier_name",
                        "shipping_cost",
                    ]
                )
        except IntegrityError:
            raise ShipmentValidationError(
                {"tracking_number": [f"Tracking number {tracking_number} is already in use."]}
            ) from None
        carrier = shipment.carrier  # the service's, or the typed name's (no tracking URL)
        assert carrier is not None  # a service or a typed name, or it was refused above
        shipped = events.event_build(
            order=order,
            type=EventType.SHIPPED,
            user=user,
            message=f"Shipment {shipment.number} handed to {carrier.name}, "
            f"tracking number {tracking_number}.",
            shipment=shipment.number,
            carrier=carrier.name,
            tracking_number=tracking_number,
            tracking_url=carrier.tracking_url(tracking_number),
        )
        _rollup([order], user=user, extra_events=[shipped])
    return shipment
