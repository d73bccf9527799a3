"""Posting a count sheet (``inventory.cycle_counts``): every counted row through the one count
rule (``orders.stock_counts.stock_counts_record``), in one transaction.

The count is the truth at posting time: each counted row's on hand becomes what was counted, and
the ledger row is the difference from the books *then* (stock may have moved since the sheet
was made: a shipment, a receipt). The line keeps both figures, so the page shows the difference
from the snapshot and from the books at posting. Rows not counted are left alone.

Locks: the sheet, then (through the count rule) the orders holding reservations on the counted
rows, by id, then the rows, by id. Nothing that holds an order or stock lock locks a sheet.
"""

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction

from core.bulk import update_int_columns
from core.errors import InvalidInput, error_messages
from core.text import text_problem
from inventory.cycle_counts import (
    REASON_MAX_LENGTH,
    CycleCountDetail,
    check_open,
    cycle_count_detail,
)
from inventory.locks import cycle_count_for_update
from inventory.models import CycleCountLine

from .exceptions import OrderValidationError
from .stock_counts import StockCountInput, stock_counts_record


@dataclass(frozen=True)
class PostedCycleCount:
    """A posted sheet: all its lines, those with a variance, those not counted, and the orders
    whose reservations went back to backorders ({order number: {SKU: units}})."""

    detail: CycleCountDetail
    variances: list[CycleCountLine]
    uncounted: list[CycleCountLine]
    backordered: dict[str, dict[str, int]]


def _user(user: User | AnonymousUser | None) -> User | None:
    return user if isinstance(user, User) and user.is_authenticated else None


def cycle_count_post(
    *,
    cycle_count_id: int,
    reason: str = "",
    user: User | AnonymousUser | None = None,
) -> PostedCycleCount:
    """Post an open sheet's counts to the stock ledger (one adjustment per variance, referenced
    by the sheet's number, with ``reason``, else the sheet's, else "Cycle count"). Raises
    ``CycleCountNotOpen`` (409) for a posted or cancelled sheet, ``InvalidInput`` (400) for an
    inactive warehouse, a sheet with nothing counted, a bad reason, or a count the rule refuses
    (units of orders being picked); nothing changes then."""
    if not isinstance(reason, str):
        reason = ""
    reason = reason.strip()
    problem = text_problem(reason)
    if problem is None and len(reason) > REASON_MAX_LENGTH:
        problem = f"At most {REASON_MAX_LENGTH} characters."
    if problem:
        raise InvalidInput(problem, fields={"reason": [problem]})
    with transaction.atomic():
        sheet = cycle_count_for_update(cycle_count_id)
        check_open(sheet)
        detail = cycle_count_detail(sheet)
        counted = [line for line in detail.lines if line.counted is not None]
        if not counted:
            raise InvalidInput(
                "Nothing is counted on this sheet yet: enter and save the counts first.",
                fields={"counts": ["Nothing is counted on this sheet yet."]},
            )
        reason = reason or sheet.reason or "Cycle count"
        try:
            results = stock_counts_record(
                counts=[
                    StockCountInput(stock_level_id=line.stock_level_id, counted=line.counted)
                    for line in counted
                    if line.counted is not None
                ],
                reason=reason,
                reference=sheet.number,
                user=user,
            )
        except OrderValidationError as exc:
            raise InvalidInput(
                "The count sheet was not posted.", fields={"counts": error_messages(exc.errors)}
            ) from None
        backordered: dict[str, dict[str, int]] = {}
        for line, result in zip(counted, results, strict=True):
            line.on_hand_posted = result.previous_on_hand
            line.movement = result.movement
            line.units_backordered = result.units_backordered
            for number, skus in result.backordered.items():
                backordered.setdefault(number, {}).update(skus)
        update_int_columns(
            CycleCountLine,
            {
                line.pk: (line.on_hand_posted, line.movement_id, line.units_backordered)
                for line in counted
            },
            ["on_hand_posted", "movement_id", "units_backordered"],
        )
        sheet.post()
        sheet.posted_by = _user(user)
        sheet.reason = reason[:REASON_MAX_LENGTH]
        sheet.save(update_fields=["status", "posted_at", "posted_by", "reason"])
    return PostedCycleCount(
        detail=detail,
        variances=[line for line in counted if line.variance],
        uncounted=[line for line in detail.lines if line.counted is None],
        backordered=backordered,
    )
