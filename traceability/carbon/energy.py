"""Electric energy of a cold room over a stay, from its compressor power series.

The series comes from the OPC UA gateway, which reports *changes*: a value holds
until the next one arrives. So the energy is the integral of a step function
(sample-and-hold), not of straight lines between samples (the trapezoid that
InfluxQL's ``INTEGRAL()`` draws). A value holds for at most ``max_gap``: beyond
that, the gateway or the PLC was likely down and the time counts as *not covered*.
A stay whose coverage falls below its minimum is refused (never filled with zeros).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from traceability.carbon.chain import ColdStorageStay


class PowerSample(BaseModel):
    model_config = ConfigDict(frozen=True)

    time: AwareDatetime
    kw: float = Field(ge=0, allow_inf_nan=False)


class EnergyReading(BaseModel):
    """kWh over ``[start, end)``, and how much of that window the series covered."""

    model_config = ConfigDict(frozen=True)

    start: AwareDatetime
    end: AwareDatetime
    kwh: float
    covered_s: float
    samples: int
    max_gap_s: float
    method: str = "step-hold"

    @property
    def duration_s(self) -> float:
        return (self.end - self.start).total_seconds()

    @property
    def coverage(self) -> float:
        return self.covered_s / self.duration_s if self.duration_s > 0 else 0.0


class ColdRoomPower(Protocol):
    """Where a cold room's compressor power series comes from."""

    def samples(
        self, site: str, location: str, start: datetime, end: datetime
    ) -> Sequence[PowerSample]:
        """Samples in ``[start, end)`` plus the last one before ``start`` (the value
        holding at ``start``), oldest first. Raises ``EnergyUnavailable`` when the store
        cannot answer."""
        ...


def integrate_kwh(
    samples: Iterable[PowerSample],
    start: datetime,
    end: datetime,
    max_gap: timedelta = timedelta(minutes=15),
) -> EnergyReading:
    """Step-hold integral of kW over ``[start, end)``, in kWh.

    Each sample's power holds from its time until the next sample, but for no longer
    than ``max_gap``; time not held by any sample is uncovered. Samples need not be
    sorted; those at or after ``end`` are ignored.
    """
    ordered = sorted((s for s in samples if s.time < end), key=lambda s: s.time)
    kwh = 0.0
    covered = 0.0
    for index, sample in enumerate(ordered):
        next_time = ordered[index + 1].time if index + 1 < len(ordered) else end
        hold_end = min(next_time, sample.time + max_gap, end)
        hold_start = max(sample.time, start)
        if hold_end <= hold_start:
            continue
        seconds = (hold_end - hold_start).total_seconds()
        covered += seconds
        kwh += sample.kw * seconds / 3600.0
    return EnergyReading(
        start=start,
        end=end,
        kwh=kwh,
        covered_s=covered,
        samples=len(ordered),
        max_gap_s=max_gap.total_seconds(),
    )


def measure_stays(
    stays: Iterable[ColdStorageStay], power: ColdRoomPower
) -> Mapping[str, EnergyReading]:
    """The energy reading of each stay, by stay id (the one I/O step before the pure core)."""
    readings: dict[str, EnergyReading] = {}
    for stay in stays:
        samples = power.samples(stay.site, stay.location, stay.start, stay.end)
        readings[stay.id] = integrate_kwh(
            samples, stay.start, stay.end, timedelta(seconds=stay.max_gap_s)
        )
    return readings
