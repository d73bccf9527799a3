"""Packing: what went into the parcel verified, weight, size and carrier service recorded."""

from collections import defaultdict
from collections.abc import Mapping, Sequence

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.validation import is_positive_int, is_whole_number
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

SS = ShipmentStatus


def _positive_int(value, field: str, label: str, errors: dict, *, maximum: int) -> int | None:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not is_positive_int(value):
        errors.setdefault(field, []).append(f"Give the {label} as a positive whole number.")
        return None
    if value > maximum:
        errors.setdefault(field, []).append(f"The {label} cannot exceed {maximum}.")
        return None
    return value


def _merge_packed(packed, errors: dict) -> dict[str, int]:
    items = packed.items() if isinstance(packed, Mapping) else packed
    merged: dict[str, int] = defaultdict(int)
    for position, item in enumerate(items, start=1):
        try:
            sku, quantity = item
        except (TypeError, ValueError):
            errors.setdefault("lines", []).append(f"Line {position}: give a SKU and a quantity.")
            continue
        sku = (sku or "").strip() if isinstance(sku, str) else ""
        if isinstance(quantity, str) and quantity.strip().isdigit():
            quantity = int(quantity.strip())
        if not sku and quantity in (None, "", 0):
            continue  # an empty row of the form
        if not sku:
            errors.setdefault("lines", []).append(f"Line {position}: scan or type the SKU.")
            continue
        if not is_whole_number(quantity, minimum=0):
            errors.setdefault("lines", []).append(
                f"Line {position} ({sku}): the quantity must be a whole number of 0 or more."
            )
            continue
        merged[sku] += quantity
    return dict(merged)


def default_parcel_cm() -> tuple[int, int, int]:
    """Length, width and height recorded when the packer gives none
    (``OMS_DEFAULT_PARCEL_CM``, 30 × 20 × 10 cm)."""
    return tuple(settings.OMS_DEFAULT_PARCEL_CM)


def shipment_pack(
    *,
    shipment: Shipment,
    packed: Mapping[str, int] | Sequence[tuple[str, int]],
    weight_grams: int | None = None,
    length_cm: int | None = None,
    width_cm: int | None = None,
    height_cm: int | None = None,
    carrier_service: CarrierService | None = None,
    carrier_name: str = "",
    user=None,
) -> Shipment:
    """Confirm what went into the parcel (SKU → quantity, must match the shipment exactly),
    record weight and dimensions and the carrier service (the proposed one unless given).
    Where no carrier service is set up at all, the parcel is packed without one
    (``carrier_name``, typed, is recorded if given; ``shipment_ship`` then needs the name).

    Without a weight the products' weights are added up; when a product has none recorded the
    weight is recorded as unknown (``None``, the label says so) and the carrier service is
    chosen by its parcel fee. Without dimensions the standard parcel is recorded
    (``default_parcel_cm``)."""
    errors: dict[str, list[str]] = {}
    if weight_grams is None:
        weight = shipment_estimated_weight(shipment)
    else:
        weight = _positive_int(
            weight_grams, "weight_grams", "weight in grams", errors, maximum=10**6
        )
    standard = default_parcel_cm()
    dims = [
        _positive_int(standard[i] if value is None else value, field, label, errors, maximum=1000)
        for i, (value, field, label) in enumerate(
            (
                (length_cm, "length_cm", "length in cm"),
                (width_cm, "width_cm", "width in cm"),
                (height_cm, "height_cm", "height in cm"),
            )
        )
    ]
    scanned = _merge_packed(packed, errors)
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
            typed = _typed_carrier_name(carrier_name, errors)
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
