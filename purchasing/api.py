"""Suppliers and purchase orders in the REST API (shared docs/api.md, "Purchasing").

Staff only, with the *Purchasing staff* permissions (``accounts/roles.py``). Views are thin:
they check the permission, validate the shape, call one service of ``purchasing.services`` and
render the purchase order. Suppliers are addressed by ``code``, purchase orders by ``number``,
products by ``sku``."""

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, TypeVar

import django_filters
from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import ACTION_ERRORS, LIST_ERRORS, READ_ERRORS, WRITE_ERRORS, staff_with
from inventory.models import Product
from inventory.skus import products_by_sku, sku_key

from .models import (
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    Supplier,
    SupplierProduct,
)
from .services import (
    PurchaseOrderLineInput,
    purchase_order_cancel,
    purchase_order_close,
    purchase_order_create,
    purchase_order_receive,
    purchase_order_send,
    supplier_create,
    supplier_product_upsert,
    supplier_update,
)
from .services.suppliers import MAX_LEAD_TIME_DAYS
from .transitions import ACTIONS

F = TypeVar("F", bound=Callable[..., Any])


# --- suppliers ----------------------------------------------------------------------------------
class SupplierSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    code = serializers.RegexField(
        r"^[A-Za-z0-9_-]+$",
        max_length=32,
        help_text="Letters, digits, '-' or '_'; stored in upper case. Never changes.",
    )
    currency = serializers.CharField(
        max_length=3, required=False, help_text="ISO 4217 code; EUR when omitted."
    )
    lead_time_days = serializers.IntegerField(
        min_value=0, max_value=MAX_LEAD_TIME_DAYS, required=False
    )

    class Meta:
        model = Supplier
        fields = [
            "code",
            "name",
            "email",
            "currency",
            "lead_time_days",
            "address",
            "notes",
            "is_active",
        ]
        extra_kwargs: dict[str, Any] = {
            "code": {"validators": []}
        }  # unique: the service says so, by name


class SupplierUpdateSerializer(SupplierSerializer):
    class Meta(SupplierSerializer.Meta):
        read_only_fields = ["code"]


class SupplierProductSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    sku = serializers.CharField(source="product.sku", help_text="Our SKU.")
    lead_time_days = serializers.IntegerField(
        min_value=0,
        max_value=MAX_LEAD_TIME_DAYS,
        required=False,
        allow_null=True,
        help_text="Overrides the supplier's lead time; null: the supplier's.",
    )
    min_order_quantity = serializers.IntegerField(min_value=1, max_value=1_000_000, required=False)
    pack_size = serializers.IntegerField(min_value=1, max_value=1_000_000, required=False)
    unit_cost = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0"))

    class Meta:
        model = SupplierProduct
        fields = [
            "sku",
            "supplier_sku",
            "unit_cost",
            "min_order_quantity",
            "pack_size",
            "lead_time_days",
            "preferred",
        ]

    def validate_sku(self, value: str) -> Product:
        product = products_by_sku([value]).get(sku_key(value))
        if product is None:
            raise serializers.ValidationError(f"Unknown SKU {sku_key(value) or value!r}.")
        return product


def _purchasing_permissions(
    view: viewsets.GenericViewSet,  # type: ignore[type-arg]
    *,
    read: str,
    create: str,
    change: str = "",
) -> list[BasePermission]:
    method = view.request.method if view.request is not None else "GET"
    if method == "POST":
        return [staff_with(create)()]
    if method in ("PATCH", "PUT") and change:
        return [staff_with(change)()]
    return [staff_with(read)()]


@extend_schema_view(
    list=extend_schema(
        summary="Suppliers (staff, purchasing.view_supplier)",
        responses={200: SupplierSerializer, **LIST_ERRORS},
    ),
    retrieve=extend_schema(
        summary="One supplier (staff, purchasing.view_supplier)",
        responses={200: SupplierSerializer, **READ_ERRORS},
    ),
    create=extend_schema(
        summary="Create a supplier (staff, purchasing.add_supplier)",
        request=SupplierSerializer,
        responses={201: SupplierSerializer, **WRITE_ERRORS},
    ),
    partial_update=extend_schema(
        summary="Change a supplier (staff, purchasing.change_supplier); the code never changes",
        request=SupplierUpdateSerializer,
        responses={200: SupplierSerializer, **WRITE_ERRORS},
    ),
)
class SupplierViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    lookup_field = "code"
    lookup_value_regex = r"[^/]+"
    serializer_class = SupplierSerializer
    queryset = Supplier.objects.order_by("code")
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_permissions(self) -> list[BasePermission]:
        if self.action == "products":
            return _purchasing_permissions(
                self,
                read="purchasing.view_supplierproduct",
                create="purchasing.add_supplierproduct",
            )
        return _purchasing_permissions(
            self,
            read="purchasing.view_supplier",
            create="purchasing.add_supplier",
            change="purchasing.change_supplier",
        )

    def get_object(self) -> Supplier:
        # Codes are stored in upper case; ``acme`` finds ACME.
        self.kwargs[self.lookup_field] = str(self.kwargs.get(self.lookup_field, "")).upper()
        supplier: Supplier = super().get_object()
        return supplier

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = SupplierSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        supplier = supplier_create(**body.validated_data, user=request.user)
        return Response(SupplierSerializer(supplier).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        supplier = self.get_object()
        body = SupplierUpdateSerializer(supplier, data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        supplier = supplier_update(supplier=supplier, **body.validated_data, user=request.user)
        return Response(SupplierSerializer(supplier).data)

    @extend_schema(
        methods=["GET"],
        summary="What a supplier sells (staff, purchasing.view_supplierproduct)",
        responses={200: SupplierProductSerializer(many=True), **LIST_ERRORS},
    )
    @extend_schema(
        methods=["POST"],
        summary="Say what a supplier sells a SKU for: created, or changed when listed already "
        "(staff, purchasing.add_supplierproduct)",
        request=SupplierProductSerializer,
        responses={
            201: SupplierProductSerializer,
            200: OpenApiResponse(SupplierProductSerializer, description="Changed."),
            **WRITE_ERRORS,
        },
    )
    @action(detail=True, methods=["get", "post"], url_path="products")
    def products(self, request: Request, code: str | None = None) -> Response:
        supplier = self.get_object()
        if request.method == "POST":
            body = SupplierProductSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            data = dict(body.validated_data)
            product = data.pop("product")["sku"]
            result = supplier_product_upsert(
                supplier=supplier, product=product, **data, user=request.user
            )
            return Response(
                SupplierProductSerializer(result.supplier_product).data,
                status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
            )
        rows = SupplierProduct.objects.filter(supplier=supplier).select_related("product")
        page = self.paginate_queryset(rows.order_by("product__sku", "pk"))
        serializer = SupplierProductSerializer(page, many=True)
        return self.get_paginated_response(serializer.data)


# --- purchase orders ------------------------------------------------------------------------------
class PurchaseOrderLineSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    sku = serializers.CharField(source="product.sku")

    class Meta:
        model = PurchaseOrderLine
        fields = ["sku", "quantity", "quantity_received", "unit_cost"]


class PurchaseOrderSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    supplier = serializers.CharField(source="supplier.code")
    warehouse = serializers.CharField(source="warehouse.code")
    status = serializers.ChoiceField(choices=PurchaseOrderStatus.choices)
    total = serializers.SerializerMethodField()
    lines = PurchaseOrderLineSerializer(many=True)

    class Meta:
        model = PurchaseOrder
        fields = [
            "number",
            "supplier",
            "warehouse",
            "status",
            "expected_at",
            "currency",
            "total",
            "lines",
            "notes",
            "created_at",
            "sent_at",
        ]

    def get_total(self, po: PurchaseOrder) -> str:
        total = sum((line.line_total() for line in po.lines.all()), Decimal("0"))
        return f"{total:.2f}"


class PurchaseOrderReceiptSerializer(PurchaseOrderSerializer):
    filled_orders = serializers.ListField(
        child=serializers.CharField(),
        help_text="Numbers of the orders whose backorders this receipt filled, oldest first.",
    )

    class Meta(PurchaseOrderSerializer.Meta):
        fields = [*PurchaseOrderSerializer.Meta.fields, "filled_orders"]


class PurchaseOrderLineInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(help_text="A positive whole number.")
    unit_cost = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0"),
        required=False,
        help_text="The supplier's unit cost when omitted.",
    )


class PurchaseOrderCreateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    supplier = serializers.CharField(max_length=32, help_text="Supplier code.")
    warehouse = serializers.CharField(max_length=16, help_text="Warehouse code.")
    expected_at = serializers.DateField(required=False, help_text="Default: today + the lead time.")
    notes = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    lines = PurchaseOrderLineInputSerializer(many=True)


class ReceiveLineSerializer(serializers.Serializer):  # type: ignore[type-arg]
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(help_text="A positive whole number.")


class ReceiveSerializer(serializers.Serializer):  # type: ignore[type-arg]
    lines = ReceiveLineSerializer(many=True)

    def validate_lines(self, lines: list[dict[str, Any]]) -> list[tuple[Product, int]]:
        skus = [sku_key(line["sku"]) for line in lines]
        products = products_by_sku(skus)
        unknown = sorted({sku for sku in skus if sku not in products})
        if unknown:
            raise serializers.ValidationError(f"Unknown SKU: {', '.join(unknown)}.")
        return [(products[sku], line["quantity"]) for sku, line in zip(skus, lines, strict=True)]


class PurchaseOrderReasonSerializer(serializers.Serializer):  # type: ignore[type-arg]
    reason = serializers.CharField(required=False, allow_blank=True, max_length=255)


class PurchaseOrderFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=PurchaseOrderStatus.choices)
    supplier = django_filters.CharFilter(
        field_name="supplier__code", lookup_expr="iexact", help_text="Supplier code."
    )
    warehouse = django_filters.CharFilter(field_name="warehouse__code", help_text="Warehouse code.")
    sku = django_filters.CharFilter(method="filter_sku", help_text="Orders with a line of it.")

    class Meta:
        model = PurchaseOrder
        fields = ["status", "supplier", "warehouse", "sku"]

    def filter_sku(
        self, queryset: QuerySet[PurchaseOrder], name: str, value: str
    ) -> QuerySet[PurchaseOrder]:
        lines = PurchaseOrderLine.objects.filter(
            purchase_order=OuterRef("pk"), product__sku=sku_key(value) or value
        )
        filtered: QuerySet[PurchaseOrder] = queryset.filter(Exists(lines))
        return filtered


def purchase_orders_for_api() -> QuerySet[PurchaseOrder]:
    """Purchase orders with what the representation reads, in a constant number of queries."""
    lines = PurchaseOrderLine.objects.select_related("product").order_by("pk")
    qs: QuerySet[PurchaseOrder] = PurchaseOrder.objects.select_related(
        "supplier", "warehouse"
    ).prefetch_related(Prefetch("lines", queryset=lines))
    return qs


def _action_schema(name: str, request: Any, response: Any = None) -> Callable[[F], F]:
    decorator: Callable[[F], F] = extend_schema(
        summary=f"{ACTIONS[name].label} a purchase order (staff, {ACTIONS[name].permission})",
        request=request,
        responses={200: response or PurchaseOrderSerializer, **ACTION_ERRORS},
    )
    return decorator


@extend_schema_view(
    list=extend_schema(
        summary="Purchase orders (staff, purchasing.view_purchaseorder)",
        responses={200: PurchaseOrderSerializer, **LIST_ERRORS},
    ),
    retrieve=extend_schema(
        summary="One purchase order (staff, purchasing.view_purchaseorder)",
        responses={200: PurchaseOrderSerializer, **READ_ERRORS},
    ),
)
class PurchaseOrderViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    lookup_field = "number"
    lookup_value_regex = r"[^/]+"
    serializer_class = PurchaseOrderSerializer
    filterset_class = PurchaseOrderFilter

    def get_permissions(self) -> list[BasePermission]:
        if self.action in ACTIONS:
            return [staff_with(ACTIONS[self.action].permission)()]
        return _purchasing_permissions(
            self, read="purchasing.view_purchaseorder", create="purchasing.add_purchaseorder"
        )

    def get_queryset(self) -> QuerySet[PurchaseOrder]:
        return purchase_orders_for_api().order_by("-pk")

    def _render(self, po: PurchaseOrder, code: int = status.HTTP_200_OK) -> Response:
        fresh = purchase_orders_for_api().get(pk=po.pk)
        return Response(PurchaseOrderSerializer(fresh).data, status=code)

    @extend_schema(
        summary="Create a draft purchase order (staff, purchasing.add_purchaseorder)",
        request=PurchaseOrderCreateSerializer,
        responses={201: PurchaseOrderSerializer, **WRITE_ERRORS},
        examples=[
            OpenApiExample(
                "Two lines",
                value={
                    "supplier": "ACME",
                    "warehouse": "LDS",
                    "expected_at": "2026-12-04",
                    "lines": [
                        {"sku": "MUG-BLUE", "quantity": 48},
                        {"sku": "TEE-M", "quantity": 20, "unit_cost": "4.10"},
                    ],
                },
                request_only=True,
            )
        ],
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = PurchaseOrderCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        detail = purchase_order_create(
            supplier=data["supplier"],
            warehouse=data["warehouse"],
            expected_at=data.get("expected_at"),
            notes=data.get("notes", ""),
            lines=[
                PurchaseOrderLineInput(
                    sku=line["sku"], quantity=line["quantity"], unit_cost=line.get("unit_cost")
                )
                for line in data["lines"]
            ],
            user=request.user,
        )
        return self._render(detail.purchase_order, status.HTTP_201_CREATED)

    @_action_schema("send", None)
    @action(detail=True, methods=["post"])
    def send(self, request: Request, number: str | None = None) -> Response:
        po = self.get_object()
        purchase_order_send(purchase_order=po, user=request.user)
        return self._render(po)

    @_action_schema("receive", ReceiveSerializer, PurchaseOrderReceiptSerializer)
    @action(detail=True, methods=["post"])
    def receive(self, request: Request, number: str | None = None) -> Response:
        po = self.get_object()
        body = ReceiveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        lines: Sequence[tuple[Product, int]] = body.validated_data["lines"]
        receipt = purchase_order_receive(purchase_order=po, lines=lines, user=request.user)
        fresh = purchase_orders_for_api().get(pk=po.pk)
        data = dict(PurchaseOrderSerializer(fresh).data)
        data["filled_orders"] = receipt.filled_orders
        return Response(data)

    @_action_schema("close", PurchaseOrderReasonSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request: Request, number: str | None = None) -> Response:
        po = self.get_object()
        body = PurchaseOrderReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        reason = body.validated_data.get("reason", "")
        purchase_order_close(purchase_order=po, reason=reason, user=request.user)
        return self._render(po)

    @_action_schema("cancel", PurchaseOrderReasonSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, number: str | None = None) -> Response:
        po = self.get_object()
        body = PurchaseOrderReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        reason = body.validated_data.get("reason", "")
        purchase_order_cancel(purchase_order=po, reason=reason, user=request.user)
        return self._render(po)
