"""Checks of loosely typed input that every service repeats (a partner's JSON, a form's cleaned
data, an import row): is this a whole number in range?

They answer yes or no: each caller words its own message and raises its own app's error, so the
messages the API and the pages show stay where they are written.
"""

from typing import TypeGuard


def is_whole_number(
    value: object, *, minimum: int | None = None, maximum: int | None = None
) -> TypeGuard[int]:
    """``value`` is an ``int`` (``True`` and ``False`` are not, nor ``2.0`` or ``"2"``) from
    ``minimum`` to ``maximum``, both included when given."""
    if isinstance(value, bool) or not isinstance(value, int):
        return False
    if minimum is not None and value < minimum:
        return False
    return maximum is None or value <= maximum


def is_positive_int(value: object) -> TypeGuard[int]:
    """``value`` is a whole number of 1 or more (a quantity)."""
    return is_whole_number(value, minimum=1)
