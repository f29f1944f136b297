"""What a logger export holds once read: its readings in UTC and °C, and where they came
from (family, serial, the time zone and unit the file or the user stated)."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

Family = Literal["generic", "logtag", "elitech"]
Unit = Literal["C", "F"]


class LoggedReading(BaseModel):
    """One row of the table: the instant (UTC), the temperature in °C, its file line."""

    model_config = ConfigDict(frozen=True)

    ts: AwareDatetime
    celsius: float
    line: int = Field(ge=1)


class Unreadable(BaseModel):
    """A table row that is not a reading (its line and why), reported, never dropped silently."""

    model_config = ConfigDict(frozen=True)

    line: int
    reason: str


class LoggerExport(BaseModel):
    """A whole file. ``interval_s``: the logging interval (the preamble's, else the median
    step between readings, else 60 s for a single reading); ``seq`` numbers readings by it."""

    model_config = ConfigDict(frozen=True)

    family: Family
    unit: Unit
    time_zone: str | None = None  # as stated (file or --tz); None when every time had an offset
    serial: str | None = None
    interval_s: int = Field(ge=1)
    readings: tuple[LoggedReading, ...]
    unreadable: tuple[Unreadable, ...] = ()

    def seq(self, reading: LoggedReading) -> int:
        """The reading's sequence number: which logging interval since the epoch it fell in.

        The same reading gets the same number from every file of the logger (a second
        download that still holds the first trip repeats it exactly), and a skipped
        interval shows as a gap in the sealed window."""
        return int(reading.ts.timestamp()) // self.interval_s
