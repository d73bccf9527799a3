"""Catalogue, warehouses and stock levels in the REST API (shared docs/api.md).

Partners and staff read the catalogue with availability; staff create products and warehouses
and read stock levels. Stock receipts live in ``orders.api`` because receiving stock also
fills backorders (an orders service).
"""

import re

import django_filters
from django.db.models import Q
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from core.api import (
    LIST_ERRORS,
    READ_ERRORS,
    WRITE_ERRORS,
    IsPartnerOrStaff,
    IsStaff,
    staff_with,
)
from core.contact import UNKNOWN_COUNTRY_MESSAGE, is_country_code

from .models import Product, StockLevel, Warehouse
from .selectors import product_list_with_availability

CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
CODE_RE = re.compile(r"^[A-Za-z0-9_-]+$")
SKU_RE = re.compile(r"^[^/\s]+$")


# --- serializers ---------------------------------------------------------------------------------
class ProductSerializer(serializers.ModelSerializer):
    available = serializers.IntegerField(
        read_only=True, help_text="On hand minus reserved, over every active warehouse."
    )
    currency = serializers.CharField(
        max_length=3, required=False, help_text="ISO 4217 code; EUR when omitted."
    )

    class Meta:
        model = Product
        fields = ["sku", "name", "unit_price", "currency", "weight_grams", "available"]

    def validate_sku(self, value: str) -> str:
        value = value.strip()
        if not SKU_RE.match(value):
            raise serializers.ValidationError("A SKU has no spaces or slashes.")
        return value

    def validate_name(self, value: str) -> str:
        value = value.strip()
        if not value:
            raise serializers.ValidationError("The product needs a name.")
        return value

    def validate_currency(self, value: str) -> str:
        value = value.strip().upper()
        if not CURRENCY_RE.match(value):
            raise serializers.ValidationError("Give an ISO 4217 code of three letters, e.g. EUR.")
        return value


class ProductWarehouseSerializer(serializers.Serializer):
    code = serializers.CharField(source="warehouse.code")
    available = serializers.IntegerField()


class ProductDetailSerializer(ProductSerializer):
    warehouses = serializers.SerializerMethodField()

    class Meta(ProductSerializer.Meta):
        fields = [*ProductSerializer.Meta.fields, "warehouses"]

    @extend_schema_field(ProductWarehouseSerializer(many=True))
    def get_warehouses(self, product) -> list[dict]:
        levels = (
            StockLevel.objects.filter(product=product, warehouse__is_active=True)
            .select_related("warehouse")
            .order_by("warehouse__priority", "warehouse__code")
        )
        return [{"code": level.warehouse.code, "available": level.available} for level in levels]


class WarehouseSerializer(serializers.ModelSerializer):
    # The 2-letter code in and out (the contract), not the model field's choice list: "fr" is
    # read as FR, and the output is the code, never the name.
    country = serializers.CharField(max_length=2, help_text="ISO 3166-1 alpha-2 code")

    class Meta:
        model = Warehouse
        fields = ["code", "name", "country", "latitude", "longitude", "priority", "is_active"]
        read_only_fields = ["is_active"]

    def validate_code(self, value: str) -> str:
        value = value.strip()
        if not CODE_RE.match(value):
            raise serializers.ValidationError("Use letters, digits, '-' or '_' only.")
        return value

    def validate_name(self, value: str) -> str:
        value = value.strip()
        if not value:
            raise serializers.ValidationError("The warehouse needs a name.")
        return value

    def validate_country(self, value: str) -> str:
        value = value.strip().upper()
        if not COUNTRY_RE.match(value):
            raise serializers.ValidationError("Give an ISO 3166-1 alpha-2 code, e.g. GB.")
        if not is_country_code(value):  # the same rule as order addresses (core.contact)
            raise serializers.ValidationError(UNKNOWN_COUNTRY_MESSAGE.format(code=value))
        return value


class StockLevelSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku")
    warehouse = serializers.CharField(source="warehouse.code")
    available = serializers.IntegerField(read_only=True)

    class Meta:
        model = StockLevel
        fields = ["sku", "warehouse", "on_hand", "reserved", "available", "reorder_point"]


# --- filters --------------------------------------------------------------------------------------
class ProductFilter(django_filters.FilterSet):
    sku = django_filters.CharFilter(field_name="sku", help_text="Exact SKU.")
    search = django_filters.CharFilter(
        method="filter_search", help_text="Part of the SKU or the name."
    )

    class Meta:
        model = Product
        fields = ["sku", "search"]

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(sku__icontains=value) | Q(name__icontains=value))


class StockLevelFilter(django_filters.FilterSet):
    sku = django_filters.CharFilter(field_name="product__sku", help_text="Exact SKU.")
    warehouse = django_filters.CharFilter(field_name="warehouse__code", help_text="Warehouse code.")

    class Meta:
        model = StockLevel
        fields = ["sku", "warehouse"]


# --- views ----------------------------------------------------------------------------------------
@extend_schema_view(
    list=extend_schema(
        summary="Catalogue with availability", responses={200: ProductSerializer, **LIST_ERRORS}
    ),
    retrieve=extend_schema(
        summary="One product with availability per warehouse",
        responses={200: ProductDetailSerializer, **READ_ERRORS},
    ),
    create=extend_schema(
        summary="Create a product (staff, inventory.add_product)",
        request=ProductSerializer,
        responses={201: ProductSerializer, **WRITE_ERRORS},
    ),
)
class ProductViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    lookup_field = "sku"
    lookup_value_regex = r"[^/]+"
    filterset_class = ProductFilter

    def get_permissions(self):
        if self.action == "create":
            return [staff_with("inventory.add_product")()]
        return [IsPartnerOrStaff()]

    def get_queryset(self):
        user = self.request.user
        only_active = not (user.is_authenticated and user.is_staff)
        return product_list_with_availability(only_active=only_active).order_by("sku")

    def get_serializer_class(self):
        return ProductDetailSerializer if self.action == "retrieve" else ProductSerializer

    def create(self, request, *args, **kwargs):
        serializer = ProductSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        product = Product.objects.create(**serializer.validated_data)
        product = product_list_with_availability(only_active=False).get(pk=product.pk)
        return Response(ProductSerializer(product).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(
        summary="Warehouses (staff)", responses={200: WarehouseSerializer, **LIST_ERRORS}
    ),
    retrieve=extend_schema(
        summary="One warehouse (staff)", responses={200: WarehouseSerializer, **READ_ERRORS}
    ),
    create=extend_schema(
        summary="Create a warehouse (staff, inventory.add_warehouse)",
        responses={201: WarehouseSerializer, **WRITE_ERRORS},
    ),
)
class WarehouseViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    lookup_field = "code"
    lookup_value_regex = r"[^/]+"
    serializer_class = WarehouseSerializer
    queryset = Warehouse.objects.order_by("priority", "code")
    filterset_class = None

    def get_permissions(self):
        if self.action == "create":
            return [staff_with("inventory.add_warehouse")()]
        return [IsStaff()]


@extend_schema_view(
    list=extend_schema(
        summary="Stock levels (staff)", responses={200: StockLevelSerializer, **LIST_ERRORS}
    ),
)
class StockLevelViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = StockLevelSerializer
    filterset_class = StockLevelFilter
    permission_classes = [IsStaff]

    def get_queryset(self):
        # (``selectors.stock_level_list`` annotates ``available``, which clashes with the model's
        # property of that name; the property gives the same number without a query.)
        return StockLevel.objects.select_related("product", "warehouse").order_by(
            "product__sku", "warehouse__code", "pk"
        )
