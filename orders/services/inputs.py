"""What placement takes: small typed inputs that the edges build (the API from a partner's JSON,
the order entry form, the order import, an exchange's replacement order).

The placement service stays the authority for every business rule (required fields, lengths,
e-mail, phone, country, known and active SKUs, quantities, currencies) and names every problem
at once. What only a raw JSON body can get wrong — a customer that is not an object, a name
that is not a string, a quantity of ``"2"`` — ``placement_input_from_json`` reads leniently into
the same types and notes it on the input, so the service words it with the rest, as before.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from core.validation import is_whole_number

from ..models import Channel, Partner

CUSTOMER_NOT_AN_OBJECT = "Give the customer as an object with name, email and phone."
ADDRESS_NOT_AN_OBJECT = (
    "Give the address as an object with line1, line2, city, postal_code and country."
)
NOT_A_STRING = "Must be a string."
NOTES_MAX_LENGTH = 5000  # an order's notes (a TextField: the limit is ours)
REFERENCE_MAX_LENGTH = 100
REFERENCE_NOT_TEXT = f"The reference must be a string of at most {REFERENCE_MAX_LENGTH} characters."
NOTES_NOT_TEXT = f"Notes must be a string of at most {NOTES_MAX_LENGTH} characters."


@dataclass(frozen=True)
class CustomerInput:
    """Who the order is for; the phone with its country prefix or as dialled in the shipping
    country."""

    name: str
    email: str
    phone: str = ""


@dataclass(frozen=True)
class AddressInput:
    """Where the order goes; ``country`` a 2-letter ISO code in any case."""

    line1: str
    city: str
    postal_code: str
    country: str
    line2: str = ""


@dataclass(frozen=True)
class LineInput:
    """One line: a SKU in any case (``inventory.skus.sku_key``) and a quantity.

    Only ``placement_input_from_json`` sets the last two: ``unreadable`` for a line that was
    not an object, ``quantity_given`` (the raw value's ``repr``, ``quantity`` then 0) for a
    quantity that was not a whole number."""

    sku: str
    quantity: int
    unreadable: bool = False
    quantity_given: str = ""


@dataclass(frozen=True)
class PlacementInput:
    """An order to place. ``free_of_charge`` prices every line at 0 (the replacements of an
    exchange). ``shape_errors``: problems ``placement_input_from_json`` found in a raw body,
    by field like the 400's body (the service adds its own and raises them all at once)."""

    channel: Channel
    customer: CustomerInput
    shipping_address: AddressInput
    lines: Sequence[LineInput]
    reference: str = ""
    notes: str = ""
    partner: Partner | None = None
    free_of_charge: bool = False
    shape_errors: Mapping[str, list[str] | dict[str, list[str]]] = field(default_factory=dict)


# --- a raw body (a partner's JSON) --------------------------------------------------------------
ShapeErrors = dict[str, list[str] | dict[str, list[str]]]


def _text(value: object) -> str | None:
    """A string as given, ``""`` for ``None`` (left out), ``None`` for anything else."""
    if value is None:
        return ""
    return value if isinstance(value, str) else None


def _texts(
    data: object, fields: Sequence[str], errors: ShapeErrors, key: str, not_an_object: str
) -> dict[str, str]:
    """The string fields of an object; a field that is not a string reads as ``""`` and is
    named in ``errors[key]``; something that is not an object at all, in ``errors[key]`` too."""
    if not isinstance(data, dict):
        errors[key] = [not_an_object]
        return dict.fromkeys(fields, "")
    problems: dict[str, list[str]] = {}
    values = {}
    for name in fields:
        text = _text(data.get(name))
        if text is None:
            problems[name] = [NOT_A_STRING]
        values[name] = text or ""
    if problems:
        errors[key] = problems
    return values


def _line(data: object) -> LineInput:
    if not isinstance(data, dict):
        return LineInput(sku="", quantity=0, unreadable=True)
    sku = data.get("sku")
    quantity = data.get("quantity")
    return LineInput(
        sku=sku if isinstance(sku, str) else "",
        quantity=quantity if is_whole_number(quantity) else 0,
        quantity_given="" if is_whole_number(quantity) else repr(quantity),
    )


def placement_input_from_json(
    *,
    channel: Channel,
    customer: object,
    shipping_address: object,
    lines: object,
    reference: object = "",
    notes: object = "",
    partner: Partner | None = None,
    free_of_charge: bool = False,
) -> PlacementInput:
    """A raw body's parts (JSON values of any type) read leniently into a ``PlacementInput``:
    what is not of the expected type is noted for the service to name (see the module)."""
    errors: ShapeErrors = {}
    who = _texts(customer, ("name", "email", "phone"), errors, "customer", CUSTOMER_NOT_AN_OBJECT)
    where = _texts(
        shipping_address,
        ("line1", "line2", "city", "postal_code", "country"),
        errors,
        "shipping_address",
        ADDRESS_NOT_AN_OBJECT,
    )
    reference_text, notes_text = _text(reference), _text(notes)
    if reference_text is None:
        errors["reference"] = [REFERENCE_NOT_TEXT]
    if notes_text is None:
        errors["notes"] = [NOTES_NOT_TEXT]
    return PlacementInput(
        channel=channel,
        customer=CustomerInput(**who),
        shipping_address=AddressInput(**where),
        lines=[_line(line) for line in lines] if isinstance(lines, list | tuple) else [],
        reference=reference_text or "",
        notes=notes_text or "",
        partner=partner,
        free_of_charge=free_of_charge,
        shape_errors=errors,
    )
