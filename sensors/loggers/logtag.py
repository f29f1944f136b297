"""LogTag-style exports (LogTag Analyzer's CSV): a preamble of ``Key: value`` lines
(product, serial number, logging interval, time zone, date format...), then a table of
separate Date, Time and Temperature columns."""

from __future__ import annotations

from sensors.loggers.columns import Columns, first, temperature_index
from sensors.loggers.table import Row

NAME = "logtag"
SHAPE = "a preamble, then a Date,Time,Temperature (°C|°F) header"


def header(row: Row, position: int) -> Columns | None:
    date, time = first(row.cells, ("date",)), first(row.cells, ("time",))
    temperature = temperature_index(row.cells)
    if date is None or time is None or temperature is None:
        return None
    return Columns(row.line, time, temperature, row.cells[temperature], date=date)
