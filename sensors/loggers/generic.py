"""The generic export: the table is the file's first line on, one timestamp column and a
temperature column whose header names the unit (``timestamp,temperature_c``).

Any CSV a script or a spreadsheet wrote fits; a serial-number column or a preamble
would make it one of the other families."""

from __future__ import annotations

from sensors.loggers.columns import NUMBER_NAMES, TIMESTAMP_NAMES, Columns, first, temperature_index
from sensors.loggers.table import Row

NAME = "generic"
SHAPE = "a first line naming a timestamp column and a temperature column (timestamp,temperature_c)"


def header(row: Row, position: int) -> Columns | None:
    """This row's columns if it is a generic header (it must be the file's first line)."""
    if position != 0 or first(row.cells, NUMBER_NAMES) is not None:
        return None
    if first(row.cells, ("date",)) is not None:
        return None  # a separate date column: LogTag's shape
    time = first(row.cells, TIMESTAMP_NAMES)
    temperature = temperature_index(row.cells)
    if time is None or temperature is None:
        return None
    return Columns(row.line, time, temperature, row.cells[temperature])
