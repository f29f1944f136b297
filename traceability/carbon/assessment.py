"""A lot's footprint, computed one way: its input, its stays' energy, the calculation.

``assess`` is the one path from a lot's input (``chain.LotCarbonInput``, from a
``source.CarbonInputSource``) to its ``footprint.LotFootprint``: it measures every
cold-room stay through the ``energy.ColdRoomPower`` port (a lot with stays and no power
series is refused by name, never computed without them) and runs the pure
``calculation``. ``compute_report`` adds the PACT/iLEAP report (``report``).
``tracehub carbon report``, the demo and the lot page (``lotfootprint.RecordsFootprint``)
all compute through here; ``bench.carbon`` times the pure core underneath it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from traceability.carbon.calculation import lot_footprint
from traceability.carbon.chain import LotCarbonInput
from traceability.carbon.energy import ColdRoomPower, EnergyReading, measure_stays
from traceability.carbon.errors import CarbonInputError
from traceability.carbon.factors import FactorTable, load_default_factors
from traceability.carbon.footprint import LotFootprint
from traceability.carbon.report import lot_report
from traceability.carbon.source import CarbonInputSource


def assess(
    data: LotCarbonInput,
    power: ColdRoomPower | None = None,
    factors: FactorTable | None = None,
) -> LotFootprint:
    """The lot's footprint (default factors unless ``factors``); ``CarbonError`` when an
    input, a factor or the telemetry is missing."""
    energy: dict[str, EnergyReading] = {}
    stays = data.all_stays()
    if stays:
        if power is None:
            raise CarbonInputError(
                "stays",
                f"lot {data.gtin}/{data.lot} has cold-room stays: their energy needs the "
                "compressor power series (give an InfluxDB URL)",
            )
        energy = dict(measure_stays(stays, power))
    return lot_footprint(data, factors or load_default_factors(), energy)


def compute_report(
    source: CarbonInputSource,
    gtin: str,
    lot: str,
    created: datetime,
    power: ColdRoomPower | None = None,
    factors: FactorTable | None = None,
) -> tuple[LotFootprint, dict[str, Any]]:
    """The lot's footprint and its report; ``CarbonError`` when an input is missing."""
    footprint = assess(source.lot_input(gtin, lot), power, factors)
    return footprint, lot_report(footprint, created=created)
