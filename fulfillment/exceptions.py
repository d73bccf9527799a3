"""Fulfillment's domain errors. They subclass the order domain's errors so that the one DRF
exception handler and the form mixin already turn them into 400 / 409 / 404 answers."""

from orders.exceptions import OrderError, OrderValidationError, TransitionNotAllowedNow


class ShipmentValidationError(OrderValidationError):
    """Bad input for a shipment action: ``errors`` maps a field to its messages (400)."""


class ShipmentTransitionNotAllowed(TransitionNotAllowedNow):
    """The shipment's (or its order's) state forbids the action now (409)."""


class ShipmentNotFound(OrderError):
    """No shipment has that number or tracking number (404)."""


class FeedbackLinkError(OrderError):
    """A feedback link that is tampered with (``expired`` False, 400) or too old (410)."""

    def __init__(self, message: str, *, expired: bool = False):
        super().__init__(message)
        self.expired = expired
