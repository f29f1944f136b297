"""Reading an export: find its table, name its family (or refuse), build the readings.

``read_export(content)`` looks for every family's header on every line. Exactly one
header found: that family. None: the file is refused, naming the shapes looked for and
the file's first lines. Headers of two families, or two tables: refused as ambiguous,
naming the lines. ``family=`` (``--format``) skips the detection but the file must
still have that family's header.

Rows after the header become readings; a row that is not one (a sensor error "--", a
footer line) is kept as ``Unreadable`` with its line and reason, never dropped silently.
"""

from __future__ import annotations

import math
from types import ModuleType

from sensors.loggers import elitech, generic, logtag
from sensors.loggers.columns import Columns
from sensors.loggers.errors import LoggerFileError
from sensors.loggers.export import Family, LoggedReading, LoggerExport, Unreadable
from sensors.loggers.table import MAX_BYTES, Table, decode_text, file_too_big, preamble_value
from sensors.loggers.times import (
    DateOrder,
    date_order_of,
    inferred_interval,
    local_time,
    parse_interval,
    resolve_zone,
)
from sensors.loggers.units import resolve_unit, to_celsius, unit_of_header

FAMILIES: dict[str, ModuleType] = {m.NAME: m for m in (generic, logtag, elitech)}
SERIAL_KEYS = ("serial number", "serial no.", "serial no", "serial", "sn", "s/n", "device sn")
ZONE_KEYS = ("time zone", "timezone", "tz", "time zone offset")
INTERVAL_KEYS = ("logging interval", "log interval", "record interval", "interval",
                 "sampling interval", "measurement interval")  # fmt: skip
UNIT_KEYS = ("temperature unit", "temp unit", "unit", "units")
DATE_FORMAT_KEYS = ("date format",)


def detect(table: Table, family: str | None = None) -> tuple[str, Columns]:
    """The family and header of ``table``; ``family`` given: only that one is looked for."""
    wanted = FAMILIES if family is None else {family: FAMILIES[family]}
    found: list[tuple[str, Columns]] = []
    for position, row in enumerate(table.rows()):
        for name, module in wanted.items():
            columns = module.header(row, position)
            if columns is not None:
                found.append((name, columns))
    if len(found) == 1:
        return found[0]
    if not found:
        shapes = "; ".join(f"{m.NAME}: {m.SHAPE}" for m in wanted.values())
        seen = " | ".join(table.first_lines()) or "(no text)"
        what = "known logger" if family is None else family
        raise LoggerFileError(
            f"no {what} table found (looked for {shapes}); the file begins: {seen}"
        )
    headers = ", ".join(f"{name} header on line {c.line}" for name, c in found)
    raise LoggerFileError(
        f"the file is ambiguous: {headers}; export one table per file, or give --format"
    )


def _number(cell: str, delimiter: str) -> float:
    text = cell.strip()
    if delimiter == ";" and text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")  # a decimal comma, in a ;-separated export
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"temperature {cell!r} is not a number")
    return value


def read_export(
    content: bytes,
    *,
    family: str | None = None,
    tz: str | None = None,
    unit: str | None = None,
    date_order: DateOrder | None = None,
) -> LoggerExport:
    """The readings of one export. Raises ``LoggerFileError`` for what makes the whole file
    unreadable as stated (format, unit, time zone, no readings), naming the fix."""
    if family is not None and family not in FAMILIES:
        raise LoggerFileError(f"format {family!r} is unknown: use one of {', '.join(FAMILIES)}")
    if len(content) > MAX_BYTES:
        raise LoggerFileError(file_too_big(len(content)))
    table = Table(decode_text(content))
    name, columns = detect(table, family)
    preamble = table.preamble(columns.line)
    resolved_unit = resolve_unit(
        unit_of_header(columns.header), preamble_value(preamble, UNIT_KEYS), unit
    )
    zone = resolve_zone(preamble_value(preamble, ZONE_KEYS), tz)
    order = date_order or date_order_of(preamble_value(preamble, DATE_FORMAT_KEYS))
    delimiter, rows = table.data(columns.line)
    readings: list[LoggedReading] = []
    unreadable: list[Unreadable] = []
    needed = max(i for i in (columns.time, columns.temperature, columns.date) if i is not None)
    for row in rows:
        if len(row.cells) <= needed:
            unreadable.append(Unreadable(line=row.line, reason=f"not a reading: {row.text[:60]}"))
            continue
        try:
            date = None if columns.date is None else row.cells[columns.date]
            ts = local_time(date, row.cells[columns.time], zone and zone[0], order)
            value = _number(row.cells[columns.temperature], delimiter)
        except ValueError as exc:
            if isinstance(exc, LoggerFileError):
                raise
            unreadable.append(Unreadable(line=row.line, reason=str(exc)))
            continue
        celsius = to_celsius(value, resolved_unit)
        readings.append(LoggedReading(ts=ts, celsius=celsius, line=row.line))
    if not readings:
        raise LoggerFileError(
            f"the {name} table on line {columns.line} has no readings"
            + (f" (line {unreadable[0].line}: {unreadable[0].reason})" if unreadable else "")
        )
    interval = parse_interval(preamble_value(preamble, INTERVAL_KEYS))
    typed: Family = name  # type: ignore[assignment]
    return LoggerExport(
        family=typed,
        unit=resolved_unit,
        time_zone=zone[1] if zone else None,
        serial=preamble_value(preamble, SERIAL_KEYS),
        interval_s=interval or inferred_interval([r.ts for r in readings]),
        readings=tuple(readings),
        unreadable=tuple(unreadable),
    )
