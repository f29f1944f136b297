"""The calibration CSV import (``tracehub calibration import FILE.csv``), parsed (pure).

UTF-8 (a spreadsheet's BOM is taken), comma-separated, one header row naming the
columns, in any order::

    probe,calibrated_on,due_on,lab,certificate_number,uncertainty_c,coverage_k,accuracy_found_c,certificate_sha256
    wh1/temperature/probe-7,2026-01-15,2027-01-15,Kalibrierlabor Nord,KN-2026-0113,0.15,2,0.05,

Required: ``probe``, ``calibrated_on``, ``due_on`` (ISO dates, YYYY-MM-DD), ``lab``,
``certificate_number``, ``uncertainty_c`` (°C, the expanded uncertainty). Optional
(blank or absent): ``coverage_k`` (default 2), ``accuracy_found_c`` (°C),
``certificate_sha256`` (64 hex digits; ``sha256sum`` of the certificate's PDF). A comma
decimal (``0,15``) is not taken in a comma-separated file: quote it or use a point.

Every row is checked before anything is written; the first bad one rejects the whole
file, naming its row (1 = the first row after the header) and the field.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError

from traceability.calibration.errors import CalibrationRejected
from traceability.calibration.record import FIELDS, Calibration

REQUIRED = ("probe", "calibrated_on", "due_on", "lab", "certificate_number", "uncertainty_c")
MAX_ROWS = 10_000
MAX_CHARS = 10 * 1024 * 1024  # 10,000 rows of far longer text than a certificate has


def parse_calibrations(text: str) -> list[Calibration]:
    """The file's records; ``CalibrationRejected`` naming the row and field of the first
    bad row (or the header), or the line the CSV itself breaks on."""
    if len(text) > MAX_CHARS:
        raise CalibrationRejected(
            f"file: {len(text)} characters, over {MAX_CHARS}: split it into smaller files"
        )
    fetched = 0  # lines handed to the csv module: the one it refuses is the last

    def lines() -> Iterator[str]:
        nonlocal fetched
        for line in io.StringIO(text.removeprefix("\ufeff"), newline=""):
            fetched += 1
            yield line

    try:
        return _parsed(csv.DictReader(lines()))
    except csv.Error as exc:
        # A field over csv.field_size_limit, a NUL...: the csv module's own refusal.
        raise CalibrationRejected(
            f"line {fetched}: not readable as CSV ({exc}); a field is at most "
            f"{csv.field_size_limit()} characters"
        ) from exc


def _parsed(reader: csv.DictReader[str]) -> list[Calibration]:
    header = [name.strip() for name in reader.fieldnames or []]
    if not header:
        raise CalibrationRejected("header: the file is empty; the first row names the columns")
    unknown = [name for name in header if name not in FIELDS]
    if unknown:
        raise CalibrationRejected(
            f"header: unknown column {unknown[0]!r}; the columns are {', '.join(FIELDS)}"
        )
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise CalibrationRejected(f"header: the column {missing[0]!r} is missing")
    reader.fieldnames = header
    found: list[Calibration] = []
    for number, row in enumerate(reader, start=1):
        if number > MAX_ROWS:
            raise CalibrationRejected(f"row {number}: at most {MAX_ROWS} rows a file")
        if None in row:
            raise CalibrationRejected(f"row {number}: more values than the header has columns")
        found.append(calibration_of(row, f"row {number}"))
    if not found:
        raise CalibrationRejected("row 1: the file has a header and no rows")
    return found


def calibration_of(raw: dict[str, Any], where: str) -> Calibration:
    """One record from text fields (blank: absent); ``CalibrationRejected`` naming
    ``where`` and the first bad field."""
    values = {
        name: value.strip()
        for name, value in raw.items()
        if isinstance(value, str) and value.strip()
    }
    for name in REQUIRED:
        if name not in values:
            raise CalibrationRejected(f"{where}: {name}: fill it in")
    if "certificate_sha256" in values:
        values["certificate_sha256"] = values["certificate_sha256"].lower()
    try:
        return Calibration.model_validate(values)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"]) or _field_of(error["msg"])
        message = error["msg"].removeprefix("Value error, ")
        if message.startswith(f"{field}: "):
            message = message[len(field) + 2 :]
        raise CalibrationRejected(f"{where}: {field}: {message}") from exc


def _field_of(message: str) -> str:
    """The field a record-wide check names first (``due_on: must be after …``)."""
    head = message.removeprefix("Value error, ").split(":", 1)[0]
    return head if head in FIELDS else "row"
