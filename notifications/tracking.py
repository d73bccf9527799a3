"""The customer's tracking page: the signed link every customer e-mail carries, and what the
page shows (read here, with a fixed number of queries whatever the order's size).

The link is ``/track/<token>/``: the order number signed with ``core.signed_links`` (salt
``notifications.tracking``). It is valid ``OMS_TRACKING_LINK_DAYS`` (default 90) days from the
moment the e-mail carrying it was rendered; every later e-mail about the order carries a fresh
link, so a customer whose order keeps moving always holds a working one.

The page shows only what the customer may see: no event messages (staff wording, notes), no
users, no internal notes, no stock locations; the timeline is built from a whitelist of event
types with wording of its own."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Prefetch
from django.urls import reverse

from core.signed_links import LinkRefused, order_number_from_token, sign_order_number
from core.site import site_url
from fulfillment.models import DeliveryFeedback, Shipment, ShipmentLine, ShipmentStatus
from fulfillment.services import feedback_url
from orders.models import EventType, Order, OrderEvent, OrderLine, OrderStatus
from returns.services import customer_return_url

TRACKING_SALT = "notifications.tracking"

OS = OrderStatus
CUSTOMER_STATUS = {
    OS.PLACED: "Received",
    OS.CONFIRMED: "Confirmed",
    OS.BACKORDERED: "Waiting for stock",
    OS.ALLOCATED: "Being prepared",
    OS.PROCESSING: "Being prepared",
    OS.ON_HOLD: "Being prepared",  # why an order is held is staff business
    OS.PARTIALLY_SHIPPED: "Partly shipped",
    OS.SHIPPED: "On its way",
    OS.DELIVERED: "Delivered",
    OS.CANCELLED: "Cancelled",
}
# The events a customer sees, in their own words (never the event's message).
TIMELINE_TYPES = [
    EventType.PLACED,
    EventType.STATUS_CHANGED,
    EventType.BACKORDERED,
    EventType.LINE_SUBSTITUTED,
    EventType.SHIPPED,
    EventType.DELIVERED,
    EventType.ESTIMATE_UPDATED,
    EventType.RETURN_REQUESTED,
    EventType.REFUNDED,
    EventType.EXCHANGED,
]
RETURNABLE_STATUSES = {OS.PARTIALLY_SHIPPED, OS.SHIPPED, OS.DELIVERED}


class TrackingLinkRefused(Exception):
    """The link is forged, tampered with, expired (``expired``) or names no order."""

    def __init__(self, *, expired: bool = False):
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def tracking_token(order: Order) -> str:
    return sign_order_number(order.number, salt=TRACKING_SALT)


def tracking_url(order: Order) -> str:
    """Absolute URL (``OMS_SITE_URL`` + path) of the order's tracking page, for e-mails."""
    return site_url(reverse("tracking:order", args=[tracking_token(order)]))


def order_from_tracking_token(token: str) -> Order:
    max_age = datetime.timedelta(days=settings.OMS_TRACKING_LINK_DAYS)
    try:
        number = order_number_from_token(token, salt=TRACKING_SALT, max_age=max_age)
    except LinkRefused as exc:
        raise TrackingLinkRefused(expired=exc.expired) from None
    order: Order | None = Order.objects.filter(number=number).first()
    if order is None:
        raise TrackingLinkRefused()
    return order


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime.datetime
    title: str


@dataclass(frozen=True)
class Parcel:
    number: str
    status: str
    carrier: str
    tracking_number: str
    tracking_url: str
    shipped_at: datetime.datetime | None
    delivered_at: datetime.datetime | None
    contents: list[tuple[str, int]]


@dataclass(frozen=True)
class TrackingPage:
    order: Order
    status: str
    lines: list[OrderLine]
    parcels: list[Parcel]
    timeline: list[TimelineEntry]
    return_url: str
    feedback_url: str
    rating: int | None


def _entry(event: OrderEvent) -> str:
    d: dict[str, Any] = event.details if isinstance(event.details, dict) else {}
    parcel = str(d.get("shipment") or "")
    if event.type == EventType.PLACED:
        return "Order received"
    if event.type == EventType.STATUS_CHANGED:
        if event.to_status == OS.CONFIRMED:
            return "Order confirmed"
        if event.to_status == OS.CANCELLED:
            return "Order cancelled"
        return ""
    if event.type == EventType.BACKORDERED:
        return "Some items are waiting for stock"
    if event.type == EventType.LINE_SUBSTITUTED:
        return "An item was replaced by an equivalent"
    if event.type == EventType.SHIPPED:
        return f"Parcel {parcel} shipped" if parcel else "Parcel shipped"
    if event.type == EventType.DELIVERED:
        return f"Parcel {parcel} delivered" if parcel else "Delivered"
    if event.type == EventType.ESTIMATE_UPDATED:
        return "Delivery estimate updated"
    if event.type == EventType.RETURN_REQUESTED:
        return "Return requested"
    if event.type == EventType.REFUNDED:
        return "Refund issued"
    if event.type == EventType.EXCHANGED:
        return "Exchange sent"
    return ""


def tracking_page(order: Order) -> TrackingPage:
    """Everything the page shows, in five queries whatever the number of lines, parcels and
    events."""
    lines = list(order.lines.select_related("product").order_by("pk"))
    shipments = list(
        Shipment.objects.filter(order=order)
        .exclude(status=ShipmentStatus.CANCELLED)
        .select_related("carrier_service__carrier")
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=ShipmentLine.objects.select_related("order_line__product").order_by("pk"),
            )
        )
    )
    parcels = [
        Parcel(
            number=s.number,
            status=s.get_status_display(),
            carrier=s.carrier.name if s.carrier else "",
            tracking_number=s.tracking_number,
            tracking_url=s.tracking_url,
            shipped_at=s.shipped_at,
            delivered_at=s.delivered_at,
            contents=[(sl.order_line.product.name, sl.quantity) for sl in s.lines.all()],
        )
        for s in shipments
    ]
    events = OrderEvent.objects.filter(order=order, type__in=TIMELINE_TYPES).only(
        "type", "to_status", "details", "created_at"
    )
    timeline = [TimelineEntry(at=e.created_at, title=t) for e in events if (t := _entry(e))]
    rating = (
        DeliveryFeedback.objects.filter(order=order).values_list("rating", flat=True).first()
        if order.status == OS.DELIVERED
        else None
    )
    return TrackingPage(
        order=order,
        status=CUSTOMER_STATUS.get(OS(order.status), order.get_status_display()),
        lines=lines,
        parcels=parcels,
        timeline=timeline,
        return_url=customer_return_url(order) if order.status in RETURNABLE_STATUSES else "",
        feedback_url=feedback_url(order) if order.status == OS.DELIVERED else "",
        rating=rating,
    )
