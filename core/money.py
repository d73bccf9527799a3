"""Money helpers: amounts are ``Decimal`` in the currency's major unit, kept to the cent."""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def to_cents(value: Decimal | int | str, *, rounding: str = ROUND_HALF_UP) -> Decimal:
    """``value`` rounded to the cent (half up, as invoices round, unless told otherwise)."""
    return Decimal(value).quantize(CENT, rounding=rounding)
