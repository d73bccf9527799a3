"""Refusing text that no database column can hold: NUL characters and unpaired surrogates.

PostgreSQL refuses a NUL (``\\x00``) in any text value, and text with an unpaired surrogate
(``\\ud800``, which JSON's ``\\ud800`` escape produces) cannot even be encoded as UTF-8 to be sent
to it (SQLite fails the same way). Such input is never meaningful, so it is refused **once, at the
edge**, with an error naming the field, before any view, form, service or query sees it:

- JSON bodies of the API: ``core.api.parsers.JSONParser``
  (``REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]``)
  walks the parsed document with :func:`find_problems` and answers ``400
  {"customer": {"name": ["Contains a NUL character; remove it."]}}``. One parser covers every
  write endpoint, also those that hand ``request.data`` to a service without a serializer field
  per value (order placement), which a ``CharField`` subclass or a serializer mixin would miss.
- Query strings and form bodies (back-office forms, filters, searches, every page):
  ``core.middleware.HostileInputMiddleware`` checks every parameter with :func:`text_problem`
  (the raw bytes decoded with ``surrogateescape``, so invalid UTF-8 is caught too instead of being
  silently turned into "�") and answers 400 naming the parameter. One middleware covers every
  form, formset, filter and view that reads ``request.GET`` / ``request.POST`` directly, with no
  change to the forms (a form mixin would have to be added to each of ~20 form classes and would
  still miss the views that read parameters directly).
- Uploaded CSV / Excel files: ``dataio.imports.reading`` checks every cell and refuses the file
  naming the row and column.

Stripping instead of refusing was rejected: silently changing what a partner sent would make the
stored order differ from their request (and from its idempotency fingerprint).
"""

import math
from typing import Any

NUL_MESSAGE = "Contains a NUL character; remove it."
SURROGATE_MESSAGE = (
    "Contains an unpaired surrogate or bytes that are not UTF-8 (not valid text); remove it."
)
NUMBER_MESSAGE = "A number out of range."
KEY_MESSAGE = "A field name contains a NUL character or text that is not valid Unicode."
NON_FIELD_KEY = "non_field_errors"

# No column stores a larger integer (PostgreSQL bigint, SQLite INTEGER).
MAX_INTEGER = 2**63 - 1


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text (NUL, unpaired surrogate), or None if it can."""
    if "\x00" in value:
        return NUL_MESSAGE
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return SURROGATE_MESSAGE
    return None


def number_problem(value: object) -> str | None:
    """Why a JSON number cannot be stored (beyond any integer column, infinite, NaN), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return NUMBER_MESSAGE if abs(value) > MAX_INTEGER else None
    if isinstance(value, float) and not math.isfinite(value):
        return NUMBER_MESSAGE
    return None


def value_problem(value: object) -> str | None:
    if isinstance(value, str):
        return text_problem(value)
    return number_problem(value)


def find_problems(data: object, *, max_depth: int) -> tuple[dict[str, Any] | None, bool]:
    """Check every string (keys included) and number of a parsed JSON document.

    Returns ``(errors, too_deep)``: ``errors`` is None when all is well, else the nested error
    shape DRF uses (``{"customer": {"name": [message]}}``, list items by index:
    ``{"lines": {"1": {"sku": [message]}}}``); ``too_deep`` says the document nests more than
    ``max_depth`` objects or lists. Iterative, so any depth is safe to walk.
    """
    errors: dict[str, Any] = {}
    # (value, path of keys from the root, depth)
    stack: list[tuple[object, tuple[str, ...], int]] = [(data, (), 0)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth >= max_depth:
                return None, True
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str) and text_problem(key):
                    _add(errors, (*path, NON_FIELD_KEY), KEY_MESSAGE)
                    continue
                stack.append((item, (*path, str(key)), depth + 1))
            continue
        problem = value_problem(value)
        if problem:
            _add(errors, path or (NON_FIELD_KEY,), problem)
    return (errors or None), False


def _add(errors: dict[str, Any], path: tuple[str, ...], message: str) -> None:
    node = errors
    for key in path[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):  # a message list there already: keep the first problem
            if child is not None:
                return
            child = node[key] = {}
        node = child
    messages = node.setdefault(path[-1], [])
    if isinstance(messages, list) and message not in messages:
        messages.append(message)
