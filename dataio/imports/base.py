"""What every kind of import shares: columns, value parsing, row errors, the report, and the
all-or-nothing run (a file with one bad row imports nothing)."""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from django.contrib.auth.models import User
from django.db import transaction

from core.spreadsheet import FORMULA_START

from .reading import FileRejected, Row, Table

# ``progress(phase, rows_done, rows_total)``: told while a file is checked, then written.
T = TypeVar("T")
Progress = Callable[[str, int, int], None] | None
CHECKING, WRITING = "checking", "writing"
PHASE_LABELS = {CHECKING: "Checking", WRITING: "Importing"}


class Ticker:
    """Counts the rows of one phase (checking or writing) and tells ``report`` about them every
    ``every`` rows and once more at the end, so a progress bar moves without costing a call per
    row. ``Ticker(None, …)`` counts silently."""

    def __init__(self, report: Progress, phase: str, total: int, *, every: int = 250):
        self.report, self.phase, self.total, self.every = report, phase, total, every
        self.done = self._told = 0
        if report:
            report(phase, 0, total)

    def __call__(self, rows: int = 1) -> None:
        self.done = min(self.done + rows, self.total)
        if self.report and (self.done - self._told >= self.every or self.done == self.total):
            self._told = self.done
            self.report(self.phase, self.done, self.total)

    def each(self, items: Iterable[T]) -> Iterator[T]:
        """Yield ``items``, counting one row as each is handled."""
        for item in items:
            yield item
            self()

    def finish(self) -> None:
        if self.done < self.total:
            self(self.total - self.done)


@dataclass
class RowError:
    row: int | None  # spreadsheet row number; None for the file as a whole
    message: str

    def __str__(self) -> str:
        return f"Row {self.row}: {self.message}" if self.row else self.message


@dataclass
class Report:
    """What a preview, a dry run or an import found and did."""

    kind: str
    rows_total: int = 0
    errors: list[RowError] = field(default_factory=list)
    imported: bool = False
    rows_done: int = 0
    summary: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def rejected_row_numbers(self) -> set[int]:
        return {e.row for e in self.errors if e.row}

    @property
    def rows_rejected(self) -> int:
        if self.errors and not self.rejected_row_numbers:
            return self.rows_total  # a problem of the whole file (or of the whole import)
        return len(self.rejected_row_numbers)

    @property
    def rows_valid(self) -> int:
        return self.rows_total - self.rows_rejected


class RowProblem(ValueError):
    """A bad value in one row; the message names the column and the problem."""


# --- value parsing ------------------------------------------------------------------------------


def unquoted(row: Row, column: str) -> str:
    """The cell's text as written before our exports guarded it with a quote (if they did)."""
    value = row.get(column).strip()
    if value[:1] == "'" and value[1:2] in FORMULA_START:
        value = value[1:]
    return value


def text(row: Row, column: str, *, max_length: int, required: bool = False) -> str:
    value = unquoted(row, column)
    if required and not value:
        raise RowProblem(f"{column} is missing.")
    if len(value) > max_length:
        raise RowProblem(f"{column} is too long ({len(value)} characters, at most {max_length}).")
    return value


def decimal(row: Row, column: str, *, places: int = 2, max_digits: int = 12) -> Decimal | None:
    raw = row.get(column).strip().replace(" ", "")
    if not raw:
        return None
    candidate = raw.replace(",", ".") if "," in raw and "." not in raw else raw
    try:
        value = Decimal(candidate)
    except InvalidOperation:
        raise RowProblem(f"{column} '{raw}' is not a number.") from None
    if not value.is_finite():
        raise RowProblem(f"{column} '{raw}' is not a number.")
    if value < 0:
        raise RowProblem(f"{column} must not be negative (got {raw}).")
    if value and value.adjusted() >= max_digits - places:
        raise RowProblem(f"{column} '{raw}' is too large.")
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        raise RowProblem(f"{column} '{raw}' has more than {places} decimal places.")
    try:
        value = value.quantize(Decimal(1).scaleb(-places))
    except InvalidOperation:
        raise RowProblem(f"{column} '{raw}' is too large.") from None
    if len(value.as_tuple().digits) > max_digits:
        raise RowProblem(f"{column} '{raw}' is too large.")
    return value


def integer(row: Row, column: str, *, minimum: int = 0, maximum: int = 1_000_000) -> int | None:
    raw = row.get(column).strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise RowProblem(f"{column} '{raw}' is not a whole number.") from None
    if value < minimum:
        raise RowProblem(f"{column} must be at least {minimum} (got {value}).")
    if value > maximum:
        raise RowProblem(f"{column} {value} is too large (at most {maximum:,}).")
    return value


TRUE = {"1", "true", "yes", "y", "x", "active", "ja", "oui", "wahr", "vrai"}
FALSE = {"0", "false", "no", "n", "inactive", "nein", "non", "falsch", "faux"}


def boolean(row: Row, column: str) -> bool | None:
    raw = row.get(column).strip().lower()
    if not raw:
        return None
    if raw in TRUE:
        return True
    if raw in FALSE:
        return False
    raise RowProblem(f"{column} '{row.get(column)}' is not yes/no (use true or false).")


def reader(row: Row, problems: list[str]) -> Callable[..., Any]:
    """``read(parse, column, ...)``: the parsed value, or None with the problem noted."""

    def read(parse: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return parse(row, *args, **kwargs)
        except RowProblem as exc:
            problems.append(str(exc))
            return None

    return read


# --- the importer -------------------------------------------------------------------------------
class Importer:
    """One kind of import. Subclasses give the columns and write ``validate`` and ``apply``.

    ``validate(rows, tick=…)`` makes a constant number of queries (bulk look-ups) and returns
    ``(plan, errors)``; ``apply(plan, user=…, tick=…)`` writes inside the caller's transaction
    and returns ``(rows_done, summary, errors)``; any error rolls everything back. Both count the
    rows they have handled with ``tick`` (a ``Ticker``), which drives the progress bars.
    """

    kind = ""
    label = ""
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    permissions: tuple[str, ...] = ()
    help = ""

    def ignored(self, header: str) -> bool:
        return False

    def check_columns(self, table: Table) -> None:
        known = set(self.required) | set(self.optional)
        missing = [c for c in self.required if c not in table.headers]
        unknown = [h for h in table.headers if h not in known and not self.ignored(h)]
        problems = []
        if missing:
            problems.append("missing column(s): " + ", ".join(missing))
        if unknown:
            problems.append("unknown column(s): " + ", ".join(unknown))
        if problems:
            raise FileRejected(
                f"This is not a {self.label.lower()} file: {'; '.join(problems)}. "
                f"Expected columns: {', '.join(self.required)}"
                + (f" (optional: {', '.join(self.optional)})" if self.optional else "")
                + "."
            )

    def validate(self, rows: list[Row], *, tick: Ticker) -> tuple[Any, list[RowError]]:
        """The plan ``apply`` carries out, and the rows' errors."""
        raise NotImplementedError

    def apply(
        self, plan: Any, *, user: User | None = None, tick: Ticker
    ) -> tuple[int, list[str], list[RowError]]:
        """Rows done, summary lines, and errors (any error rolls the import back)."""
        raise NotImplementedError

    # --- entry points --------------------------------------------------------------------
    def preview(self, table: Table, *, progress: Progress = None) -> tuple[object, Report]:
        self.check_columns(table)
        report = Report(kind=self.kind, rows_total=len(table.rows))
        for row in table.rows:
            if "__extra__" in row.values:
                report.errors.append(
                    RowError(
                        row.number, f"values beyond the last column: {row.values['__extra__']}"
                    )
                )
        tick = Ticker(progress, CHECKING, len(table.rows))
        plan, errors = self.validate(table.rows, tick=tick)
        tick.finish()
        report.errors.extend(errors)
        report.errors.sort(key=lambda e: e.row or 0)
        return plan, report

    def run(
        self,
        table: Table,
        *,
        user: User | None = None,
        dry_run: bool = False,
        progress: Progress = None,
    ) -> Report:
        """Validate ``table``; unless it has errors or this is a dry run, import it whole in one
        transaction. A service error during the import rolls back every row already written."""
        plan, report = self.preview(table, progress=progress)
        if not report.ok or dry_run:
            return report
        tick = Ticker(progress, WRITING, report.rows_total)
        with transaction.atomic():
            done, summary, errors = self.apply(plan, user=user, tick=tick)
            if errors:
                transaction.set_rollback(True)
            else:
                tick.finish()
        if errors:
            report.errors = sorted(errors, key=lambda e: e.row or 0)
            report.summary = ["Nothing was imported."]
            return report
        report.imported = True
        report.rows_done = done
        report.summary = summary
        return report


def collect(errors: list[RowError], row: Row, problems: list[str]) -> None:
    errors.extend(RowError(row.number, p) for p in problems)


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"
