"""Transfers between warehouses in the REST API (docs/api-notes.md, "Transfers": an addition
to v1 in the style of the purchase orders). Staff only: the permissions of
``purchasing.transitions.TRANSFER_ACTIONS`` and ``view_transfer``/``add_transfer``. Thin: shape
checks, one service of ``purchasing.services.transfers``, the transfer rendered. Transfers are
addressed by ``number``, warehouses by ``code``, products by ``sku``."""

from collections.abc import Callable
from typing import Any, TypeVar

import django_filters
from django.db.models import Exists, OuterRef, QuerySet
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import ACTION_ERRORS, LIST_ERRORS, READ_ERRORS, WRITE_ERRORS, staff_with
from inventory.skus import sku_key

from .models import Transfer, TransferLine, TransferStatus
from .services.transfers import (
    NOTES_MAX_LENGTH,
    TransferLineInput,
    transfer_cancel,
    transfer_create,
    transfer_receive,
    transfer_ship,
)
from .transfer_selectors import transfers_with_lines
from .transitions import TRANSFER_ACTIONS

F = TypeVar("F", bound=Callable[..., Any])


class TransferLineSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    sku = serializers.CharField(source="product.sku")

    class Meta:
        model = TransferLine
        fields = ["sku", "quantity"]


class TransferSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    # A field called "source": DRF's metaclass pops declared fields off the class, but the stubs
    # see ``Field.source`` (a str) there.
    source = serializers.CharField(source="source.code", help_text="Warehouse code.")  # type: ignore[assignment]
    destination = serializers.CharField(source="destination.code", help_text="Warehouse code.")
    status = serializers.ChoiceField(choices=TransferStatus.choices)
    requested_by = serializers.SerializerMethodField()
    in_transit = serializers.SerializerMethodField(
        help_text="Units on the road: every unit while shipped, else 0. They are available "
        "neither at the source nor at the destination."
    )
    lines = TransferLineSerializer(many=True)

    class Meta:
        model = Transfer
        fields = [
            "number",
            "source",
            "destination",
            "status",
            "in_transit",
            "lines",
            "notes",
            "requested_by",
            "created_at",
            "shipped_at",
            "received_at",
            "cancelled_at",
        ]

    def get_requested_by(self, transfer: Transfer) -> str | None:
        user = transfer.requested_by
        return user.get_username() if user is not None else None

    def get_in_transit(self, transfer: Transfer) -> int:
        if not transfer.in_transit:
            return 0
        return sum(line.quantity for line in transfer.lines.all())


class TransferReceiptSerializer(TransferSerializer):
    filled_orders = serializers.ListField(
        child=serializers.CharField(),
        help_text="Numbers of the orders whose backorders this receipt filled, oldest first.",
    )

    class Meta(TransferSerializer.Meta):
        fields = [*TransferSerializer.Meta.fields, "filled_orders"]


class TransferLineInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(help_text="A positive whole number.")


class TransferCreateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    source = serializers.CharField(max_length=16, help_text="Warehouse code the goods leave.")  # type: ignore[assignment]  # see TransferSerializer
    destination = serializers.CharField(max_length=16, help_text="Warehouse code they go to.")
    notes = serializers.CharField(required=False, allow_blank=True, max_length=NOTES_MAX_LENGTH)
    lines = TransferLineInputSerializer(many=True)


class TransferReasonSerializer(serializers.Serializer):  # type: ignore[type-arg]
    reason = serializers.CharField(required=False, allow_blank=True, max_length=255)


class TransferFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=TransferStatus.choices)
    source = django_filters.CharFilter(
        field_name="source__code", lookup_expr="iexact", help_text="Warehouse code."
    )
    destination = django_filters.CharFilter(
        field_name="destination__code", lookup_expr="iexact", help_text="Warehouse code."
    )
    sku = django_filters.CharFilter(method="filter_sku", help_text="Transfers with a line of it.")

    class Meta:
        model = Transfer
        fields = ["status", "source", "destination", "sku"]

    def filter_sku(self, queryset: QuerySet[Transfer], name: str, value: str) -> QuerySet[Transfer]:
        lines = TransferLine.objects.filter(
            transfer=OuterRef("pk"), product__sku=sku_key(value) or value
        )
        filtered: QuerySet[Transfer] = queryset.filter(Exists(lines))
        return filtered


def _action_schema(name: str, request: Any, response: Any = None) -> Callable[[F], F]:
    decorator: Callable[[F], F] = extend_schema(
        summary=f"{TRANSFER_ACTIONS[name].label} a transfer "
        f"(staff, {TRANSFER_ACTIONS[name].permission})",
        request=request,
        responses={200: response or TransferSerializer, **ACTION_ERRORS},
    )
    return decorator


@extend_schema_view(
    list=extend_schema(
        summary="Transfers between warehouses (staff, purchasing.view_transfer)",
        responses={200: TransferSerializer, **LIST_ERRORS},
    ),
    retrieve=extend_schema(
        summary="One transfer (staff, purchasing.view_transfer)",
        responses={200: TransferSerializer, **READ_ERRORS},
    ),
)
class TransferViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    lookup_field = "number"
    lookup_value_regex = r"[^/]+"
    serializer_class = TransferSerializer
    filterset_class = TransferFilter

    def get_permissions(self) -> list[BasePermission]:
        if self.action in TRANSFER_ACTIONS:
            return [staff_with(TRANSFER_ACTIONS[self.action].permission)()]
        method = self.request.method if self.request is not None else "GET"
        if method == "POST":
            return [staff_with("purchasing.add_transfer")()]
        return [staff_with("purchasing.view_transfer")()]

    def get_queryset(self) -> QuerySet[Transfer]:
        return transfers_with_lines().order_by("-pk")

    def _render(self, transfer: Transfer, code: int = status.HTTP_200_OK) -> Response:
        fresh = transfers_with_lines().get(pk=transfer.pk)
        return Response(TransferSerializer(fresh).data, status=code)

    @extend_schema(
        summary="Request a transfer (staff, purchasing.add_transfer)",
        request=TransferCreateSerializer,
        responses={201: TransferSerializer, **WRITE_ERRORS},
        examples=[
            OpenApiExample(
                "Two lines",
                value={
                    "source": "MAD",
                    "destination": "LDS",
                    "lines": [
                        {"sku": "MUG-BLUE", "quantity": 24},
                        {"sku": "TEE-M", "quantity": 6},
                    ],
                },
                request_only=True,
            )
        ],
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = TransferCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        detail = transfer_create(
            source=data["source"],
            destination=data["destination"],
            lines=[
                TransferLineInput(sku=line["sku"], quantity=line["quantity"])
                for line in data["lines"]
            ],
            notes=data.get("notes", ""),
            user=request.user,
        )
        return self._render(detail.transfer, status.HTTP_201_CREATED)

    @_action_schema("ship", None)
    @action(detail=True, methods=["post"])
    def ship(self, request: Request, number: str | None = None) -> Response:
        transfer = self.get_object()
        transfer_ship(transfer=transfer, user=request.user)
        return self._render(transfer)

    @_action_schema("receive", None, TransferReceiptSerializer)
    @action(detail=True, methods=["post"])
    def receive(self, request: Request, number: str | None = None) -> Response:
        transfer = self.get_object()
        detail = transfer_receive(transfer=transfer, user=request.user)
        fresh = transfers_with_lines().get(pk=transfer.pk)
        data = dict(TransferSerializer(fresh).data)
        data["filled_orders"] = detail.filled_orders
        return Response(data)

    @_action_schema("cancel", TransferReasonSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, number: str | None = None) -> Response:
        transfer = self.get_object()
        body = TransferReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        reason = body.validated_data.get("reason", "")
        transfer_cancel(transfer=transfer, reason=reason, user=request.user)
        return self._render(transfer)
