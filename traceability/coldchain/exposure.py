"""Cold-chain exposure of a lot: its custody stays joined with each location's probes →
min/max/mean, Mean Kinetic Temperature, time out of range, unmonitored time, excursions,
and a status judged against the product's profile.

The math is pure (``probes.probe_exposure``, ``mkt.mean_kinetic_temperature``, ``judge``,
``exposure_over``: the same function the lot page's claims and ``tracehub verify``'s
recomputation from the sealed readings run, each stay judged against its own ``Band``).
Each reading holds until its probe's next one, at most ``max_hold`` (default 15 min;
longer is unmonitored), clipped to the stay: minutes out of range are exact at the
stay's edges and MKT is time-weighted (see ``probes``). The probes (InfluxDB tag
``device``) at one place are judged one at a time, never averaged: per stay, the probe
whose out-of-range spans alone spend the stay's budget worst (``_worst``: exhausted, then
beyond every step, then the least share left; then the most minutes out, then the
highest MKT) is the stay's, and the journey's minutes, MKT, mean, out-of-range spans and
excursions are those of each stay's worst probe; min/max are over every probe. The series
comes through the ``TemperatureSeries`` port (``probes`` for the exposure; ``buckets`` for
the chart); the InfluxDB adapter (``traceability.coldchain.telemetry``) summarises quiet
stretches and fetches raw readings where anything happens. Stays are fetched concurrently.
With ``calibrations``, each stay's reading probes carry their calibration over the stay
(``with_calibration``: ``traceability.calibration.status``, overdue or unknown is flagged).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict

from traceability.calibration.record import Calibration
from traceability.calibration.status import StayCalibration, stays_calibration
from traceability.coldchain.band import Band, strictest
from traceability.coldchain.buckets import Bucket, raw_buckets
from traceability.coldchain.budget import (
    BudgetUse,
    StabilityBudget,
    consume,
    lump,
    spend,
    verdict,
)
from traceability.coldchain.mkt import DEFAULT_DELTA_H_KJ, mean_kinetic_temperature
from traceability.coldchain.probes import OutSpan, ProbeExposure, ProbeSeries, probe_exposure
from traceability.custody import CustodyService
from traceability.errors import RecordNotFound
from traceability.records.store import Product, RecordStore

Status = Literal["ok", "at_risk", "compromised"]
# MKT within this margin below the limit is "at risk".
MKT_MARGIN_C = 0.5
# How long a reading speaks for its place when the probe goes quiet (then: unmonitored).
DEFAULT_MAX_HOLD = timedelta(minutes=15)


class TemperatureSeries(Protocol):
    def buckets(
        self,
        location: str,
        start: datetime,
        end: datetime,
        low: float | None,
        high: float | None,
        width: timedelta,
    ) -> list[Bucket]:
        """Aggregated readings at ``location`` in ``[start, end)``, oldest first (the chart)."""
        ...

    def probes(
        self,
        location: str,
        start: datetime,
        end: datetime,
        low: float | None,
        high: float | None,
        max_hold: timedelta,
    ) -> list[ProbeSeries]:
        """Each probe's readings at ``location`` over ``[start, end)`` (``probes``'s rules:
        raw wherever a reading is outside ``[low, high]``, with the reading before)."""
        ...


class StayBand(BaseModel):
    """One stay and the band its readings were judged against."""

    model_config = ConfigDict(frozen=True)

    location: str
    start: datetime
    end: datetime
    band: Band


class Excursion(BaseModel):
    """Contiguous out-of-range held intervals of one probe on one side of the band."""

    model_config = ConfigDict(frozen=True)

    location: str
    start: datetime
    end: datetime
    peak_c: float
    minutes: float
    device: str | None = None  # the probe that read it


class StayProbes(BaseModel):
    """One stay's probes, each judged alone; ``device`` is the worst (the stay's)."""

    model_config = ConfigDict(frozen=True)

    location: str
    start: datetime
    end: datetime
    device: str | None
    probes: tuple[ProbeExposure, ...]  # without their weights
    # Each reading probe's calibration over the stay (``with_calibration``; empty: not asked).
    calibration: tuple[StayCalibration, ...] = ()


class Exposure(BaseModel):
    """``readings``, ``min_c``/``max_c``: every probe's; ``mean_c``, ``mkt_c`` (both
    time-weighted), ``minutes_out_of_range``, ``excursions``, ``out_spans`` and
    ``unmonitored_min``: those of each stay's worst probe (``stay_probes``)."""

    model_config = ConfigDict(frozen=True)

    gtin: str
    lot: str
    readings: int
    min_c: float | None
    max_c: float | None
    mean_c: float | None
    mkt_c: float | None
    minutes_out_of_range: float
    excursions: tuple[Excursion, ...]
    status: Status
    reasons: tuple[str, ...]
    locations: tuple[str, ...]
    # The stays with the band each was judged against, and the budget / MKT limit the
    # whole journey was (``strictest``); empty / None for an exposure built elsewhere.
    stays: tuple[StayBand, ...] = ()
    limits: Band | None = None
    # The worst probe's out-of-range held intervals of each stay, time order (their
    # minutes sum to ``minutes_out_of_range``), and its unmonitored minutes.
    out_spans: tuple[OutSpan, ...] = ()
    unmonitored_min: float = 0.0
    stay_probes: tuple[StayProbes, ...] = ()
    # The stability budget spent by ``out_spans`` (the worst over the stays' versions,
    # ``budget.spend``); None: no version has a budget.
    budget: BudgetUse | None = None


def judge(
    product: Product | Band,
    mkt_c: float | None,
    minutes_out: float,
    use: BudgetUse | None = None,
) -> tuple[Status, tuple[str, ...]]:
    """ok / at_risk / compromised against the budget spent (``use``: compromised when
    exhausted, at_risk when any allowance is used) and the MKT limit. Without ``use``,
    ``minutes_out`` against ``excursion_budget_min`` as one allowance (none on record:
    no time out of range is allowed)."""
    if use is None:
        use = lump(product.excursion_budget_min or 0.0, minutes_out)
    status, found = verdict(use)
    reasons = list(found)
    if mkt_c is not None and product.mkt_limit_c is not None:
        if mkt_c > product.mkt_limit_c:
            status = "compromised"
            reasons.append(f"MKT {mkt_c:.2f} °C is above the limit {product.mkt_limit_c} °C")
        elif mkt_c > product.mkt_limit_c - MKT_MARGIN_C and status == "ok":
            status = "at_risk"
            reasons.append(f"MKT {mkt_c:.2f} °C is close to the limit {product.mkt_limit_c} °C")
    return status, tuple(reasons)


def excursions(spans: Sequence[OutSpan]) -> list[Excursion]:
    """Runs of contiguous out-of-range spans of one probe on one side, time order."""
    found: list[Excursion] = []
    run: list[OutSpan] = []
    for span in [*sorted(spans, key=lambda s: (s.location, s.device or "", s.start)), None]:
        if run and (
            span is None
            or (span.location, span.device, span.side, span.start)
            != (run[-1].location, run[-1].device, run[-1].side, run[-1].end)
        ):
            peak = (max if run[0].side == "above" else min)(s.celsius for s in run)
            found.append(
                Excursion(
                    location=run[0].location,
                    start=run[0].start,
                    end=run[-1].end,
                    peak_c=peak,
                    minutes=sum(s.minutes for s in run),
                    device=run[0].device,
                )
            )
            run = []
        if span is not None:
            run.append(span)
    return sorted(found, key=lambda e: (e.start, e.location))


Stay = tuple[str, datetime, datetime]  # location, arrived, left (open stays closed by the caller)


def _worst(found: Sequence[ProbeExposure], budget: StabilityBudget | None) -> ProbeExposure | None:
    """The probe a stay is judged by: the one whose out spans, charged alone against the
    stay's ``budget``, spend it worst (exhausted, then the most minutes beyond every step,
    then the least share left), so a short hot excursion that alone compromises the lot
    is not hidden behind a longer mild one; then the most minutes out, then the highest
    MKT (without a budget: minutes out, then MKT)."""

    def badness(probe: ProbeExposure) -> tuple[float, ...]:
        spread = (round(probe.minutes_out, 9), -math.inf if probe.mkt_c is None else probe.mkt_c)
        if budget is None:
            return spread
        use = consume(budget, probe.out_spans)
        return (use.exhausted, round(use.beyond_min, 9), -round(use.share_left, 9), *spread)

    return max(found, key=badness, default=None)


def exposure_over(
    gtin: str,
    lot: str,
    stays: Sequence[tuple[str, datetime, datetime, Band]],
    series: TemperatureSeries,
    *,
    delta_h_kj: float = DEFAULT_DELTA_H_KJ,
    max_hold: timedelta = DEFAULT_MAX_HOLD,
    workers: int = 1,
) -> Exposure:
    """The exposure of ``stays``, each judged against its own band (pure over ``series``):
    readings outside a stay's band count against it, the whole journey against the
    ``strictest`` budget and MKT limit of its stays."""
    ordered = sorted(stays, key=lambda s: (s[0], s[1]))

    def judged(stay: tuple[str, datetime, datetime, Band]) -> list[ProbeExposure]:
        location, start, end, band = stay
        low, high = band.temp_min_c, band.temp_max_c
        return [
            probe_exposure(location, one, start, end, low, high, max_hold, delta_h_kj)
            for one in series.probes(location, start, end, low, high, max_hold)
        ]

    # Stays are independent queries: run them side by side (the adapter's HTTP client
    # is thread-safe, and InfluxDB answers several queries at once on its cores).
    if len(ordered) > 1 and workers > 1:
        with ThreadPoolExecutor(min(workers, len(ordered))) as pool:
            fetched = list(pool.map(judged, ordered))
    else:
        fetched = [judged(stay) for stay in ordered]
    weights: list[tuple[float, float]] = []
    spans: list[OutSpan] = []
    per_stay: list[StayProbes] = []
    lows = [p.min_c for found in fetched for p in found if p.min_c is not None]
    highs = [p.max_c for found in fetched for p in found if p.max_c is not None]
    unmonitored = 0.0
    for (location, start, end, band), found in zip(ordered, fetched, strict=True):
        worst = _worst(found, StabilityBudget.of_product(band))
        if worst is None:
            unmonitored += max(0.0, (end - start).total_seconds() / 60)
        else:
            weights.extend(worst.weights)
            spans.extend(worst.out_spans)
            unmonitored += worst.unmonitored_min
        per_stay.append(
            StayProbes(
                location=location,
                start=start,
                end=end,
                device=worst.device if worst else None,
                probes=tuple(p.model_copy(update={"weights": ()}) for p in found),
            )
        )
    spans.sort(key=lambda s: (s.start, s.location))
    total = sum(w for _, w in weights)
    mkt = mean_kinetic_temperature(weights, delta_h_kj) if total > 0 else None
    out_minutes = sum(s.minutes for s in spans)
    limits = strictest([band for *_, band in ordered])
    # Charged against each version's budget, the worst kept (``budget.spend``).
    use = spend([StabilityBudget.of_product(band) for *_, band in ordered], spans)
    status, reasons = judge(limits, mkt, out_minutes, use)
    return Exposure(
        gtin=gtin,
        lot=lot,
        readings=sum(p.readings for found in fetched for p in found),
        min_c=min(lows) if lows else None,
        max_c=max(highs) if highs else None,
        mean_c=sum(c * w for c, w in weights) / total if total > 0 else None,
        mkt_c=mkt,
        minutes_out_of_range=out_minutes,
        excursions=tuple(excursions(spans)),
        status=status,
        reasons=reasons,
        locations=tuple(sorted({s[0] for s in ordered})),
        stays=tuple(
            StayBand(location=loc, start=start, end=end, band=band)
            for loc, start, end, band in sorted(ordered, key=lambda s: (s[1], s[0]))
        ),
        limits=limits,
        out_spans=tuple(spans),
        unmonitored_min=unmonitored,
        stay_probes=tuple(sorted(per_stay, key=lambda s: (s.start, s.location))),
        budget=use,
    )


def with_calibration(found: Exposure, records: Sequence[Calibration]) -> Exposure:
    """``found`` with each stay's reading probes' calibration (numbers unchanged)."""
    stays = [(s.location, s.start, s.end, [p.device for p in s.probes if p.device and p.readings])
             for s in found.stay_probes]  # fmt: skip
    flags = stays_calibration(stays, records)
    flagged = [s.model_copy(update={"calibration": flags[(s.location, s.start)]})
               for s in found.stay_probes]  # fmt: skip
    return found.model_copy(update={"stay_probes": tuple(flagged)})


# The band each stay is judged against, by location and arrival (default: the records' row).
BandAt = Callable[[str, datetime], Band]


class ExposureService:
    def __init__(
        self,
        store: RecordStore,
        series: TemperatureSeries,
        *,
        delta_h_kj: float = DEFAULT_DELTA_H_KJ,
        max_hold: timedelta = DEFAULT_MAX_HOLD,
        now: datetime | None = None,
        workers: int = 4,
        calibrations: Callable[[Sequence[str]], Sequence[Calibration]] | None = None,
    ) -> None:
        """``max_hold``: how long a reading holds when its probe goes quiet (longer:
        unmonitored); ``workers``: how many stays' series are fetched at once;
        ``calibrations``: the signed records of the probes named (flags each stay)."""
        if max_hold <= timedelta(0):
            raise ValueError(f"max_hold {max_hold}: must be positive")
        self._workers = workers
        self._store = store
        self._custody = CustodyService(store)
        self._series = series
        self._delta_h = delta_h_kj
        self._max_hold = max_hold
        self._now = now
        self._calibrations = calibrations

    @property
    def max_hold(self) -> timedelta:
        return self._max_hold

    @property
    def calibrations(self) -> Callable[[Sequence[str]], Sequence[Calibration]] | None:
        return self._calibrations

    def exposure(
        self,
        gtin: str,
        lot: str,
        until: datetime | None = None,
        band_at: BandAt | None = None,
    ) -> Exposure:
        """Join the lot's stays with each location's readings; ``until`` closes open stays;
        ``band_at``: the band of each stay (default: the product's current row)."""
        product = self._store.get_product(gtin)
        if product is None:
            raise RecordNotFound(f"product {gtin} is unknown; add it before asking for exposure")
        timeline = self._custody.lot_timeline(product.gtin, lot)
        end_default = until or self._now or datetime.now(UTC)
        current = Band.of(product)
        stays = [
            (location, start, end or end_default, band_at(location, start) if band_at else current)
            for location, spans in sorted(timeline.locations().items())
            for start, end in spans
        ]
        found = exposure_over(
            product.gtin, lot, stays, self._series,
            delta_h_kj=self._delta_h, max_hold=self._max_hold, workers=self._workers,
        )  # fmt: skip
        if self._calibrations is None:
            return found
        probes = {p.device for s in found.stay_probes for p in s.probes if p.device}
        return with_calibration(found, self._calibrations(sorted(probes)))


__all__ = [
    "DEFAULT_MAX_HOLD", "Band", "BandAt", "Bucket", "Excursion", "Exposure", "ExposureService",
    "OutSpan", "ProbeExposure", "ProbeSeries", "StayBand", "StayProbes", "TemperatureSeries",
    "excursions", "exposure_over", "judge", "raw_buckets", "strictest", "with_calibration",
]  # fmt: skip
