"""Text that spreadsheet programs would run as a formula (CSV injection), in one place for every
CSV this site writes (the exports of ``dataio`` and the dashboard's tables in ``reports``)."""

# Text starting with one of these is run as a formula by spreadsheet programs: our CSV exports
# prefix such cells with "'" (``safe``), and the imports undo it (``dataio.imports.base.unquoted``).
from collections.abc import Sequence

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe(value: object) -> object:
    """A CSV cell that spreadsheet programs will not run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def safe_row(row: Sequence[object]) -> list[object]:
    return [safe(value) for value in row]
