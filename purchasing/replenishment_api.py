"""``GET /api/v1/inventory/replenishment/`` (shared docs/api.md, "Purchasing"): the reorder
suggestions of ``purchasing.replenishment``, paginated like every list, ``?warehouse=`` and
``?supplier=`` (codes). Staff with ``purchasing.view_purchaseorder`` (the *Purchasing staff*)."""

from typing import Any

from django.core.paginator import Paginator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import LIST_ERRORS, Pagination, staff_with

from .replenishment import replenishment_suggestions


class ReplenishmentSerializer(serializers.Serializer):  # type: ignore[type-arg]
    sku = serializers.CharField()
    warehouse = serializers.CharField(help_text="The warehouse's code.")
    available = serializers.IntegerField(help_text="On hand minus reserved.")
    on_order = serializers.IntegerField(
        help_text="Outstanding units of draft, sent and partly received purchase orders."
    )
    backordered = serializers.IntegerField(
        help_text="Backordered units attributed to this warehouse (nearest to the destination)."
    )
    daily_demand = serializers.DecimalField(max_digits=12, decimal_places=2)
    days_of_cover = serializers.DecimalField(
        max_digits=12, decimal_places=1, allow_null=True, help_text="Null without demand."
    )
    reorder_point = serializers.IntegerField()
    suggested_quantity = serializers.IntegerField(
        help_text="Rounded up to the minimum order quantity and the pack size."
    )
    supplier = serializers.CharField(
        allow_null=True, help_text="The preferred supplier's code; null when nobody sells it."
    )


class SuggestionPagination(Pagination):
    """The API's pages over a computed list: the count is always exact (it is in memory)."""

    def paginate_queryset(  # type: ignore[override]
        self, queryset: list[Any], request: Request, view: Any = None
    ) -> list[Any] | None:
        self.django_paginator_class = Paginator
        return PageNumberPagination.paginate_queryset(self, queryset, request, view)


class ReplenishmentViewSet(viewsets.GenericViewSet):  # type: ignore[type-arg]
    permission_classes = [staff_with("purchasing.view_purchaseorder")]
    serializer_class = ReplenishmentSerializer
    filter_backends: list[Any] = []
    pagination_class = SuggestionPagination

    @extend_schema(
        summary="Reorder suggestions (staff, purchasing.view_purchaseorder)",
        parameters=[
            OpenApiParameter("warehouse", OpenApiTypes.STR, description="A warehouse code."),
            OpenApiParameter(
                "supplier", OpenApiTypes.STR, description="A supplier code (the preferred one)."
            ),
        ],
        responses={200: ReplenishmentSerializer(many=True), **LIST_ERRORS},
    )
    def list(self, request: Request) -> Response:
        suggestions = replenishment_suggestions(
            warehouse=request.query_params.get("warehouse") or None,
            supplier=request.query_params.get("supplier") or None,
        )
        page = self.paginate_queryset(suggestions)
        data = ReplenishmentSerializer(page if page is not None else suggestions, many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)
