class OrderError(Exception):
    """Base of the order domain's errors; ``message`` is safe to show to the user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class OrderValidationError(OrderError):
    """Bad input: ``errors`` maps a field name to its messages (API 400, form errors)."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__(" ".join(_messages(errors)))


def _messages(errors) -> list[str]:
    """Every message of a (possibly nested) error dict, in order, for a one-line display."""
    if isinstance(errors, dict):
        return [m for value in errors.values() for m in _messages(value)]
    if isinstance(errors, list | tuple):
        return [m for value in errors for m in _messages(value)]
    return [str(errors)]


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
