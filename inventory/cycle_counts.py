"""Count sheets (cycle counts): the stock rows of one warehouse in a bin range, listed for the
people counting, their counts kept on the sheet, then posted or cancelled.

Making a sheet, saving counts and cancelling change no stock and live here. Posting changes
stock and may send reservations back to backorders, so it is ``orders.cycle_counts.
cycle_count_post``, which records every counted row through the one count rule
(``orders.stock_counts.stock_counts_record``).

Bin ranges compare bins as text, code point by code point (the same on SQLite and PostgreSQL,
whatever the database's collation): a row is on the sheet when ``from <= bin`` and either
``bin <= to`` or the bin starts with ``to`` ("A-01" to "A-20" takes "A-20-3" too). A blank
``from`` starts before every bin (rows without a bin included), a blank ``to`` ends after the
last one. Rows are listed by bin, then SKU.
"""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.db.models import Q

from core.errors import InvalidInput
from core.numbers import CYCLE_COUNT_NUMBER
from core.text import text_problem
from core.validation import is_whole_number

from .exceptions import CycleCountNotOpen
from .locks import cycle_count_for_update
from .models import CycleCount, CycleCountLine, CycleCountStatus, StockLevel, Warehouse
from .services import MAX_UNITS_PER_MOVE

# A sheet is counted in one go and saved from one page (one input per row): a whole warehouse
# of thousands of SKUs is several sheets, by bin range.
MAX_LINES = 500
BIN_MAX_LENGTH = 32
REASON_MAX_LENGTH = 255


@dataclass(frozen=True)
class CycleCountInput:
    """A new count sheet: the warehouse's code, the bin range (blank: open), the reason."""

    warehouse: str
    bin_from: str = ""
    bin_to: str = ""
    reason: str = ""


@dataclass(frozen=True)
class CycleCountDetail:
    """A count sheet with its lines (stock rows with product loaded), in sheet order."""

    cycle_count: CycleCount
    lines: list[CycleCountLine]


def _user(user: User | AnonymousUser | None) -> User | None:
    return user if isinstance(user, User) and user.is_authenticated else None


def in_range(bin_location: str, bin_from: str, bin_to: str) -> bool:
    """Is ``bin_location`` in the range (see the module's note)?"""
    if bin_from and bin_location < bin_from:
        return False
    return not bin_to or bin_location <= bin_to or bin_location.startswith(bin_to)


def _text(value: object, name: str, limit: int, errors: dict[str, list[str]]) -> str:
    if not isinstance(value, str):
        errors[name] = ["Give text."]
        return ""
    value = value.strip()
    problem = text_problem(value)
    if problem:
        errors[name] = [problem]
    elif len(value) > limit:
        errors[name] = [f"At most {limit} characters."]
    return value


def cycle_count_lines_for(
    *, warehouse: Warehouse, bin_from: str, bin_to: str
) -> list[tuple[int, str, str, int]]:
    """(stock row id, bin, SKU, on hand) of the rows a sheet of this range lists, by bin then
    SKU: the warehouse's rows of active products, and of inactive ones still holding stock."""
    rows = (
        StockLevel.objects.filter(warehouse=warehouse)
        .filter(Q(product__is_active=True) | Q(on_hand__gt=0) | Q(reserved__gt=0))
        .values_list("pk", "bin_location", "product__sku", "on_hand")
    )
    chosen = [row for row in rows if in_range(row[1], bin_from, bin_to)]
    chosen.sort(key=lambda row: (row[1], row[2]))
    return chosen


def cycle_count_create(
    *, data: CycleCountInput, user: User | AnonymousUser | None = None
) -> CycleCountDetail:
    """Make a count sheet listing the warehouse's stock rows in the bin range, each with its
    on hand now. Raises ``InvalidInput`` naming the fields (unknown or inactive warehouse, a
    range whose start is after its end, a range with no stock rows, too many rows)."""
    errors: dict[str, list[str]] = {}
    code = _text(data.warehouse, "warehouse", 16, errors)
    bin_from = _text(data.bin_from, "bin_from", BIN_MAX_LENGTH, errors)
    bin_to = _text(data.bin_to, "bin_to", BIN_MAX_LENGTH, errors)
    reason = _text(data.reason, "reason", REASON_MAX_LENGTH, errors)
    warehouse = None
    if "warehouse" not in errors:
        warehouse = Warehouse.objects.filter(code__iexact=code).first() if code else None
        if warehouse is None:
            errors["warehouse"] = [f"Unknown warehouse {code!r}." if code else "Choose one."]
        elif not warehouse.is_active:
            errors["warehouse"] = [f"Warehouse {warehouse.code} is not active: it is not counted."]
    if bin_from and bin_to and bin_from > bin_to and not bin_from.startswith(bin_to):
        errors["bin_to"] = [f"The range ends ({bin_to}) before it starts ({bin_from})."]
    if errors:
        raise InvalidInput("The count sheet was not made.", fields=errors)
    assert warehouse is not None
    rows = cycle_count_lines_for(warehouse=warehouse, bin_from=bin_from, bin_to=bin_to)
    if not rows:
        raise InvalidInput(
            "No stock rows in that range.",
            fields={
                "bin_from": [
                    f"{warehouse.code} has no stock rows with a bin in this range; check the "
                    "bins on the stock page."
                ]
            },
        )
    if len(rows) > MAX_LINES:
        raise InvalidInput(
            "Too many rows.",
            fields={
                "bin_to": [
                    f"{len(rows)} stock rows are in this range; a sheet holds at most "
                    f"{MAX_LINES}: narrow the bin range and make several sheets."
                ]
            },
        )
    with transaction.atomic():
        sheet = CycleCount.objects.create(
            number=CYCLE_COUNT_NUMBER.placeholder(uuid.uuid4().hex[:20]),
            warehouse=warehouse,
            bin_from=bin_from,
            bin_to=bin_to,
            reason=reason,
            created_by=_user(user),
        )
        sheet.number = CYCLE_COUNT_NUMBER.for_pk(sheet.pk)
        sheet.save(update_fields=["number"])
        CycleCountLine.objects.bulk_create(
            [
                CycleCountLine(
                    cycle_count=sheet,
                    position=position,
                    stock_level_id=pk,
                    bin_location=bin_location,
                    on_hand_snapshot=on_hand,
                )
                for position, (pk, bin_location, _sku, on_hand) in enumerate(rows, start=1)
            ]
        )
    return cycle_count_detail(sheet)


def cycle_count_detail(sheet: CycleCount) -> CycleCountDetail:
    """The sheet's lines, stock rows and products loaded (one query)."""
    lines = list(
        sheet.lines.select_related(
            "stock_level__product", "stock_level__warehouse", "movement"
        ).order_by("position")
    )
    return CycleCountDetail(cycle_count=sheet, lines=lines)


def check_open(sheet: CycleCount) -> None:
    """Refuse (409) a posted or cancelled sheet, (400) one of an inactive warehouse."""
    if sheet.status != CycleCountStatus.OPEN:
        raise CycleCountNotOpen(sheet, sheet.get_status_display().lower())
    if not sheet.warehouse.is_active:
        raise InvalidInput(
            f"Warehouse {sheet.warehouse.code} is not active: its stock is not counted.",
            fields={"warehouse": [f"Warehouse {sheet.warehouse.code} is not active."]},
        )


def counted_problem(value: object) -> str | None:
    """Why ``value`` is not a count (None: blank, not counted), or None if it is one."""
    if value is None or is_whole_number(value, minimum=0, maximum=MAX_UNITS_PER_MOVE):
        return None
    return f"A count is a whole number from 0 to {MAX_UNITS_PER_MOVE:,}."


def cycle_count_counts_save(
    *,
    cycle_count_id: int,
    counts: Mapping[int, int | None],
    user: User | AnonymousUser | None = None,
) -> CycleCountDetail:
    """Keep counts on an open sheet: line id → units counted (None: not counted). No stock
    changes. Only the given lines are written, so two people saving different rows of one sheet
    keep each other's counts. Raises ``InvalidInput`` naming each bad line (field
    ``line-<id>``), ``CycleCountNotOpen`` (409) for a posted or cancelled sheet."""
    with transaction.atomic():
        sheet = cycle_count_for_update(cycle_count_id)
        check_open(sheet)
        lines = {line.pk: line for line in sheet.lines.filter(pk__in=list(counts))}
        errors: dict[str, list[str]] = {}
        for line_id, value in counts.items():
            if line_id not in lines:
                errors[f"line-{line_id}"] = ["This line is not on the sheet."]
                continue
            problem = counted_problem(value)
            if problem:
                errors[f"line-{line_id}"] = [problem]
        if errors:
            raise InvalidInput("Some counts were not saved.", fields=errors)
        changed = []
        for line_id, value in counts.items():
            line = lines[line_id]
            if line.counted != value:
                line.counted = value
                changed.append(line)
        if changed:
            CycleCountLine.objects.bulk_update(changed, ["counted"])
    return cycle_count_detail(sheet)


def cycle_count_cancel(
    *, cycle_count_id: int, user: User | AnonymousUser | None = None
) -> CycleCount:
    """Withdraw an open sheet; its counts are kept on it, no stock changes."""
    with transaction.atomic():
        sheet = cycle_count_for_update(cycle_count_id)
        if sheet.status != CycleCountStatus.OPEN:
            raise CycleCountNotOpen(sheet, sheet.get_status_display().lower())
        sheet.cancel()
        sheet.save(update_fields=["status", "cancelled_at"])
    return sheet
