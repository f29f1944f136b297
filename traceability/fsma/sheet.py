"""The FSMA 204 electronic sortable spreadsheet, as CSV or XLSX (pure: rows in, bytes out).

Both carry the same cells, headed by ``traceability.fsma.cte.COLUMNS``:

* CSV: UTF-8, RFC 4180 (comma, ``"`` quoting where a cell needs it, CRLF line ends);
  dates ``YYYY-MM-DD``, quantities as plain numbers;
* XLSX (openpyxl): the header row bold and frozen, an autofilter over the whole table
  (FDA's "sortable"), dates as real dates shown ``yyyy-mm-dd``, quantities as numbers,
  the event time as its ISO 8601 text.

The cells are partner-supplied data (lot codes, document numbers, place names), so no
spreadsheet may evaluate one as a formula, and a lot code must stay the lot code (AI 10
allows ``-L1``; a TLC with a quote added matches no other record):

* XLSX: every text cell is written as a string (``t="inlineStr"``), never a formula,
  with its text unchanged; one starting with ``=``, ``+``, ``-``, ``@``, tab or CR also
  gets the ``quotePrefix`` style, so editing it in Excel keeps it text. Numbers are
  numbers. Characters XML cannot hold (C0 controls) become U+FFFD.
* CSV has no types: a text cell starting with one of those is prefixed with ``'``
  (OWASP "CSV injection"); a quantity is a number and is written as one (``-5``), which
  no spreadsheet runs.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date
from typing import Any, Literal, TextIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from traceability.fsma.cte import COLUMNS, DATE
from traceability.fsma.row import Row

Format = Literal["csv", "xlsx"]
MEDIA_TYPES: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
SHEET_TITLE = "FSMA 204"
_MAX_WIDTH = 60
Cell = str | float | date | None


def inert(text: str) -> str:
    """``text`` as a CSV cell a spreadsheet shows and never evaluates."""
    return "'" + text if text.startswith(FORMULA_START) else text


def number_text(value: float) -> str:
    """A quantity as a plain number: ``100``, ``12.5`` (never ``1e+02``)."""
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def csv_text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return number_text(value)  # a number, never a formula: no quote to add
    return inert(value)


def write_csv(rows: Sequence[Row], out: TextIO) -> int:
    """The sheet as CSV into ``out`` (open it with ``newline=""``); the rows written."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([csv_text(value) for value in row.cells()])
    return len(rows)


def csv_bytes(rows: Sequence[Row]) -> bytes:
    text = io.StringIO(newline="")
    write_csv(rows, text)
    return text.getvalue().encode("utf-8")


def xlsx_value(value: Cell) -> str | float | int | date | None:
    if isinstance(value, str):
        cleaned: str = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
        return cleaned
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    return value


def xlsx_bytes(rows: Sequence[Row]) -> bytes:
    """The sheet as an XLSX workbook of one worksheet (written in openpyxl's write-only
    mode: about twice as fast, and a row is never held twice)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(SHEET_TITLE)
    table = [[xlsx_value(value) for value in row.cells()] for row in rows]
    for index, name in enumerate(COLUMNS):
        longest = max((len(str(r[index])) for r in table if r[index] is not None), default=0)
        width = min(max(len(name), longest) + 2, _MAX_WIDTH)
        sheet.column_dimensions[get_column_letter(index + 1)].width = width
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{len(rows) + 1}"
    bold = Font(bold=True)
    sheet.append([_styled(sheet, name, font=bold) for name in COLUMNS])
    day = COLUMNS.index(DATE)
    for values in table:
        cells: list[Any] = [_text(sheet, v) if isinstance(v, str) else v for v in values]
        cells[day] = _styled(sheet, values[day], number_format="yyyy-mm-dd")
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _text(sheet: Any, text: str) -> str | WriteOnlyCell:
    """A text cell: a string whatever it starts with (openpyxl makes ``=…`` a formula)."""
    if not text.startswith(FORMULA_START):
        return text
    cell = WriteOnlyCell(sheet, text)
    cell.data_type = "s"
    cell.quotePrefix = True
    return cell


def _styled(sheet: Any, value: Any, **style: Any) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value)
    for name, setting in style.items():
        setattr(cell, name, setting)
    return cell


def sheet_bytes(rows: Sequence[Row], shape: Format) -> bytes:
    return xlsx_bytes(rows) if shape == "xlsx" else csv_bytes(rows)
