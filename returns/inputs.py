"""What the returns services take: small typed inputs that the edges build (the API's
serializers, the return pages' forms).

The services stay the authority for every business rule (SKUs on the order or the return,
quantities and counts in range, reasons, lengths) and name every problem at once. What only
loose data can get wrong — a line that is not an object, a quantity of ``"2"``, a reason of
``None`` — the ``*_from_json`` readers read leniently into the same types and note on the input
(the ``*_given`` fields: the raw value's ``repr``), so the service words it with the rest, as
before. The replacements of an exchange are ``orders.services.LineInput`` (SKU and quantity).
"""

from dataclasses import dataclass

from core.validation import is_whole_number


@dataclass(frozen=True)
class ReturnLineInput:
    """One line of a return: a SKU of the order, the units coming back, why (a
    ``ReturnReason`` value) and an optional note.

    Only ``return_lines_from_json`` sets the last four: ``unreadable`` for a line that was not
    an object; ``quantity_given`` / ``reason_given`` / ``note_given`` (the raw value's ``repr``;
    the field then 0 or ``""``) for a value that was not of the field's type."""

    sku: str
    quantity: int
    reason: str
    note: str = ""
    unreadable: bool = False
    quantity_given: str = ""
    reason_given: str = ""
    note_given: str = ""


@dataclass(frozen=True)
class InspectionLine:
    """The count of one SKU of the return: units back sellable, units back damaged, and the
    condition seen (text).

    Only ``inspection_from_json`` sets the last four: ``unreadable`` for counts that were not an
    object; ``sellable_given`` / ``damaged_given`` / ``condition_given`` (the raw value's
    ``repr``; the field then 0 or ``""``) for a value that was not of the field's type."""

    sku: str
    sellable: int = 0
    damaged: int = 0
    condition: str = ""
    unreadable: bool = False
    sellable_given: str = ""
    damaged_given: str = ""
    condition_given: str = ""


# --- loose data (a JSON body, a test's dicts) -------------------------------------------------
def _count(value: object) -> tuple[int, str]:
    """A whole number as given (``""``), or 0 and the raw value's ``repr``."""
    return (value, "") if is_whole_number(value) else (0, repr(value))


def _return_line(data: object) -> ReturnLineInput:
    if not isinstance(data, dict):
        return ReturnLineInput(sku="", quantity=0, reason="", unreadable=True)
    sku, reason, note = data.get("sku"), data.get("reason"), data.get("note") or ""
    quantity, quantity_given = _count(data.get("quantity"))
    return ReturnLineInput(
        sku=sku if isinstance(sku, str) else "",
        quantity=quantity,
        reason=reason if isinstance(reason, str) else "",
        note=note if isinstance(note, str) else "",
        quantity_given=quantity_given,
        reason_given="" if isinstance(reason, str) else repr(reason),
        note_given="" if isinstance(note, str) else repr(note),
    )


def return_lines_from_json(lines: object) -> list[ReturnLineInput]:
    """``[{"sku", "quantity", "reason", "note"?}]`` (JSON values of any type) read leniently:
    what is not of the expected type is noted for the service to name (see the module);
    something that is not a list reads as no lines."""
    if not isinstance(lines, list | tuple):
        return []
    return [_return_line(line) for line in lines]


def _inspection_line(sku: str, data: object) -> InspectionLine:
    if not isinstance(data, dict):
        return InspectionLine(sku=sku, unreadable=True)
    sellable, sellable_given = _count(data.get("sellable", 0))
    damaged, damaged_given = _count(data.get("damaged", 0))
    condition = data.get("condition") or ""
    return InspectionLine(
        sku=sku,
        sellable=sellable,
        damaged=damaged,
        condition=condition if isinstance(condition, str) else "",
        sellable_given=sellable_given,
        damaged_given=damaged_given,
        condition_given="" if isinstance(condition, str) else repr(condition),
    )


def inspection_from_json(counts: object) -> list[InspectionLine]:
    """``{sku: {"sellable": n, "damaged": n, "condition"?: text}}`` (JSON values of any type)
    read leniently, one line per SKU in the order given: a count left out is 0; what is not of
    the expected type is noted for the service to name; something that is not an object reads
    as no lines."""
    if not isinstance(counts, dict):
        return []
    return [_inspection_line(str(sku), entry) for sku, entry in counts.items()]
