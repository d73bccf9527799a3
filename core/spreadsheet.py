"""Text that spreadsheet programs would run as a formula (CSV injection), in one place for every
CSV this site writes (the exports of ``dataio``, the order desk's and the dashboard's tables in
``reports``), and the two writers the exports share: streamed CSV lines and a write-only .xlsx."""

import csv
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, Any

# Text starting with one of these is run as a formula by spreadsheet programs: our CSV exports
# prefix such cells with "'" (``safe``), and the imports undo it (``dataio.imports.base.unquoted``).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe(value: object) -> object:
    """A CSV cell that spreadsheet programs will not run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def safe_row(row: Sequence[object]) -> list[object]:
    return [safe(value) for value in row]


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[list[Any]]) -> Iterator[str]:
    """CSV text, one line at a time (for StreamingHttpResponse), with a BOM so Excel reads
    it as UTF-8."""
    writer = csv.writer(_Echo())
    yield "\ufeff"
    for row in rows:
        yield writer.writerow(safe_row(row))


def write_xlsx(rows: Iterable[list[Any]], fh: IO[bytes], *, title: str = "Export") -> int:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    count = -1
    for count, row in enumerate(rows):  # noqa: B007
        cells = []
        for value in row:
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # never a formula, whatever the text starts with
            cells.append(cell)
        sheet.append(cells)
    workbook.save(fh)
    return max(count, 0)
