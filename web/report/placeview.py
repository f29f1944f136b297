"""The temperature report of a storage place over a period, as data (GDP 9.2 / WHO TRS
961 Annex 9: records per storage area), rendered by ``web.report.placedocument``."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from traceability.anchoring.proofs import AnchoredBatch
from traceability.anchoring.seals import WindowStatus
from web.chart import ChartBucket
from web.report.view import ProbeLine


class PlaceLot(BaseModel):
    """A lot that was at the place during the period."""

    model_config = ConfigDict(frozen=True)

    gtin: str
    lot: str
    product: str


class PlaceIncident(BaseModel):
    """An incident at the place during the period, from its signed steps."""

    model_config = ConfigDict(frozen=True)

    incident: str
    started: datetime | None
    ongoing: bool
    valid: bool  # False: a step record was altered or the lifecycle does not hold
    anchored: bool
    dispositions: tuple[str, ...]  # "release of 0401…/L1 by qa (quality)"


class PlaceExcursion(BaseModel):
    model_config = ConfigDict(frozen=True)

    start: datetime
    end: datetime
    minutes: float
    peak_c: float
    device: str | None


class PlaceReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    site: str
    urn: str
    name: str | None
    start: datetime
    end: datetime
    band_min_c: float | None
    band_max_c: float | None
    band_source: str  # where the band comes from, in words
    readings: int
    min_c: float | None
    max_c: float | None
    mean_c: float | None
    mkt_c: float | None
    minutes_out: float
    unmonitored_min: float
    excursions: tuple[PlaceExcursion, ...]
    chart: tuple[ChartBucket, ...]
    probes: tuple[ProbeLine, ...]
    lots: tuple[PlaceLot, ...]
    incidents: tuple[PlaceIncident, ...]
    windows: WindowStatus
    batches: tuple[AnchoredBatch, ...]  # the anchored batches of the period's seals
    generated_at: datetime
