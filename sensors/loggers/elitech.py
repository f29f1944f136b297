"""Elitech/Tempmate-style exports (RC-5, RC-4, Tempmate.-S1 CSV): a header block of
``Key,value`` rows (device, serial number, time zone, logging interval, start time...),
then a table numbered by the logger: ``No.,Time,Temperature(°C)``."""

from __future__ import annotations

from sensors.loggers.columns import NUMBER_NAMES, TIMESTAMP_NAMES, Columns, first, temperature_index
from sensors.loggers.table import Row

NAME = "elitech"
SHAPE = "a header block, then a No.,Time,Temperature(°C|°F) header"


def header(row: Row, position: int) -> Columns | None:
    number = first(row.cells, NUMBER_NAMES)
    if number != 0:
        return None
    time = first(row.cells, TIMESTAMP_NAMES)
    temperature = temperature_index(row.cells)
    if time is None or temperature is None:
        return None
    return Columns(row.line, time, temperature, row.cells[temperature], number=number)
