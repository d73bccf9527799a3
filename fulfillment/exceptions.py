"""Fulfillment's domain errors. They subclass the order domain's errors (and so the kinds of
``core.errors.DomainError``): the one DRF exception handler and the forms turn them into
400 / 404 / 409 / 410 answers by their base class."""

from core.errors import GONE, Gone, InvalidInput, NotFoundError
from orders.exceptions import OrderError, OrderValidationError, TransitionNotAllowedNow


class ShipmentValidationError(OrderValidationError):
    """Bad input for a shipment action: ``errors`` maps a field to its messages (400)."""


class ShipmentTransitionNotAllowed(TransitionNotAllowedNow):
    """The shipment's (or its order's) state forbids the action now (409)."""


class ShipmentNotFound(OrderError, NotFoundError):
    """No shipment has that number or tracking number (404)."""


class FeedbackLinkError(OrderError, InvalidInput):
    """A feedback link that is tampered with (``expired`` False, 400) or too old (410)."""

    def __init__(self, message: str, *, expired: bool = False):
        super().__init__(message, code=GONE if expired else None)
        self.expired = expired
        if expired:
            self.http_status = Gone.http_status  # type: ignore[misc]
