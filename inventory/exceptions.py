"""The stock domain's errors: kinds of ``core.errors.DomainError`` (see there)."""

from core.errors import INSUFFICIENT_STOCK, InvalidInput, NotAllowedNow


class InventoryError(InvalidInput):
    """A stock operation that cannot be done; the message says why (API 400, naming ``field``
    when there is one)."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message, fields={field: [message]} if field else None)
        self.field = field


class InsufficientStock(InventoryError):
    """Not enough stock for the operation (API 409)."""

    code = INSUFFICIENT_STOCK
    http_status = 409


class CycleCountNotOpen(NotAllowedNow):
    """The count sheet is posted or cancelled: nothing on it changes any more (API 409)."""

    def __init__(self, cycle_count: object, status: str):
        super().__init__(
            f"Count sheet {cycle_count} is {status}: it cannot be changed or posted.",
            status=status,
        )
