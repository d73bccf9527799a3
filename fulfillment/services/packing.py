"""Packing: what went into the parcel verified, weight, size and carrier service recorded."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from orders import events
from orders.models import EventType

from ..exceptions import ShipmentValidationError
from ..models import CarrierService, Shipment, ShipmentStatus
from ._common import _lock_shipment, _order_must_be_active, _refuse
from .carriers import (
    _typed_carrier_name,
    carrier_service_choose,
    carrier_service_cost,
    carrier_services_exist,
    shipment_estimated_weight,
)

if TYPE_CHECKING:
    # who acts: a staff user, or None (the system, a carrier, a customer's signed link)
    from django.contrib.auth.models import User

SS = ShipmentStatus


@dataclass(frozen=True)
class PackedLine:
    """One row of what went into the parcel: a SKU (as scanned or typed) and its quantity."""

    sku: str
    quantity: int


@dataclass(frozen=True)
class PackInput:
    """What the packer confirms. ``lines``: what went into the parcel (a SKU may come on
    several rows; they are added up). ``None`` for the weight: the products' weights added up;
    for a dimension: the standard parcel's. ``carrier_service`` ``None``: the proposed one;
    ``carrier_name``: a carrier typed by name where no carrier service is set up."""

    shipment: Shipment
    lines: Sequence[PackedLine]
    weight_grams: int | None = None
    length_cm: int | None = None
    width_cm: int | None = None
    height_cm: int | None = None
    carrier_service: CarrierService | None = None
    carrier_name: str = ""


def packed_lines(counts: Mapping[str, int]) -> list[PackedLine]:
    """``{SKU: quantity}`` as the rows of a ``PackInput``."""
    return [PackedLine(sku=sku, quantity=quantity) for sku, quantity in counts.items()]


def _within(
    value: int, field: str, label: str, errors: dict[str, list[str]], *, maximum: int
) -> int | None:
    if value < 1:
        errors.setdefault(field, []).append(f"Give the {label} as a positive whole number.")
        return None
    if value > maximum:
        errors.setdefault(field, []).append(f"The {label} cannot exceed {maximum}.")
        return None
    return value


def _merge_packed(lines: Sequence[PackedLine], errors: dict[str, list[str]]) -> dict[str, int]:
    merged: dict[str, int] = defaultdict(int)
    for position, line in enumerate(lines, start=1):
        sku, quantity = line.sku.strip(), line.quantity
        if not sku and not quantity:
            continue  # an empty row of the form
        if not sku:
            errors.setdefault("lines", []).append(f"Line {position}: scan or type the SKU.")
            continue
        if quantity < 0:
            errors.setdefault("lines", []).append(
                f"Line {position} ({sku}): the quantity must be a whole number of 0 or more."
            )
            continue
        merged[sku] += quantity
    return dict(merged)


def default_parcel_cm() -> tuple[int, int, int]:
    """Length, width and height recorded when the packer gives none
    (``OMS_DEFAULT_PARCEL_CM``, 30 × 20 × 10 cm)."""
    length, width, height = settings.OMS_DEFAULT_PARCEL_CM
    return (length, width, height)


def shipment_pack(*, data: PackInput, user: User | None = None) -> Shipment:
    """Confirm what went into the parcel (SKU → quantity, must match the shipment exactly),
    record weight and dimensions and the carrier service (the proposed one unless given).
    Where no carrier service is set up at all, the parcel is packed without one
    (``carrier_name``, typed, is recorded if given; ``shipment_ship`` then needs the name).

    Without a weight the products' weights are added up; when a product has none recorded the
    weight is recorded as unknown (``None``, the label says so) and the carrier service is
    chosen by its parcel fee. Without dimensions the standard parcel is recorded
    (``default_parcel_cm``)."""
    errors: dict[str, list[str]] = {}
    shipment = data.shipment
    if data.weight_grams is None:
        weight = shipment_estimated_weight(shipment)
    else:
        weight = _within(
            data.weight_grams, "weight_grams", "weight in grams", errors, maximum=10**6
        )
    standard = default_parcel_cm()
    dims = [
        _within(standard[i] if value is None else value, field, label, errors, maximum=1000)
        for i, (value, field, label) in enumerate(
            (
                (data.length_cm, "length_cm", "length in cm"),
                (data.width_cm, "width_cm", "width in cm"),
                (data.height_cm, "height_cm", "height in cm"),
            )
        )
    ]
    scanned = _merge_packed(data.lines, errors)
    with transaction.atomic():
        order, shipment = _lock_shipment(shipment)
        if shipment.status != SS.PICKING:
            raise _refuse(shipment, "packed")
        _order_must_be_active(order, shipment, "packed")
        expected: dict[str, int] = defaultdict(int)
        for line in shipment.lines.select_related("order_line__product"):
            expected[line.order_line.product.sku] += line.quantity
        by_upper = {sku.upper(): sku for sku in expected}
        normalised: dict[str, int] = defaultdict(int)
        for sku, quantity in scanned.items():
            normalised[by_upper.get(sku.upper(), sku)] += quantity
        mismatches = []
        for sku, needed in expected.items():
            got = normalised.get(sku, 0)
            if got != needed:
                mismatches.append(
                    f"SKU {sku}: {got} packed but shipment {shipment.number} needs {needed}."
                )
        for sku, got in normalised.items():
            if sku not in expected and got:
                mismatches.append(f"SKU {sku} is not part of shipment {shipment.number}.")
        if mismatches:
            errors.setdefault("lines", []).extend(mismatches)
        proposal = None
        carrier_service, typed = data.carrier_service, ""
        service: CarrierService | None
        if "weight_grams" not in errors:
            proposal = carrier_service_choose(order=order, weight_grams=weight)
        if carrier_service is not None:
            if not (carrier_service.is_active and carrier_service.carrier.is_active):
                errors.setdefault("carrier_service", []).append(f"{carrier_service} is not active.")
            elif not carrier_service.serves(order.shipping_country):
                errors.setdefault("carrier_service", []).append(
                    f"{carrier_service} does not deliver to {order.shipping_country}."
                )
            service = carrier_service
        else:
            service = proposal.service if proposal else None
            typed = _typed_carrier_name(data.carrier_name, errors)
            if service is None and "weight_grams" not in errors and carrier_services_exist():
                errors.setdefault("carrier_service", []).append(
                    f"No active carrier service delivers to {order.shipping_country}; "
                    "set one up or choose one."
                )
        if errors:
            raise ShipmentValidationError(errors)
        shipment.weight_grams = weight
        shipment.length_cm, shipment.width_cm, shipment.height_cm = dims
        shipment.carrier_service = service
        shipment.carrier_name = "" if service is not None else typed
        shipment.shipping_cost = carrier_service_cost(service, weight) if service else None
        shipment.pack(at=timezone.now())
        shipment.save(
            update_fields=[
                "status",
                "packed_at",
                "weight_grams",
                "length_cm",
                "width_cm",
                "height_cm",
                "carrier_service",
                "carrier_name",
                "shipping_cost",
            ]
        )
        carrier_text = str(service) if service else (shipment.carrier_name or "carrier not set")
        events.event_write(
            order=order,
            type=EventType.PACKED,
            user=user,
            message=f"Shipment {shipment.number} packed, "
            f"weight {shipment.weight_display}, {carrier_text}.",
            shipment=shipment.number,
            weight_grams=weight,
            dimensions_cm=dims,
            carrier_service=str(service) if service else None,
            carrier=shipment.carrier_name or None,
            shipping_cost=None if shipment.shipping_cost is None else str(shipment.shipping_cost),
            proposed_service=str(proposal.service) if proposal else None,
            overridden=bool(proposal and service and proposal.service.pk != service.pk),
        )
    return shipment
