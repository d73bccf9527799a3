"""Returns (RMA) in the REST API (shared docs/api.md).

Partners open returns for their own orders and read their own returns; staff read every return
and move it on with ``POST /api/v1/returns/{number}/{action}/`` (``approve``, ``reject``,
``receive``, ``inspect``, ``refund``, ``exchange``, and also ``close`` and ``cancel``), each with
the matching ``returns.<action>_returnrequest`` permission. Views are thin: they parse the body,
call one service of ``returns.services`` and render the return.

A new return is ``requested``, or at once ``approved`` when the return policy auto-approves every
reason on it (by default ``damaged_in_transit``, ``wrong_item``, ``defective``): the response
shows the status the service left it in.
"""

import django_filters
from django.db.models import Prefetch
from drf_spectacular.utils import (
    OpenApiExample,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api import (
    ACTION_ERRORS,
    ERR_400,
    ERR_401,
    ERR_403,
    ERR_429,
    LIST_ERRORS,
    READ_ERRORS,
    json_object,
    partner_of,
    partner_or_staff_with,
    staff_with,
)
from inventory.models import Warehouse
from orders.models import Order
from orders.services import LineInput

from . import services
from .inputs import InspectionLine, ReturnLineInput
from .models import (
    RefundMethod,
    ReturnLine,
    ReturnReason,
    ReturnRequest,
    ReturnSource,
    ReturnStatus,
)

ACTION_PERMISSIONS = {name: f"returns.{name}_returnrequest" for name in services.STAFF_TRANSITIONS}


# --- output ---------------------------------------------------------------------------------------
class ReturnLineSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="order_line.product.sku")

    class Meta:
        model = ReturnLine
        fields = [
            "sku",
            "quantity",
            "reason",
            "note",
            "quantity_sellable",
            "quantity_damaged",
            "disposition",
            "condition",
        ]


class RefundSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    restocking_fee = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()
    method = serializers.ChoiceField(choices=RefundMethod.choices)
    reference = serializers.CharField()
    created_at = serializers.DateTimeField()


class ReturnSerializer(serializers.ModelSerializer):
    order = serializers.CharField(source="order.number", help_text="Order number.")
    status = serializers.ChoiceField(choices=ReturnStatus.choices)
    warehouse = serializers.SerializerMethodField()
    lines = ReturnLineSerializer(many=True)
    refund = serializers.SerializerMethodField()
    replacement_order = serializers.SerializerMethodField()
    available_transitions = serializers.SerializerMethodField()

    class Meta:
        model = ReturnRequest
        fields = [
            "number",
            "order",
            "status",
            "source",
            "lines",
            "warehouse",
            "rejection_reason",
            "refund",
            "replacement_order",
            "exchange_price_difference",
            "exchange_difference_reason",
            "created_at",
            "approved_at",
            "received_at",
            "inspected_at",
            "closed_at",
            "available_transitions",
        ]

    def get_warehouse(self, return_request) -> str | None:
        """Where the goods were received and inspected (warehouse code)."""
        return return_request.warehouse.code if return_request.warehouse_id else None

    @extend_schema_field(RefundSerializer(allow_null=True))
    def get_refund(self, return_request) -> dict | None:
        try:
            refund = return_request.refund_record
        except ReturnRequest.refund_record.RelatedObjectDoesNotExist:
            return None
        return RefundSerializer(refund).data

    def get_replacement_order(self, return_request) -> str | None:
        """Number of the free replacement order of an exchange."""
        order = return_request.replacement_order
        return order.number if order is not None else None

    @extend_schema_field(
        serializers.ListField(
            child=serializers.ChoiceField(choices=list(services.STAFF_TRANSITIONS))
        )
    )
    def get_available_transitions(self, return_request) -> list[str]:
        """Staff: the actions allowed now and permitted to the caller. Partners: none."""
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_staff:
            return []
        return services.available_transitions(return_request, user)


def return_queryset():
    """Returns with everything the serializer reads, in a constant number of queries."""
    return ReturnRequest.objects.select_related(
        "order", "warehouse", "replacement_order", "refund_record"
    ).prefetch_related(
        Prefetch(
            "lines",
            queryset=ReturnLine.objects.select_related("order_line__product").order_by("pk"),
        )
    )


# --- input ----------------------------------------------------------------------------------------
class ReturnLineInSerializer(serializers.Serializer):
    sku = serializers.CharField()
    quantity = serializers.IntegerField(min_value=1)
    reason = serializers.ChoiceField(choices=ReturnReason.choices)
    note = serializers.CharField(required=False, allow_blank=True, max_length=500)


class ReturnCreateSerializer(serializers.Serializer):
    order = serializers.CharField(max_length=64, help_text="Order number (SO-…).")
    lines = ReturnLineInSerializer(many=True, min_length=1)  # type: ignore[call-arg]
    override_reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=255,
        help_text="Staff with returns.override_return_window only: accept a return after the "
        "return window, giving the reason.",
    )

    def validate_lines(self, lines: list[dict]) -> list[ReturnLineInput]:
        return [
            ReturnLineInput(
                sku=line["sku"],
                quantity=line["quantity"],
                reason=line["reason"],
                note=line.get("note", ""),
            )
            for line in lines
        ]

    def validate_order(self, number: str) -> Order:
        number = number.strip()
        # Another partner's order is "not found" too: its existence is not revealed.
        order = self.context["orders"].filter(number=number).first()
        if order is None:
            raise serializers.ValidationError(f"No order {number}.")
        return order


class NoBodySerializer(serializers.Serializer):
    pass


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True)


class RejectSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=255, help_text="Told to the customer.")


class InspectLineSerializer(serializers.Serializer):
    sku = serializers.CharField()
    sellable = serializers.IntegerField(min_value=0, max_value=1_000_000, default=0)
    damaged = serializers.IntegerField(min_value=0, max_value=1_000_000, default=0)
    condition = serializers.CharField(required=False, allow_blank=True, max_length=500)


class InspectSerializer(serializers.Serializer):
    lines = InspectLineSerializer(many=True, min_length=1)  # type: ignore[call-arg]
    warehouse = serializers.CharField(
        required=False,
        help_text="Code of the warehouse that received the goods; omitted: the one they were "
        "shipped from.",
    )

    def validate_warehouse(self, code: str) -> Warehouse:
        warehouse = Warehouse.objects.filter(code=code.strip()).first()
        if warehouse is None:
            raise serializers.ValidationError(f"Unknown warehouse '{code}'.")
        return warehouse

    def validate_lines(self, lines: list[dict]) -> list[InspectionLine]:
        counts: dict[str, InspectionLine] = {}
        for position, line in enumerate(lines, start=1):
            sku = line["sku"].strip()
            if sku in counts:
                raise serializers.ValidationError(
                    f"Line {position}: SKU {sku} is given twice; give each SKU once."
                )
            counts[sku] = InspectionLine(
                sku=sku,
                sellable=line["sellable"],
                damaged=line["damaged"],
                condition=line.get("condition", ""),
            )
        return list(counts.values())


class RefundInputSerializer(serializers.Serializer):
    method = serializers.ChoiceField(
        choices=RefundMethod.choices, default=RefundMethod.ORIGINAL_PAYMENT
    )
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True)


class ExchangeLineSerializer(serializers.Serializer):
    sku = serializers.CharField()
    quantity = serializers.IntegerField(min_value=1)


class ExchangeSerializer(serializers.Serializer):
    lines = ExchangeLineSerializer(  # type: ignore[call-arg]  # ListSerializer takes min_length
        many=True,
        min_length=1,
        required=False,
        help_text="What to send instead (e.g. another size); omitted: the units received. "
        "At most the units accepted back, within their value unless price_difference is given.",
    )
    price_difference = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        required=False,
        allow_null=True,
        help_text="The replacement's value minus the value returned, when they differ: positive "
        "is charged to the customer, negative refunded (needs returns.exchange_over_value).",
    )
    difference_reason = serializers.CharField(
        max_length=255, required=False, allow_blank=True, help_text="Why the difference."
    )

    def validate_lines(self, lines: list[dict]) -> list[LineInput]:
        return [LineInput(sku=line["sku"], quantity=line["quantity"]) for line in lines]


# --- filters --------------------------------------------------------------------------------------
class ReturnFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ReturnStatus.choices)
    order = django_filters.CharFilter(field_name="order__number", help_text="Order number.")

    class Meta:
        model = ReturnRequest
        fields = ["status", "order"]


# --- views ----------------------------------------------------------------------------------------
def _action_schema(name: str, request, what: str):
    return extend_schema(
        summary=f"{what} (staff, {ACTION_PERMISSIONS[name]})",
        request=request,
        responses={
            200: ReturnSerializer,
            **ACTION_ERRORS,
        },
    )


@extend_schema_view(
    list=extend_schema(
        summary="The caller's returns (staff: every return); filters ?status=, ?order=",
        responses={200: ReturnSerializer, **LIST_ERRORS},
    ),
    retrieve=extend_schema(summary="One return", responses={200: ReturnSerializer, **READ_ERRORS}),
)
class ReturnViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ReturnSerializer
    filterset_class = ReturnFilter
    lookup_field = "number"
    lookup_value_regex = r"[^/]+"

    def get_permissions(self):
        if self.action in ACTION_PERMISSIONS:
            return [staff_with(ACTION_PERMISSIONS[self.action])()]
        return [
            partner_or_staff_with(
                read="returns.view_returnrequest", create="returns.add_returnrequest"
            )()
        ]

    def get_queryset(self):
        qs = return_queryset().order_by("-created_at", "-id")
        user = self.request.user
        if user.is_authenticated and user.is_staff:
            return qs
        partner = partner_of(user)
        return qs.filter(order__partner=partner) if partner is not None else qs.none()

    def _body(self, serializer_class) -> dict:
        serializer = serializer_class(data=json_object(self.request))
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def _render(self, return_request: ReturnRequest, code=status.HTTP_200_OK) -> Response:
        fresh = return_queryset().get(pk=return_request.pk)
        return Response(self.get_serializer(fresh).data, status=code)

    @extend_schema(
        summary="Open a return (partner: own orders; staff: any order)",
        description="`201` with the return. Its `status` is `requested`, or already `approved` "
        "when the return policy approves every reason on it at once (by default "
        "`damaged_in_transit`, `wrong_item`, `defective`). `400` for more than shipped minus "
        "already returned, a SKU not on the order, the return window closed, or an order that "
        "is not the caller's (named as not found).",
        request=ReturnCreateSerializer,
        responses={
            201: ReturnSerializer,
            400: ERR_400,
            401: ERR_401,
            403: ERR_403,
            429: ERR_429,
        },
        examples=[
            OpenApiExample(
                "Return",
                request_only=True,
                value={
                    "order": "SO-000123",
                    "lines": [{"sku": "MUG-BLUE", "quantity": 1, "reason": "damaged_in_transit"}],
                },
            )
        ],
    )
    def create(self, request, *args, **kwargs):
        user = request.user
        orders = (
            Order.objects.all() if user.is_staff else Order.objects.filter(partner=partner_of(user))
        )
        serializer = ReturnCreateSerializer(data=json_object(request), context={"orders": orders})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        return_request = services.return_request_create(
            order=data["order"],
            lines=data["lines"],
            user=user,
            source=ReturnSource.STAFF if user.is_staff else ReturnSource.API,
            override_reason=data.get("override_reason", "") if user.is_staff else "",
        )
        return self._render(return_request, status.HTTP_201_CREATED)

    @_action_schema("approve", NoBodySerializer, "Approve the return")
    @action(detail=True, methods=["post"])
    def approve(self, request, number=None):
        return_request = self.get_object()
        return self._render(
            services.return_approve(return_request=return_request, user=request.user)
        )

    @_action_schema("reject", RejectSerializer, "Reject the return, giving the reason")
    @action(detail=True, methods=["post"])
    def reject(self, request, number=None):
        return_request = self.get_object()
        data = self._body(RejectSerializer)
        return self._render(
            services.return_reject(
                return_request=return_request, reason=data["reason"], user=request.user
            )
        )

    @_action_schema("receive", NoBodySerializer, "The returned goods arrived")
    @action(detail=True, methods=["post"])
    def receive(self, request, number=None):
        return_request = self.get_object()
        return self._render(
            services.return_receive(return_request=return_request, user=request.user)
        )

    @_action_schema(
        "inspect",
        InspectSerializer,
        "Inspect: sellable units back to stock in the warehouse, damaged units scrapped",
    )
    @action(detail=True, methods=["post"])
    def inspect(self, request, number=None):
        return_request = self.get_object()
        data = self._body(InspectSerializer)
        return self._render(
            services.return_inspect(
                return_request=return_request,
                lines=data["lines"],
                warehouse=data.get("warehouse"),
                user=request.user,
            )
        )

    @_action_schema("refund", RefundInputSerializer, "Refund the units received")
    @action(detail=True, methods=["post"])
    def refund(self, request, number=None):
        return_request = self.get_object()
        data = self._body(RefundInputSerializer)
        services.return_refund(
            return_request=return_request,
            method=data["method"],
            reference=data.get("reference", ""),
            user=request.user,
        )
        return self._render(return_request)

    @_action_schema("exchange", ExchangeSerializer, "Send free replacements (a new order)")
    @action(detail=True, methods=["post"])
    def exchange(self, request, number=None):
        return_request = self.get_object()
        data = self._body(ExchangeSerializer)
        services.return_exchange(
            return_request=return_request,
            lines=data.get("lines"),
            price_difference=data.get("price_difference"),
            difference_reason=data.get("difference_reason", ""),
            user=request.user,
        )
        return self._render(return_request)

    @_action_schema("close", NoBodySerializer, "Close a refunded or exchanged return")
    @action(detail=True, methods=["post"])
    def close(self, request, number=None):
        return_request = self.get_object()
        return self._render(services.return_close(return_request=return_request, user=request.user))

    @_action_schema(
        "cancel",
        ReasonSerializer,
        "Withdraw a return that has not arrived, or whose parcel held none of its items",
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, number=None):
        return_request = self.get_object()
        data = self._body(ReasonSerializer)
        return self._render(
            services.return_cancel(
                return_request=return_request, reason=data.get("reason", ""), user=request.user
            )
        )
