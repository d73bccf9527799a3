"""Delivery feedback: the customer's signed link and rating."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from core.signed_links import LinkRefused, order_number_from_token, sign_order_number
from core.site import site_url
from orders import events
from orders.models import EventType, Order, OrderStatus

from ..exceptions import FeedbackLinkError, ShipmentTransitionNotAllowed, ShipmentValidationError
from ..models import DeliveryFeedback
from ._common import _lock_order

if TYPE_CHECKING:
    # who acts: a staff user, or None (the system, a carrier, a customer's signed link)
    from django.contrib.auth.models import User

OS = OrderStatus
FEEDBACK_SALT = "fulfillment.delivery-feedback"


def feedback_token(order: Order) -> str:
    return sign_order_number(order.number, salt=FEEDBACK_SALT)


def feedback_url(order: Order) -> str:
    """Absolute URL (``OMS_SITE_URL`` + path) of the order's signed, expiring feedback page:
    it is sent in the delivery e-mail, so it must work outside the site."""
    return site_url(reverse("fulfillment:feedback", kwargs={"token": feedback_token(order)}))


def feedback_order_from_token(token: str) -> Order:
    days = settings.OMS_FEEDBACK_LINK_DAYS
    try:
        number = order_number_from_token(
            token, salt=FEEDBACK_SALT, max_age=datetime.timedelta(days=days)
        )
    except LinkRefused as exc:
        if exc.expired:
            raise FeedbackLinkError(
                f"This feedback link has expired: links are valid for {days} days.", expired=True
            ) from None
        raise FeedbackLinkError(
            "This feedback link is not valid. Please use the link from your e-mail as it is."
        ) from None
    order: Order | None = Order.objects.filter(number=number).first()
    if order is None:
        raise FeedbackLinkError("This feedback link does not belong to any order.")
    return order


def feedback_submit(
    *, order: Order, rating: int, comment: str = "", user: User | None = None
) -> DeliveryFeedback:
    """Record the customer's rating (1–5) of a delivered order; a second submit updates it.
    ``user`` is ``None``: the customer comes through the signed link, not as a user."""
    errors: dict[str, list[str]] = {}
    if not 1 <= rating <= 5:
        errors["rating"] = ["Choose a rating from 1 to 5."]
    comment = comment.strip()
    if len(comment) > 2000:
        errors["comment"] = ["The comment must be text of at most 2000 characters."]
    if errors:
        raise ShipmentValidationError(errors)
    with transaction.atomic():
        order = _lock_order(order.pk)
        if order.status != OS.DELIVERED:
            raise ShipmentTransitionNotAllowed(
                f"Order {order.number} has not been delivered yet; it can be rated once it is.",
                status=order.status,
            )
        feedback = DeliveryFeedback.objects.filter(order=order).first()
        updated = feedback is not None
        if feedback is None:
            feedback = DeliveryFeedback.objects.create(order=order, rating=rating, comment=comment)
        else:
            feedback.rating, feedback.comment = rating, comment
            feedback.save(update_fields=["rating", "comment", "updated_at"])
        events.event_write(
            order=order,
            type=EventType.FEEDBACK,
            user=user,
            message=f"Delivery rated {rating}/5" + (" (updated)." if updated else "."),
            rating=rating,
            comment=comment,
            updated=updated,
        )
    return feedback
