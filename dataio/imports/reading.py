"""Reading an uploaded CSV or Excel (.xlsx) file into rows of text, with clear errors.

Every problem with the file as a whole (too big, not text, not a workbook, no header, wrong
columns) raises ``FileRejected`` with a message meant for the person who uploaded it. Rows keep
the number they have in the spreadsheet (the header is row 1), so errors can name them.
"""

import csv
import datetime
import io
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings

from core.text import text_problem


# The settings OMS_IMPORT_MAX_ROWS and OMS_IMPORT_MAX_BYTES (oms/settings.py: 200,000 rows, 25 MB
# by default, well above any export: a CSV of 200,000 products with three warehouses is about
# 13 MB, so an export imports back).
def row_limit() -> int:
    return settings.OMS_IMPORT_MAX_ROWS


def size_limit() -> int:
    return settings.OMS_IMPORT_MAX_BYTES


CSV, XLSX = "csv", "xlsx"
FORMAT_LABELS = {CSV: "CSV", XLSX: "Excel"}


class FileRejected(Exception):
    """The file cannot be read at all; ``message`` says why and what to do."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class Row:
    number: int  # the row's number in the spreadsheet; the header is row 1
    values: dict[str, str]

    def get(self, column: str) -> str:
        return self.values.get(column, "")


@dataclass
class Table:
    format: str
    headers: list[str]
    rows: list[Row]


def normalise_header(text: str) -> str:
    return "_".join(str(text).strip().lower().replace("-", " ").split())


def detect_format(filename: str, data: bytes) -> str:
    name = (filename or "").lower()
    if name.endswith(".xls"):
        raise FileRejected(
            "Old Excel files (.xls) cannot be read: save the sheet as Excel Workbook (.xlsx) "
            "or as CSV UTF-8 and upload that."
        )
    if name.endswith(".xlsx"):
        return XLSX
    if name.endswith((".csv", ".txt")):
        return CSV
    if data.startswith(b"PK\x03\x04"):
        return XLSX
    return CSV


def read_table(data: bytes, filename: str = "", *, max_rows: int | None = None) -> Table:
    """Read ``data`` (the file's bytes) as CSV or .xlsx, chosen by the name, else the content.
    At most ``max_rows`` data rows (default: the setting ``OMS_IMPORT_MAX_ROWS``)."""
    if len(data) > size_limit():
        raise FileRejected(
            f"The file is {len(data) / 1024 / 1024:.1f} MB; files of at most "
            f"{size_limit() // 1024 // 1024} MB can be imported. Split it into smaller files."
        )
    if not data.strip():
        raise FileRejected("The file is empty.")
    fmt = detect_format(filename, data)
    raw_rows = _xlsx_rows(data) if fmt == XLSX else _csv_rows(data)
    return _table(fmt, raw_rows, max_rows=row_limit() if max_rows is None else max_rows)


def _table(fmt: str, raw_rows: Iterable[list[str]], *, max_rows: int) -> Table:
    headers: list[str] | None = None
    rows: list[Row] = []
    for number, cells in enumerate(raw_rows, start=1):
        cells = [c.strip() for c in cells]
        _check_text(number, cells, headers)
        if headers is None:
            if not any(cells):
                raise FileRejected(
                    "The first row must name the columns (for example sku, name, unit_price); "
                    "it is empty."
                )
            headers = [normalise_header(c) for c in cells]
            while headers and not headers[-1]:
                headers.pop()
            _check_headers(headers)
            continue
        if not any(cells):
            continue  # blank lines between rows are common in hand-made sheets
        if len(rows) >= max_rows:
            raise FileRejected(
                f"The file has more than {max_rows:,} rows; import at most {max_rows:,} rows "
                "at a time."
            )
        extra = [c for c in cells[len(headers) :] if c]
        values = dict(zip(headers, cells, strict=False))
        if extra:
            values["__extra__"] = ", ".join(extra)
        rows.append(Row(number=number, values=values))
    if headers is None:
        raise FileRejected("The file is empty.")
    if not rows:
        raise FileRejected("The file has a header row but no data rows.")
    return Table(format=fmt, headers=headers, rows=rows)


def _check_text(number: int, cells: list[str], headers: list[str] | None) -> None:
    """Every cell is checked like every API field and form parameter (``core.text``): a NUL
    or text that is not valid Unicode rejects the file, naming the row and the column."""
    for position, cell in enumerate(cells):
        problem = text_problem(cell)
        if problem:
            column = (
                f"'{headers[position]}'"
                if headers and position < len(headers)
                else f"{position + 1}"
            )
            raise FileRejected(f"Row {number}, column {column}: {problem}")


def _check_headers(headers: list[str]) -> None:
    if any(not h for h in headers):
        position = headers.index("") + 1
        raise FileRejected(f"Column {position} of the header row has no name.")
    seen = set()
    for header in headers:
        if header in seen:
            raise FileRejected(f"The column '{header}' appears twice in the header row.")
        seen.add(header)


# --- CSV ----------------------------------------------------------------------------------------
def _csv_rows(data: bytes) -> Iterator[list[str]]:
    if b"\x00" in data[:8192]:
        raise FileRejected(
            "This is not a CSV text file (it contains binary data). Upload a CSV (UTF-8) or an "
            "Excel .xlsx file."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FileRejected(
            f"The file is not UTF-8 text (first bad byte on line {line}). In Excel choose "
            "'Save as' > 'CSV UTF-8', or upload the .xlsx file."
        ) from None
    first_line = text.split("\n", 1)[0]
    delimiter = max((";", ",", "\t"), key=first_line.count)
    if first_line.count(delimiter) == 0:
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        yield from reader
    except csv.Error as exc:
        raise FileRejected(
            f"The CSV file is malformed near line {reader.line_num}: {exc}."
        ) from None


# --- Excel --------------------------------------------------------------------------------------
def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    return str(value)


def _refuse_formula(cell: Any) -> Any:
    """The cell's value; a formula cell rejects the file, naming the cell and its row."""
    if getattr(cell, "data_type", None) == "f":
        formula = str(getattr(cell.value, "text", cell.value) or "")[:60]
        raise FileRejected(
            f"Cell {cell.coordinate} (row {cell.row}) holds a formula ({formula}): formula cells "
            "are not read; paste values instead (copy the cells, then Paste Special > Values) "
            "and upload the file again."
        )
    return cell.value


def _xlsx_rows(data: bytes) -> Iterator[list[str]]:
    from openpyxl import load_workbook

    not_a_workbook = FileRejected(
        "The file is not a valid Excel workbook (.xlsx). Open it in Excel and save it as "
        "Excel Workbook (.xlsx) or as CSV UTF-8."
    )
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise not_a_workbook
    try:
        # data_only=False: a formula cell gives its formula, so it can be refused by name
        # (with data_only=True it reads as its cached result, empty when no program computed it).
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception:  # openpyxl raises many kinds (KeyError, BadZipFile, InvalidFileException…)
        raise not_a_workbook from None
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        if sheet is None:
            raise FileRejected("The workbook has no sheet.")
        try:
            for cells in sheet.iter_rows():
                yield [_cell_text(_refuse_formula(cell)) for cell in cells]
        except FileRejected:
            raise
        except Exception:
            raise not_a_workbook from None
    finally:
        workbook.close()
