"""A logger export as rows: the text decoded, split into cells, the preamble read.

Exports come from Windows tools as often as not: UTF-8 (with or without a BOM) is read
first, cp1252 otherwise (its 0xB0 is the "°" of "°C"); the hash the hub keeps is of
the bytes, so the decoding never changes the evidence. The delimiter is the one of
``,`` ``;`` and tab that splits the header row into the most cells.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from sensors.loggers.errors import LoggerFileError

DELIMITERS = (",", ";", "\t")
# Far above any logger's memory (the big ones hold 32k-64k readings, ~40 bytes a row in
# an export): ~300k rows, parsed in ~13 s here (64 MB took ~100 s and GBs of objects).
MAX_BYTES = 8 * 1024 * 1024


def file_too_big(size: int) -> str:
    return (
        f"the file is {size} bytes, over the {MAX_BYTES} a logger export can have: "
        "is it a logger's export? Split a merged file into one per download"
    )


@dataclass(frozen=True, slots=True)
class Row:
    """The cells of one non-empty line (1-based ``line``), stripped."""

    line: int
    cells: tuple[str, ...]

    @property
    def text(self) -> str:
        return ",".join(self.cells)


def decode_text(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return content.decode("cp1252", errors="replace")


def normal(cell: str) -> str:
    """A header cell or preamble key compared loosely: lower case, single spaces."""
    return re.sub(r"\s+", " ", cell.strip().strip('"').strip()).lower()


def _split(line: str, delimiter: str, number: int) -> tuple[str, ...]:
    try:
        cells = next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error as exc:  # a cell over csv.field_size_limit, a NUL
        raise LoggerFileError(
            f"line {number} is not readable as CSV ({exc}): is this a logger's export?"
        ) from exc
    return tuple(c.strip() for c in cells)


def _delimiter(line: str, number: int) -> str:
    return max(DELIMITERS, key=lambda d: len(_split(line, d, number)))


class Table:
    """The non-empty lines of a file; each split with the delimiter of the line asked about
    (preamble lines are split however fits them; data rows with their header's)."""

    def __init__(self, text: str) -> None:
        self.lines = [
            (number, line)
            for number, line in enumerate(text.splitlines(), start=1)
            if line.strip().strip(",;\t").strip()
        ]

    def rows(self) -> Iterator[Row]:
        """Every line split with its own best delimiter (for finding a header)."""
        for number, line in self.lines:
            yield Row(number, _split(line, _delimiter(line, number), number))

    def data(self, header_line: int) -> tuple[str, list[Row]]:
        """The delimiter of the header at ``header_line`` and the rows after it."""
        text = dict(self.lines)[header_line]
        delimiter = _delimiter(text, header_line)
        rows = [Row(n, _split(line, delimiter, n)) for n, line in self.lines if n > header_line]
        return delimiter, rows

    def preamble(self, header_line: int) -> Mapping[str, str]:
        """``key → value`` of the lines above the header: ``Key: value`` or ``Key,value``
        (keys compared by ``normal``; the first of a repeated key counts)."""
        found: dict[str, str] = {}
        for number, line in self.lines:
            if number >= header_line:
                break
            cells = [c for c in _split(line, _delimiter(line, number), number) if c]
            if len(cells) >= 2:  # "Key,value" or "Key:,value"
                key, value = cells[0], cells[1]
            elif ":" in line:  # "Key: value" (the value may hold colons: 00:10:00)
                key, _, value = line.partition(":")
            else:
                continue
            found.setdefault(normal(key).rstrip(":").strip(), value.strip().strip('"').strip())
        return found

    def first_lines(self, count: int = 3) -> list[str]:
        return [line.strip()[:80] for _, line in self.lines[:count]]


def preamble_value(preamble: Mapping[str, str], keys: tuple[str, ...]) -> str | None:
    """The first non-empty value under one of ``keys``."""
    for key in keys:
        value = preamble.get(key)
        if value:
            return value
    return None
