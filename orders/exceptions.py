"""The order domain's errors: kinds of ``core.errors.DomainError``, so the API handler and the
back-office forms know them by their base class (status, ``code``, body)."""

from core.errors import (
    DUPLICATE,
    Conflict,
    DomainError,
    InvalidInput,
    NotAllowedNow,
    error_messages,
)


class OrderError(DomainError):
    """Base of the order domain's errors; ``message`` is safe to show to the user."""

    def __init__(self, message: str, **kwargs):
        super().__init__(message, **kwargs)


class OrderValidationError(OrderError, InvalidInput):
    """Bad input: ``errors`` maps a field name to its messages (API 400, form errors)."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(" ".join(error_messages(errors)), fields=errors)

    @property
    def errors(self) -> dict[str, list[str]]:
        """The field errors (``fields``, under the name the callers know)."""
        return self.fields or {}

    @errors.setter
    def errors(self, value: dict[str, list[str]]) -> None:
        self.fields = value


class TransitionNotAllowedNow(OrderError, NotAllowedNow):
    """A state change that the order's current state forbids (API 409, with ``status``)."""

    def __init__(self, message: str, *, status: str):
        super().__init__(message, status=status)
        self.status = status


class DuplicateOrder(OrderError, Conflict):
    """The partner reused a reference (or an idempotency key) with a different body (API 409,
    with the existing ``order``'s number when there is one)."""

    code = DUPLICATE

    def __init__(self, message: str, *, order=None, same_request: bool = False):
        extra = {"order": order.number} if order is not None else {}
        super().__init__(message, **extra)
        self.order = order
        self.same_request = same_request
