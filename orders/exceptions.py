class OrderError(Exception):
    """Base of the order domain's errors; ``message`` is safe to show to the user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class OrderValidationError(OrderError):
    """Bad input: ``errors`` maps a field name to its messages (API 400, form errors)."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))


class TransitionNotAllowedNow(OrderError):
    """A state change that the order's current state forbids (API 409)."""

    def __init__(self, message: str, *, status: str):
        super().__init__(message)
        self.status = status


class DuplicateOrder(OrderError):
    """The partner reused a reference (or an idempotency key) with a different body (API 409)."""

    def __init__(self, message: str, *, order=None, same_request: bool = False):
        super().__init__(message)
        self.order = order
        self.same_request = same_request
