"""Carrier services: prices, the choice by cost and promised date, tracking numbers and the
carrier's tracking updates."""

from __future__ import annotations

import datetime
import re
import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.utils import timezone

from core.calendar import add_business_days
from core.money import to_cents
from orders.models import Order

from ..exceptions import ShipmentNotFound
from ..models import CarrierService, Shipment
from .delivery import DeliveryResult, _deliver

if TYPE_CHECKING:
    # who acts: a staff user, or None (the system, a carrier, a customer's signed link)
    from django.contrib.auth.models import User

TRACKING_NUMBER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{3,63}$")


@dataclass(frozen=True)
class CarrierProposal:
    service: CarrierService
    cost: Decimal | None  # None: priced per kg and the weight is not recorded
    delivery_date: datetime.date
    meets_promise: bool

    @property
    def price_from(self) -> Decimal:
        """What ranks the proposals: the cost, or the parcel fee when the weight is unknown."""
        return self.cost if self.cost is not None else self.service.price_per_parcel


def carrier_service_cost(service: CarrierService, weight_grams: int | None) -> Decimal | None:
    """The price of one parcel; ``None`` when the weight is unknown and the service charges
    per kg (a flat-priced service costs its parcel fee whatever the weight)."""
    if weight_grams is None:
        return None if service.price_per_kg else service.price_per_parcel
    kg = Decimal(max(weight_grams, 0)) / Decimal(1000)
    return to_cents(service.price_per_parcel + service.price_per_kg * kg)


def carrier_proposals(
    *, order: Order, weight_grams: int | None, ship_date: datetime.date | None = None
) -> list[CarrierProposal]:
    """Every active service that serves the order's country, cheapest first. Without a weight
    (``None``) the parcel fee ranks them, the price per kg breaking ties."""
    ship_date = ship_date or timezone.localdate()
    promised = order.estimated_delivery_date
    proposals = []
    for service in CarrierService.objects.filter(
        is_active=True, carrier__is_active=True
    ).select_related("carrier"):
        if not service.serves(order.shipping_country):
            continue
        delivery = add_business_days(ship_date, service.transit_days)
        proposals.append(
            CarrierProposal(
                service=service,
                cost=carrier_service_cost(service, weight_grams),
                delivery_date=delivery,
                meets_promise=promised is None or delivery <= promised,
            )
        )
    proposals.sort(
        key=lambda p: (p.price_from, p.service.price_per_kg, p.delivery_date, p.service.pk)
    )
    return proposals


def carrier_service_choose(
    *, order: Order, weight_grams: int | None, ship_date: datetime.date | None = None
) -> CarrierProposal | None:
    """The cheapest service that delivers by the order's promised date; when none can, the
    fastest one (``meets_promise`` False). ``None`` when no service serves the country.
    Without a weight, the service with the lowest parcel fee (see ``carrier_proposals``)."""
    proposals = carrier_proposals(order=order, weight_grams=weight_grams, ship_date=ship_date)
    meeting = [p for p in proposals if p.meets_promise]
    if meeting:
        return meeting[0]
    if proposals:
        return min(proposals, key=lambda p: (p.delivery_date, p.price_from, p.service.pk))
    return None


def shipment_estimated_weight(shipment: Shipment) -> int | None:
    """The products' weights added up; ``None`` (unknown) when any product has none recorded,
    since a partial sum would put a wrong weight on the label."""
    total = 0
    for line in shipment.lines.select_related("order_line__product"):
        weight = line.order_line.product.weight_grams
        if not weight:
            return None
        total += line.quantity * weight
    return total or None


def carrier_services_exist() -> bool:
    """Whether any active carrier service is set up. Without one (a fresh installation, a shop
    that ships with whatever carrier it hands parcels to) nothing is chosen automatically: the
    carrier is typed by name with its tracking number."""
    return CarrierService.objects.filter(is_active=True, carrier__is_active=True).exists()


def _typed_carrier_name(value: str, errors: dict[str, list[str]]) -> str:
    name = " ".join(value.split())
    if len(name) > 100:
        errors.setdefault("carrier_name", []).append("A carrier's name has at most 100 characters.")
    return name[:100]


def _tracking_number_new(service: CarrierService) -> str:
    prefix = (service.carrier.tracking_prefix or service.carrier.code[:4] or "TRK").upper()
    prefix = re.sub(r"[^A-Z0-9]", "", prefix) or "TRK"
    while True:
        number = f"{prefix}{secrets.token_hex(6).upper()}"
        if not Shipment.objects.filter(tracking_number=number).exists():
            return number


@dataclass(frozen=True)
class DeliveryUpdate:
    """A carrier's report that the parcel with ``tracking_number`` was delivered (at
    ``occurred_at``; ``None``: now)."""

    tracking_number: str
    occurred_at: datetime.datetime | None = None


def tracking_update(*, update: DeliveryUpdate, user: User | None = None) -> DeliveryResult:
    """A carrier's tracking update. Returns the shipment and whether anything changed
    (a repeated update changes nothing)."""
    tracking_number = update.tracking_number.strip()
    shipment = Shipment.objects.filter(tracking_number=tracking_number).first()
    if shipment is None:
        raise ShipmentNotFound(f"No shipment has tracking number {tracking_number}.")
    return _deliver(
        shipment, user=user, occurred_at=update.occurred_at, source="reported by carrier"
    )
