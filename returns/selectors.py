"""Reads shared by the services, pages, admin and API of returns."""

import datetime
import functools
from collections import defaultdict

from django.apps import apps
from django.db.models import Max, Q, QuerySet

from inventory.models import Warehouse
from orders.models import EventType, Order, OrderStatus

from .models import INSPECTED_STATUSES, VOID_STATUSES, ReturnLine, ReturnRequest


@functools.cache
def _shipment_model():
    """fulfillment's Shipment when it records delivery times."""
    try:
        model = apps.get_model("fulfillment", "Shipment")
    except LookupError:
        return None
    if not any(f.name == "delivered_at" for f in model._meta.get_fields()):
        return None
    return model


def order_delivered_at(*, order: Order) -> datetime.datetime | None:
    """When the order was delivered: the latest shipment delivery if fulfillment records it,
    else the time of the order's delivery event; ``None`` while it is not delivered."""
    shipment_model = _shipment_model()
    if shipment_model is not None:
        latest = shipment_model.objects.filter(order=order, delivered_at__isnull=False).aggregate(
            latest=Max("delivered_at")
        )["latest"]
        if latest is not None:
            return latest
    return order.events.filter(
        Q(type=EventType.DELIVERED)
        | Q(type=EventType.STATUS_CHANGED, to_status=OrderStatus.DELIVERED)
    ).aggregate(latest=Max("created_at"))["latest"]


def return_window_closes_at(*, order: Order, window_days: int) -> datetime.datetime | None:
    """End of the return window; ``None`` while the order is not delivered (window not started)."""
    delivered = order_delivered_at(order=order)
    if delivered is None:
        return None
    return delivered + datetime.timedelta(days=window_days)


def claimed_quantities(*, order: Order, exclude_return: ReturnRequest | None = None) -> dict:
    """Units of each order line (by id) that returns already claim: every return that is not
    rejected or cancelled, with the units requested, or once inspected the units received."""
    claimed: dict[int, int] = defaultdict(int)
    lines = ReturnLine.objects.filter(return_request__order=order).exclude(
        return_request__status__in=VOID_STATUSES
    )
    if exclude_return is not None:
        lines = lines.exclude(return_request=exclude_return)
    for order_line_id, status, quantity, sellable, damaged in lines.values_list(
        "order_line_id",
        "return_request__status",
        "quantity",
        "quantity_sellable",
        "quantity_damaged",
    ):
        claimed[order_line_id] += sellable + damaged if status in INSPECTED_STATUSES else quantity
    return claimed


def returnable_lines(*, order: Order) -> list[tuple]:
    """(order line, units that may still be returned) for every line that shipped something."""
    claimed = claimed_quantities(order=order)
    return [
        (line, line.quantity_shipped - claimed.get(line.pk, 0))
        for line in order.lines.select_related("product")
        if line.quantity_shipped > 0
    ]


def return_list(*, filters: dict | None = None) -> QuerySet[ReturnRequest]:
    filters = filters or {}
    qs = ReturnRequest.objects.select_related("order", "order__customer", "warehouse")
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    if filters.get("order"):
        qs = qs.filter(order__number=filters["order"])
    if filters.get("q"):
        q = filters["q"].strip()
        qs = qs.filter(
            Q(number__iexact=q) | Q(order__number__iexact=q) | Q(order__customer__email__iexact=q)
        )
    return qs


def return_detail(*, number: str) -> ReturnRequest:
    return (
        ReturnRequest.objects.select_related(
            "order", "order__customer", "order__channel", "warehouse", "replacement_order"
        )
        .prefetch_related("lines__order_line__product")
        .get(number=number)
    )


def return_default_warehouse(*, return_request: ReturnRequest) -> Warehouse | None:
    """Where the goods of a return most likely come back to: the active warehouse that shipped
    the most units of the return's order lines (the lowest id on a tie), else the first active
    warehouse by priority (nothing recorded, or the warehouse that shipped them is closed)."""
    shipment_line = apps.get_model("fulfillment", "ShipmentLine")
    shipped: dict[int, int] = defaultdict(int)
    for warehouse_id, quantity in shipment_line.objects.filter(
        order_line__return_lines__return_request=return_request,
        shipment__shipped_at__isnull=False,
        stock_level__warehouse__is_active=True,
    ).values_list("stock_level__warehouse_id", "quantity"):
        shipped[warehouse_id] += quantity
    if shipped:
        best = min(shipped, key=lambda pk: (-shipped[pk], pk))
        return Warehouse.objects.get(pk=best)
    return Warehouse.objects.filter(is_active=True).order_by("priority", "code").first()
