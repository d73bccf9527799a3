"""Shipments in the REST API (shared docs/api.md, staff endpoints).

``GET /api/v1/shipments/`` (filters ``?status=``, ``?warehouse=`` code, ``?order=`` number),
``GET /api/v1/shipments/{number}/`` and ``POST /api/v1/shipments/{number}/{action}/`` for
``pick``, ``pack``, ``ship`` and ``deliver``. Each action needs the matching permission
(``fulfillment.pick_shipment`` ...) and calls one service of ``fulfillment.services``:

- ``pick``: a pick list of this one shipment (``picklist_create``).
- ``pack``: optional body ``{"lines": [{"sku", "quantity"}], "weight_grams", "length_cm",
  "width_cm", "height_cm", "carrier"}``. Without ``lines`` the shipment's own quantities are
  confirmed; without ``weight_grams`` the weight is estimated from the products' weights, or
  recorded as unknown (``null``) when a product has none, the service then chosen by its fee;
  without dimensions a standard parcel (``OMS_DEFAULT_PARCEL_CM``, 30 × 20 × 10 cm) is
  recorded; without ``carrier`` the cheapest service that keeps the promised date is chosen.
- ``ship``: optional ``{"carrier", "tracking_number"}``; without ``carrier`` the service chosen
  at packing is used, without ``tracking_number`` one is generated.

Where no carrier service is set up (a fresh installation), nothing is chosen automatically:
``pack`` needs no carrier, and ``carrier`` is the carrier's name as typed (e.g. "Royal Mail"),
shown as the shipment's ``carrier``; ``ship`` then needs a carrier name (given now or at
packing) and the carrier's own ``tracking_number``.
- ``deliver``: optional ``{"delivered_at"}``; repeating it changes nothing.

``carrier`` is a carrier's code or name (its cheapest suitable service is used, or the one
chosen at packing when it is of that carrier), a service code, or ``"<carrier>/<service>"``.
"""

from contextlib import contextmanager

import django_filters
from django.db.models import Prefetch, Q
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from core.api import (
    ACTION_ERRORS,
    LIST_ERRORS,
    READ_ERRORS,
    json_object,
    staff_with,
)
from orders.exceptions import TransitionNotAllowedNow
from orders.models import OrderStatus

from . import services
from .exceptions import ShipmentValidationError
from .models import Carrier, CarrierService, Shipment, ShipmentLine, ShipmentStatus

SS = ShipmentStatus
ACTION_PERMISSIONS = {
    "pick": "fulfillment.pick_shipment",
    "pack": "fulfillment.pack_shipment",
    "ship": "fulfillment.ship_shipment",
    "deliver": "fulfillment.deliver_shipment",
}
ACTION_FROM = {"pick": SS.PENDING, "pack": SS.PICKING, "ship": SS.PACKED, "deliver": SS.SHIPPED}
ACTIVE_ORDER = (OrderStatus.ALLOCATED, OrderStatus.PROCESSING, OrderStatus.PARTIALLY_SHIPPED)
API_FIELD = {
    "carrier_service": "carrier",
    "carrier_name": "carrier",
    "occurred_at": "delivered_at",
}


# --- output ---------------------------------------------------------------------------------------
class ShipmentLineSerializer(serializers.Serializer):
    sku = serializers.CharField(source="order_line.product.sku")
    name = serializers.CharField(source="order_line.product.name")
    quantity = serializers.IntegerField()
    bin_location = serializers.CharField(source="stock_level.bin_location")


class ShipmentSerializer(serializers.ModelSerializer):
    order = serializers.CharField(source="order.number", help_text="Order number.")
    warehouse = serializers.CharField(source="warehouse.code", help_text="Warehouse code.")
    status = serializers.ChoiceField(choices=SS.choices)
    pick_list = serializers.SerializerMethodField()
    carrier = serializers.SerializerMethodField()
    service = serializers.SerializerMethodField()
    tracking_number = serializers.SerializerMethodField()
    tracking_url = serializers.SerializerMethodField()
    lines = ShipmentLineSerializer(many=True)
    available_actions = serializers.SerializerMethodField()

    class Meta:
        model = Shipment
        fields = [
            "number",
            "order",
            "warehouse",
            "status",
            "pick_list",
            "carrier",
            "service",
            "tracking_number",
            "tracking_url",
            "weight_grams",
            "length_cm",
            "width_cm",
            "height_cm",
            "shipping_cost",
            "created_at",
            "picked_at",
            "packed_at",
            "shipped_at",
            "delivered_at",
            "lines",
            "available_actions",
        ]

    def get_pick_list(self, shipment) -> str | None:
        return shipment.pick_list.number if shipment.pick_list_id else None

    def get_carrier(self, shipment) -> str | None:
        """The carrier's code (as in the order's ``shipments``), or its name as typed where no
        carrier service is set up."""
        carrier = shipment.carrier
        return carrier.code if carrier is not None else None

    def get_service(self, shipment) -> str | None:
        return shipment.carrier_service.code if shipment.carrier_service_id else None

    def get_tracking_number(self, shipment) -> str | None:
        return shipment.tracking_number or None

    def get_tracking_url(self, shipment) -> str | None:
        return shipment.tracking_url or None

    @extend_schema_field(
        serializers.ListField(child=serializers.ChoiceField(choices=list(ACTION_PERMISSIONS)))
    )
    def get_available_actions(self, shipment) -> list[str]:
        request = self.context.get("request")
        user = getattr(request, "user", None)
        names = []
        for name, source in ACTION_FROM.items():
            if shipment.status != source:
                continue
            if name in ("pick", "pack", "ship") and shipment.order.status not in ACTIVE_ORDER:
                continue
            if user is not None and not user.has_perm(ACTION_PERMISSIONS[name]):
                continue
            names.append(name)
        return names


def shipment_queryset():
    """Shipments with everything the serializer reads, in a constant number of queries."""
    return Shipment.objects.select_related(
        "order", "warehouse", "pick_list", "carrier_service__carrier"
    ).prefetch_related(
        Prefetch(
            "lines",
            queryset=ShipmentLine.objects.select_related(
                "order_line__product", "stock_level"
            ).order_by("stock_level__bin_location", "pk"),
        )
    )


# --- input ----------------------------------------------------------------------------------------
class PackLineSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=100)
    quantity = serializers.IntegerField(min_value=0, max_value=1_000_000)


class PackSerializer(serializers.Serializer):
    lines = PackLineSerializer(
        many=True,
        required=False,
        help_text="What went into the parcel; omitted: the shipment's own quantities.",
    )
    weight_grams = serializers.IntegerField(
        min_value=1,
        max_value=10**6,
        required=False,
        help_text="Omitted: estimated from the products' weights; null (not recorded) when a "
        "product has none.",
    )
    length_cm = serializers.IntegerField(min_value=1, max_value=1000, required=False)
    width_cm = serializers.IntegerField(min_value=1, max_value=1000, required=False)
    height_cm = serializers.IntegerField(min_value=1, max_value=1000, required=False)
    carrier = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        help_text="Carrier code or name, service code, or 'carrier/service'; omitted: chosen "
        "by cost and promised date.",
    )

    def pack_input(self, shipment: Shipment) -> services.PackInput:
        """The validated body as the packing service's input. Without ``lines``, the
        shipment's own quantities; ``carrier``: a carrier service (see
        ``carrier_service_from``), or the carrier's name as typed where none is set up."""
        data = self.validated_data
        if "lines" in data:
            lines = [services.PackedLine(line["sku"], line["quantity"]) for line in data["lines"]]
        else:
            lines = [
                services.PackedLine(line.order_line.product.sku, line.quantity)
                for line in shipment.lines.all()
            ]
        service, typed = None, ""
        if data.get("carrier", "").strip() and not services.carrier_services_exist():
            typed = data["carrier"]  # no carrier services set up: the carrier's name as typed
        elif data.get("carrier", "").strip():  # a carrier's name needs the weight for a service
            service = carrier_service_from(
                data["carrier"],
                shipment=shipment,
                weight_grams=data.get("weight_grams")
                or services.shipment_estimated_weight(shipment),
                field="carrier",
            )
        # What is not given, the service estimates or defaults.
        return services.PackInput(
            shipment=shipment,
            lines=lines,
            weight_grams=data.get("weight_grams"),
            length_cm=data.get("length_cm"),
            width_cm=data.get("width_cm"),
            height_cm=data.get("height_cm"),
            carrier_service=service,
            carrier_name=typed,
        )


class ShipSerializer(serializers.Serializer):
    carrier = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        help_text="Carrier code or name, service code, or 'carrier/service'; omitted: the "
        "service chosen at packing.",
    )
    tracking_number = serializers.CharField(
        max_length=64, required=False, allow_blank=True, help_text="Omitted: generated."
    )

    def ship_input(self, shipment: Shipment) -> services.ShipInput:
        """The validated body as the shipping service's input; ``carrier`` as in
        ``PackSerializer.pack_input`` (a packed shipment's weight chooses the service)."""
        data = self.validated_data
        service, typed = None, ""
        if data.get("carrier", "").strip() and not services.carrier_services_exist():
            typed = data["carrier"]  # no carrier services set up: the carrier's name as typed
        elif data.get("carrier", "").strip() and shipment.status == SS.PACKED:
            service = carrier_service_from(
                data["carrier"],
                shipment=shipment,
                weight_grams=shipment.weight_grams or services.shipment_estimated_weight(shipment),
                field="carrier",
            )
        return services.ShipInput(
            shipment=shipment,
            carrier_service=service,
            carrier_name=typed,
            tracking_number=data.get("tracking_number", ""),
        )


class DeliverSerializer(serializers.Serializer):
    delivered_at = serializers.DateTimeField(
        required=False, help_text="When the parcel was delivered; omitted: now."
    )


class NoBodySerializer(serializers.Serializer):
    pass


# --- carrier names to services --------------------------------------------------------------------
def _choose_among(proposals: list) -> CarrierService | None:
    meeting = [p for p in proposals if p.meets_promise]
    if meeting:
        return meeting[0].service
    if proposals:
        return min(proposals, key=lambda p: (p.delivery_date, p.price_from, p.service.pk)).service
    return None


def carrier_service_from(value: str, *, shipment: Shipment, weight_grams: int | None, field: str):
    """The carrier service an API caller means by ``value`` (see the module docstring)."""
    value = (value or "").strip()
    if not value:
        return None
    order = shipment.order
    active = CarrierService.objects.filter(is_active=True, carrier__is_active=True)
    for separator in ("/", ":"):
        if separator in value:
            carrier_code, service_code = (part.strip() for part in value.split(separator, 1))
            service = (
                active.filter(
                    Q(carrier__code__iexact=carrier_code) | Q(carrier__name__iexact=carrier_code),
                    code__iexact=service_code,
                )
                .select_related("carrier")
                .first()
            )
            if service is None:
                raise ValidationError({field: [f"No active carrier service '{value}'."]})
            return service
    carriers = list(
        Carrier.objects.filter(Q(code__iexact=value) | Q(name__iexact=value)).order_by("name")[:2]
    )
    if len(carriers) > 1:
        names = " and ".join(f"{c.name} (code {c.code})" for c in carriers)
        raise ValidationError(
            {field: [f"'{value}' matches two carriers, {names}; give the carrier's code."]}
        )
    carrier = carriers[0] if carriers else None
    if carrier is not None:
        if not carrier.is_active:
            raise ValidationError({field: [f"Carrier {carrier.name} is not active."]})
        current = shipment.carrier_service
        if current is not None and current.carrier_id == carrier.pk:
            return current
        proposals = [
            p
            for p in services.carrier_proposals(order=order, weight_grams=weight_grams)
            if p.service.carrier_id == carrier.pk
        ]
        service = _choose_among(proposals)
        if service is None:
            raise ValidationError(
                {
                    field: [
                        f"Carrier {carrier.name} has no active service that delivers to "
                        f"{order.shipping_country}."
                    ]
                }
            )
        return service
    matches = list(active.filter(code__iexact=value).select_related("carrier")[:2])
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise ValidationError(
            {field: [f"Several carriers have a service '{value}'; give 'carrier/{value}'."]}
        )
    raise ValidationError(
        {field: [f"Unknown carrier '{value}': give a carrier code or name, or a service code."]}
    )


# --- views ----------------------------------------------------------------------------------------
class ShipmentFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=SS.choices)
    warehouse = django_filters.CharFilter(field_name="warehouse__code", help_text="Warehouse code.")
    order = django_filters.CharFilter(field_name="order__number", help_text="Order number.")

    class Meta:
        model = Shipment
        fields = ["status", "warehouse", "order"]


@contextmanager
def api_field_names():
    """Name the fields of a service's errors as the API's body does."""
    try:
        yield
    except ShipmentValidationError as exc:
        named: dict[str, list[str]] = {}
        for field, errors in exc.errors.items():
            named.setdefault(API_FIELD.get(field, field), []).extend(errors)
        exc.errors = named
        raise


def _not_now(shipment: Shipment, done: str) -> TransitionNotAllowedNow:
    label = SS(shipment.status).label.lower()
    return TransitionNotAllowedNow(
        f"Shipment {shipment.number} cannot be {done} while it is {label}.", status=shipment.status
    )


def _action_schema(name: str, request, what: str, description: str = ""):
    return extend_schema(
        summary=f"{what} (staff, {ACTION_PERMISSIONS[name]})",
        description=description or None,
        request=request,
        responses={
            200: ShipmentSerializer,
            **ACTION_ERRORS,
        },
    )


@extend_schema_view(
    list=extend_schema(
        summary="Shipments (staff); filters ?status=, ?warehouse=, ?order=",
        responses={200: ShipmentSerializer, **LIST_ERRORS},
    ),
    retrieve=extend_schema(
        summary="One shipment with its lines (staff)",
        responses={200: ShipmentSerializer, **READ_ERRORS},
    ),
)
class ShipmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ShipmentSerializer
    filterset_class = ShipmentFilter
    lookup_field = "number"
    lookup_value_regex = r"[^/]+"
    permission_classes = [staff_with("fulfillment.view_shipment")]

    def get_permissions(self):
        if self.action in ACTION_PERMISSIONS:
            return [staff_with(ACTION_PERMISSIONS[self.action])()]
        return super().get_permissions()

    def get_queryset(self):
        return shipment_queryset().order_by("created_at", "pk")

    def _input(self, serializer_class):
        serializer = serializer_class(data=json_object(self.request))
        serializer.is_valid(raise_exception=True)
        return serializer

    def _body(self, serializer_class) -> dict:
        return self._input(serializer_class).validated_data

    def _render(self, shipment: Shipment) -> Response:
        return Response(self.get_serializer(shipment_queryset().get(pk=shipment.pk)).data)

    @_action_schema("pick", NoBodySerializer, "Pick the shipment (a pick list of its own)")
    @action(detail=True, methods=["post"])
    def pick(self, request, number=None):
        shipment = self.get_object()
        if shipment.status != SS.PENDING:
            raise _not_now(shipment, "picked")
        order = shipment.order
        if order.status not in ACTIVE_ORDER:
            raise TransitionNotAllowedNow(
                f"Shipment {shipment.number} cannot be picked: its order {order.number} is "
                f"{OrderStatus(order.status).label.lower()}.",
                status=shipment.status,
            )
        services.picklist_create(
            warehouse=shipment.warehouse, shipments=[shipment], user=request.user
        )
        return self._render(shipment)

    @_action_schema(
        "pack",
        PackSerializer,
        "Pack the shipment",
        "The whole body is optional. Without `lines` the shipment's own quantities are "
        "confirmed; without `weight_grams` the weight is estimated from the products (`null`, "
        "not recorded, when a product has no weight: the service with the lowest parcel fee "
        "is then chosen); without "
        "dimensions a standard parcel of 30 × 20 × 10 cm is recorded; without `carrier` the "
        "cheapest service that keeps the promised delivery date is chosen.",
    )
    @action(detail=True, methods=["post"])
    def pack(self, request, number=None):
        shipment = self.get_object()
        body = self._input(PackSerializer)
        if shipment.status != SS.PICKING:
            # The service refuses too; refuse before estimating weights and choosing carriers.
            raise _not_now(shipment, "packed")
        data = body.pack_input(shipment)
        with api_field_names():
            services.shipment_pack(data=data, user=request.user)
        return self._render(shipment)

    @_action_schema("ship", ShipSerializer, "Hand the parcel to the carrier")
    @action(detail=True, methods=["post"])
    def ship(self, request, number=None):
        shipment = self.get_object()
        data = self._input(ShipSerializer).ship_input(shipment)
        with api_field_names():
            services.shipment_ship(data=data, user=request.user)
        return self._render(shipment)

    @_action_schema("deliver", DeliverSerializer, "Mark the parcel delivered")
    @action(detail=True, methods=["post"])
    def deliver(self, request, number=None):
        shipment = self.get_object()
        data = self._body(DeliverSerializer)
        with api_field_names():
            services.shipment_deliver(
                shipment=shipment, occurred_at=data.get("delivered_at"), user=request.user
            )
        return self._render(shipment)
