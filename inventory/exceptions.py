class InventoryError(Exception):
    """A stock operation that cannot be done; the message says why."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class InsufficientStock(InventoryError):
    pass
