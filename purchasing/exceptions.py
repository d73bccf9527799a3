"""The purchasing domain's errors: kinds of ``core.errors.DomainError``, so the API handler
and the back-office forms know them by their base class (status, ``code``, body)."""

from typing import Any

from core.errors import DomainError, InvalidInput, NotAllowedNow, error_messages


class PurchasingError(DomainError):
    """Base of the purchasing domain's errors; ``message`` is safe to show to the user."""


class PurchasingValidationError(PurchasingError, InvalidInput):
    """Bad input: ``errors`` maps a field name to its messages (API 400 ``invalid``)."""

    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__(" ".join(error_messages(errors)), fields=errors)

    @property
    def errors(self) -> dict[str, Any]:
        return self.fields or {}


class PurchaseOrderNotAllowedNow(PurchasingError, NotAllowedNow):
    """An action the purchase order's current state forbids (API 409, with ``status``)."""

    def __init__(self, message: str, *, status: str) -> None:
        super().__init__(message, status=status)
        self.status = status


class TransferNotAllowedNow(PurchasingError, NotAllowedNow):
    """An action the transfer's current state forbids (API 409, with ``status``)."""

    def __init__(self, message: str, *, status: str) -> None:
        super().__init__(message, status=status)
        self.status = status
