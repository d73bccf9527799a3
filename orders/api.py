"""Orders, stock receipts and order history in the REST API (shared docs/api.md).

Views are thin: they check who may act, call one service of ``orders.services`` and render the
order. Placement is idempotent per token user through ``Idempotency-Key`` (``IdempotencyKey``
rows, see ``orders.services.order_place_idempotent``).
"""

import datetime

import django_filters
from django import forms
from django_fsm import has_transition_perm
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from core.api import (
    ACTION_ERRORS,
    ERR_400,
    ERR_401,
    ERR_403,
    ERR_429,
    LIST_ERRORS,
    READ_ERRORS,
    WRITE_ERRORS,
    DuplicateSerializer,
    IsPartnerOrStaff,
    IsStaff,
    partner_of,
    partner_or_staff_with,
    staff_with,
)
from inventory.models import Product, Warehouse
from inventory.skus import products_by_sku, sku_key

from .models import Order, OrderEvent, OrderStatus, Partner
from .representation import (
    AddressSerializer,
    CustomerSerializer,
    OrderSerializer,
    order_queryset,
)
from .services import (
    NOTE_MAX_LENGTH,
    REASON_MAX_LENGTH,
    NoteInput,
    PlacedOrder,
    PlacementInput,
    idempotency_fingerprint,
    order_note_add,
    order_place_idempotent,
    order_transition,
    placement_input_from_json,
    stock_receipt_record,
)
from .transitions import TRANSITIONS

IDEMPOTENCY_HEADER = "Idempotency-Key"


# --- order input (documentation: the service validates and names every problem) -----------------
# The body is read leniently (``OrderPlaceSerializer.placement_input``), not validated by these
# fields: a value of the wrong type is named by the service with the others, in its own words.
class OrderLineInputSerializer(serializers.Serializer):
    sku = serializers.CharField()
    quantity = serializers.IntegerField(min_value=1)


class OrderPlaceSerializer(serializers.Serializer):
    reference = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        help_text="Your own id; unique per partner.",
    )
    customer = CustomerSerializer()
    shipping_address = AddressSerializer()
    lines = OrderLineInputSerializer(many=True, min_length=1)  # type: ignore[call-arg]
    notes = serializers.CharField(max_length=5000, required=False, allow_blank=True)

    @staticmethod
    def placement_input(data: dict, partner: Partner) -> PlacementInput:
        """A partner's body as placement's input, read leniently: what has the wrong type is
        noted on it for the service to name (``placement_input_from_json``)."""
        return placement_input_from_json(
            channel=partner.channel,
            partner=partner,
            customer=data.get("customer"),
            shipping_address=data.get("shipping_address"),
            lines=data.get("lines"),
            reference=data.get("reference", ""),
            notes=data.get("notes", ""),
        )


class TransitionInputSerializer(serializers.Serializer):
    # The rule of the pages (orders.services.reason_clean), but optional: the contract lets a
    # partner cancel with an empty body.
    reason = serializers.CharField(
        max_length=REASON_MAX_LENGTH,
        required=False,
        allow_blank=True,
        help_text="Recorded in the history.",
        error_messages={
            "max_length": "The reason may be at most {max_length} characters long.",
        },
    )


class OrderEventSerializer(serializers.ModelSerializer):
    order = serializers.CharField(source="order.number")
    user = serializers.SerializerMethodField()

    class Meta:
        model = OrderEvent
        fields = [
            "order",
            "type",
            "from_status",
            "to_status",
            "message",
            "details",
            "user",
            "created_at",
        ]

    def get_user(self, event) -> str | None:
        return event.user.get_username() if event.user_id else None


class NoteInputSerializer(serializers.Serializer):
    # The service (orders.services.note_clean) says what is wrong; this only documents the body.
    text = serializers.CharField(
        allow_blank=True,
        trim_whitespace=False,
        help_text=f"The note, at most {NOTE_MAX_LENGTH} characters.",
    )


# --- filters --------------------------------------------------------------------------------------
class UtcDateTimeField(forms.DateTimeField):
    """ISO 8601 date or date-time, normalised to UTC (PostgreSQL refuses offsets beyond ±15h)."""

    def to_python(self, value):
        result = super().to_python(value)
        if result is None:
            return None
        try:
            return result.astimezone(datetime.UTC)
        except (OverflowError, ValueError):
            raise forms.ValidationError("The date is out of range.", code="invalid") from None


class UtcDateTimeFilter(django_filters.DateTimeFilter):
    field_class = UtcDateTimeField


class OrderFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=OrderStatus.choices)
    reference = django_filters.CharFilter(field_name="reference")
    placed_after = UtcDateTimeFilter(
        field_name="placed_at", lookup_expr="gte", help_text="ISO 8601, inclusive."
    )
    placed_before = UtcDateTimeFilter(
        field_name="placed_at", lookup_expr="lt", help_text="ISO 8601, exclusive."
    )

    class Meta:
        model = Order
        fields = ["status", "reference", "placed_after", "placed_before"]


class EventFilter(django_filters.FilterSet):
    order = django_filters.CharFilter(field_name="order__number", help_text="Order number.")

    class Meta:
        model = OrderEvent
        fields = ["order"]


# --- views ----------------------------------------------------------------------------------------
def _transition_schema(name: str):
    t = TRANSITIONS[name]
    who = f"partner: own order; staff: {t.permission}" if t.partner else f"staff, {t.permission}"
    return extend_schema(
        summary=f"{name.capitalize()} the order ({who})",
        request=TransitionInputSerializer,
        responses={
            200: OrderSerializer,
            **ACTION_ERRORS,
        },
    )


@extend_schema_view(
    list=extend_schema(
        summary="The caller's orders (staff: every order)",
        responses={200: OrderSerializer, **LIST_ERRORS},
    ),
    retrieve=extend_schema(summary="One order", responses={200: OrderSerializer, **READ_ERRORS}),
)
class OrderViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = OrderSerializer
    filterset_class = OrderFilter
    lookup_field = "number"
    lookup_value_regex = r"[^/]+"

    def get_permissions(self):
        if self.action == "notes":
            # Internal notes are staff's: a partner's token gets 403 and never sees them.
            return [staff_with("orders.note_order")()]
        if self.action in TRANSITIONS and not TRANSITIONS[self.action].partner:
            return [IsStaff()]
        if self.action in ("list", "retrieve"):
            return [partner_or_staff_with(read="orders.view_order")()]
        return [IsPartnerOrStaff()]

    def get_queryset(self):
        qs = order_queryset().order_by("-placed_at", "-id")
        user = self.request.user
        if user.is_authenticated and user.is_staff:
            return qs
        partner = partner_of(user)
        return qs.filter(partner=partner) if partner is not None else qs.none()

    def _render(self, order: Order, code=status.HTTP_200_OK) -> Response:
        order = order_queryset().get(pk=order.pk)
        return Response(self.get_serializer(order).data, status=code)

    def _render_placed(self, placed: PlacedOrder) -> Response:
        """A just-placed order from memory: placement hands back its lines (with their
        products), its shipments and the customer and channel it used; nothing is read."""
        context = {**self.get_serializer_context(), "placed": placed}
        data = self.get_serializer_class()(placed.order, context=context).data
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Place an order (partner)",
        request=OrderPlaceSerializer,
        parameters=[
            OpenApiParameter(
                IDEMPOTENCY_HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="Same key and body: the same order again (200). Different body: 409.",
            )
        ],
        responses={
            201: OrderSerializer,
            200: OpenApiResponse(OrderSerializer, description="Repeat of an earlier request."),
            400: ERR_400,
            401: ERR_401,
            403: ERR_403,
            409: OpenApiResponse(
                DuplicateSerializer, description="Key or reference reused with another body."
            ),
            429: ERR_429,
        },
        examples=[
            OpenApiExample(
                "Order",
                request_only=True,
                value={
                    "reference": "PO-2026-0042",
                    "customer": {"name": "Ada Park", "email": "ada@example.com", "phone": ""},
                    "shipping_address": {
                        "line1": "1 High St",
                        "line2": "",
                        "city": "Leeds",
                        "postal_code": "LS1 1AA",
                        "country": "GB",
                    },
                    "lines": [{"sku": "MUG-BLUE", "quantity": 2}],
                    "notes": "",
                },
            )
        ],
    )
    def create(self, request, *args, **kwargs):
        partner = partner_of(request.user)
        if partner is None:
            raise PermissionDenied("Only a partner's token can place orders.")
        data = request.data
        if not isinstance(data, dict):
            raise ValidationError({"detail": "Send the order as a JSON object."})
        key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
        if len(key) > 255:
            raise ValidationError({IDEMPOTENCY_HEADER: ["At most 255 characters."]})

        placement = order_place_idempotent(
            data=OrderPlaceSerializer.placement_input(data, partner),
            user=request.user,
            key=key,
            fingerprint=idempotency_fingerprint(data),
        )
        if placement.placed is not None:
            return self._render_placed(placement.placed)
        return self._render(placement.order)

    def _transition(self, request, name: str) -> Response:
        order = self.get_object()
        user = request.user
        if user.is_staff:
            permission = TRANSITIONS[name].permission
            if not has_transition_perm(getattr(order, name), user) and not user.has_perm(
                permission
            ):
                raise PermissionDenied(f"You need the {permission} permission to {name} orders.")
        elif not TRANSITIONS[name].partner:
            raise PermissionDenied("Staff only.")
        body = TransitionInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        order = order_transition(
            order=order, name=name, user=user, reason=body.validated_data.get("reason", "")
        )
        return self._render(order)

    @extend_schema(
        summary="Add an internal note (staff, orders.note_order)",
        description=(
            "Kept in the order's history as a `staff_note` event (GET events/?order=<number>). "
            "Never e-mailed to the customer, never sent in a webhook, never in the order's "
            "representation."
        ),
        request=NoteInputSerializer,
        responses={201: OrderEventSerializer, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def notes(self, request, number=None):
        order = self.get_object()
        body = NoteInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        event = order_note_add(
            order=order, data=NoteInput(text=body.validated_data["text"]), user=request.user
        )
        return Response(OrderEventSerializer(event).data, status=status.HTTP_201_CREATED)

    @_transition_schema("cancel")
    @action(detail=True, methods=["post"])
    def cancel(self, request, number=None):
        return self._transition(request, "cancel")

    @_transition_schema("confirm")
    @action(detail=True, methods=["post"])
    def confirm(self, request, number=None):
        return self._transition(request, "confirm")

    @_transition_schema("hold")
    @action(detail=True, methods=["post"])
    def hold(self, request, number=None):
        return self._transition(request, "hold")

    @_transition_schema("release")
    @action(detail=True, methods=["post"])
    def release(self, request, number=None):
        return self._transition(request, "release")


# --- stock receipts -------------------------------------------------------------------------------
class ReceiptLineSerializer(serializers.Serializer):
    sku = serializers.CharField()
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000)


class ReceiptSerializer(serializers.Serializer):
    warehouse = serializers.CharField(help_text="Warehouse code.")
    lines = ReceiptLineSerializer(many=True, min_length=1)  # type: ignore[call-arg]
    reference = serializers.CharField(
        max_length=100, required=False, allow_blank=True, help_text="Delivery note or PO."
    )

    def validate_warehouse(self, code: str) -> Warehouse:
        warehouse = Warehouse.objects.filter(code=code.strip()).first()
        if warehouse is None:
            raise serializers.ValidationError(f"Unknown warehouse '{code}'.")
        if not warehouse.is_active:
            raise serializers.ValidationError(f"Warehouse {warehouse.code} is not active.")
        return warehouse

    def validate_lines(self, lines: list[dict]) -> list[tuple[Product, int]]:
        skus = [sku_key(line["sku"]) for line in lines]  # any case: inventory.skus
        products = products_by_sku(skus)
        unknown = [sku for sku in skus if sku not in products]
        if unknown:
            raise serializers.ValidationError(f"Unknown SKU: {', '.join(sorted(set(unknown)))}.")
        return [(products[sku], line["quantity"]) for sku, line in zip(skus, lines, strict=True)]


class ReceiptResultLineSerializer(serializers.Serializer):
    sku = serializers.CharField()
    quantity = serializers.IntegerField()
    on_hand = serializers.IntegerField(help_text="On hand in this warehouse after the receipt.")


class ReceiptResultSerializer(serializers.Serializer):
    warehouse = serializers.CharField()
    reference = serializers.CharField()
    lines = ReceiptResultLineSerializer(many=True)
    orders_filled = serializers.ListField(
        child=serializers.CharField(), help_text="Backordered orders that got stock, oldest first."
    )


class ReceiptViewSet(viewsets.GenericViewSet):
    permission_classes = [
        staff_with("inventory.add_stockmovement", "inventory.change_stocklevel", any_of=True)
    ]
    serializer_class = ReceiptSerializer

    @extend_schema(
        summary="Receive stock (staff); backorders are then filled oldest first",
        request=ReceiptSerializer,
        responses={
            201: ReceiptResultSerializer,
            400: ERR_400,
            401: ERR_401,
            403: ERR_403,
            429: ERR_429,
        },
    )
    def create(self, request):
        serializer = ReceiptSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        movements, filled = stock_receipt_record(
            warehouse=data["warehouse"],
            lines=data["lines"],
            user=request.user,
            reference=data.get("reference", ""),
        )
        skus = {p.pk: p.sku for p, _ in data["lines"]}
        body = {
            "warehouse": data["warehouse"].code,
            "reference": data.get("reference", ""),
            "lines": [
                {
                    "sku": skus[m.stock_level.product_id],
                    "quantity": m.quantity,
                    "on_hand": m.on_hand_after,
                }
                for m in movements
            ],
            "orders_filled": [order.number for order in filled],
        }
        return Response(ReceiptResultSerializer(body).data, status=status.HTTP_201_CREATED)


# --- order history --------------------------------------------------------------------------------
@extend_schema_view(
    list=extend_schema(
        summary="Order history (staff); filter ?order=<number>",
        responses={200: OrderEventSerializer, **LIST_ERRORS},
    )
)
class OrderEventViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = OrderEventSerializer
    filterset_class = EventFilter
    permission_classes = [staff_with("orders.view_orderevent")]

    def get_queryset(self):
        return OrderEvent.objects.select_related("order", "user").order_by("created_at", "id")
