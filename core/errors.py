"""One error hierarchy for every app, with the stable codes of the API contract.

A service raises a ``DomainError`` (or one of its kinds below); the API's exception handler
(``core.api.errors.exception_handler``) turns any of them into an answer by looking at the base
class only: the status is ``http_status``, the body carries ``code`` and either the field errors
(``{"code": "invalid", "lines": ["..."]}``) or the message and the extra items
(``{"code": "not_allowed_now", "detail": "...", "status": "shipped"}``). The back-office pages
put the same errors on their forms (``core.forms.add_service_errors``).

Each app keeps its own exception base (``orders.exceptions.OrderError`` ...) for its callers;
those subclass the kinds here, so no app's error is unknown to the handler.
"""

from __future__ import annotations

from typing import Any, ClassVar

# The codes an error body may carry (listed in the OpenAPI description, shared docs/api.md).
INVALID = "invalid"
NOT_ALLOWED_NOW = "not_allowed_now"
CONFLICT = "conflict"
DUPLICATE = "duplicate"
INSUFFICIENT_STOCK = "insufficient_stock"
NOT_FOUND = "not_found"
GONE = "gone"


class DomainError(Exception):
    """A business rule refused the request; ``message`` is safe to show to the user.

    - ``code``: a lower-case word a client can test instead of parsing English (class default,
      or per error with ``code=``);
    - ``fields``: ``{field: [messages]}`` (nested dicts for nested fields) when the error names
      fields; the API answers them as the body, the back office next to the form's fields;
    - ``extra``: more items of the body next to ``detail`` (e.g. ``status="shipped"``). They must
      be JSON values.
    """

    code: ClassVar[str] = INVALID
    http_status: ClassVar[int] = 400

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        fields: dict[str, Any] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code  # type: ignore[misc]  # this error's own code
        self.fields = fields
        self.extra = extra

    def body(self) -> dict[str, Any]:
        """The items of the API answer besides ``code``: the field errors, or ``detail`` and
        the extra items."""
        if self.fields:
            return dict(self.fields)
        return {"detail": self.message, **self.extra}


class InvalidInput(DomainError):
    """Bad input (400 ``invalid``)."""

    code = INVALID
    http_status = 400


class NotAllowedNow(DomainError):
    """The object's current state forbids the action now (409 ``not_allowed_now``)."""

    code = NOT_ALLOWED_NOW
    http_status = 409


class Conflict(DomainError):
    """The request clashes with what exists already (409; e.g. ``duplicate``)."""

    code = CONFLICT
    http_status = 409


class NotFoundError(DomainError):
    """No such object (404 ``not_found``)."""

    code = NOT_FOUND
    http_status = 404


class Gone(DomainError):
    """It existed but is no longer valid, e.g. an expired link (410 ``gone``)."""

    code = GONE
    http_status = 410


def error_messages(errors: Any) -> list[str]:
    """Every message of a (possibly nested) error dict, in order, for a one-line display."""
    if isinstance(errors, dict):
        return [m for value in errors.values() for m in error_messages(value)]
    if isinstance(errors, list | tuple):
        return [m for value in errors for m in error_messages(value)]
    return [str(errors)]
