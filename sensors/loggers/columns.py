"""Where a table's columns are: what every family's header is made of."""

from __future__ import annotations

from dataclasses import dataclass

from sensors.loggers.table import normal
from sensors.loggers.units import unit_of_header

TIMESTAMP_NAMES = ("timestamp", "datetime", "date time", "date/time", "date_time", "time", "ts")
NUMBER_NAMES = ("no.", "no", "number", "record", "#", "序号")


@dataclass(frozen=True, slots=True)
class Columns:
    """The header's line and the cells' indices (``date`` None: the time cell holds both)."""

    line: int
    time: int
    temperature: int
    header: str  # the temperature column's header, for its unit
    date: int | None = None
    number: int | None = None


def is_temperature(cell: str) -> bool:
    name = normal(cell)
    return name.startswith(("temp", "温度")) or (
        unit_of_header(cell) is not None and len(name) <= 4  # a bare "°C" column
    )


def first(cells: tuple[str, ...], accept: tuple[str, ...]) -> int | None:
    """The index of the first cell whose normal form (without a bracketed suffix such as
    "(UTC)") is one of ``accept``."""
    for index, cell in enumerate(cells):
        name = normal(cell).split("(")[0].split("[")[0].strip()
        if name in accept:
            return index
    return None


def temperature_index(cells: tuple[str, ...]) -> int | None:
    return next((i for i, cell in enumerate(cells) if is_temperature(cell)), None)
