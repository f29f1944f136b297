"""Cold-chain exposure of a lot: its custody timeline joined with each location's
temperature series → min/max/mean, Mean Kinetic Temperature, time out of range,
excursions, and a status judged against the product's profile.

The math is pure (``mkt.mean_kinetic_temperature``, ``judge``); the series comes through the
``TemperatureSeries`` port as buckets of readings. The InfluxDB adapter
(``traceability.coldchain.telemetry``) keeps quiet stretches as coarse InfluxQL buckets (a day, an
hour: count/mean/min/max) and fetches raw points only where the temperature crosses
the band or moves more than 0.5 °C within a bucket; those become ``bucket``-wide buckets
that carry their readings. MKT uses a bucket's readings when it has them, else its mean
weighted by its count (bounded error below 0.005 °C, see ``InfluxTemperatureReader.
buckets``); out-of-range minutes and excursions always come from raw readings. Stays are
fetched concurrently.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict

from traceability.coldchain.mkt import DEFAULT_DELTA_H_KJ, mean_kinetic_temperature
from traceability.custody import CustodyService
from traceability.errors import RecordNotFound
from traceability.records.store import Product, RecordStore

Status = Literal["ok", "at_risk", "compromised"]
# MKT within this margin below the limit is "at risk".
MKT_MARGIN_C = 0.5


class Bucket(BaseModel):
    """Readings at one location in ``[start, start + width)``."""

    model_config = ConfigDict(frozen=True)

    start: datetime
    width: timedelta
    count: int
    mean_c: float
    min_c: float
    max_c: float
    out_of_range: int  # readings outside the product's band
    # The raw readings, when the adapter fetched them (a bucket too spread out for its
    # mean to stand for its readings in the MKT); empty when the mean stands for them.
    samples: tuple[float, ...] = ()
    # When the first and the last out-of-range reading were taken (raw buckets only), so
    # an excursion is dated by its readings, not by the bucket grid around them.
    first_out: datetime | None = None
    last_out: datetime | None = None


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
        """Aggregated readings at ``location`` in ``[start, end)``, oldest first."""
        ...


class Excursion(BaseModel):
    model_config = ConfigDict(frozen=True)

    location: str
    start: datetime
    end: datetime
    peak_c: float
    minutes: float


class Exposure(BaseModel):
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


def judge(
    product: Product, mkt_c: float | None, minutes_out: float
) -> tuple[Status, tuple[str, ...]]:
    """ok / at_risk / compromised against the product's budget and MKT limit."""
    reasons: list[str] = []
    status: Status = "ok"
    # No budget on record: no time out of range is allowed.
    budget = product.excursion_budget_min or 0.0
    if minutes_out > 0:
        if minutes_out > budget:
            status = "compromised"
            reasons.append(
                f"{minutes_out:.0f} min out of range exceeds the budget of {budget:.0f} min"
            )
        else:
            status = "at_risk"
            reasons.append(f"{minutes_out:.0f} min out of range (within budget)")
    if mkt_c is not None and product.mkt_limit_c is not None:
        if mkt_c > product.mkt_limit_c:
            status = "compromised"
            reasons.append(f"MKT {mkt_c:.2f} °C is above the limit {product.mkt_limit_c} °C")
        elif mkt_c > product.mkt_limit_c - MKT_MARGIN_C and status == "ok":
            status = "at_risk"
            reasons.append(f"MKT {mkt_c:.2f} °C is close to the limit {product.mkt_limit_c} °C")
    return status, tuple(reasons)


def excursions(location: str, buckets: Sequence[Bucket], low: float | None) -> list[Excursion]:
    """Runs of consecutive buckets holding out-of-range readings."""
    found: list[Excursion] = []
    run: list[Bucket] = []
    for bucket in [*buckets, None]:
        if bucket is not None and bucket.out_of_range > 0:
            if run and bucket.start > run[-1].start + run[-1].width:
                found.append(_excursion(location, run, low))
                run = []
            run.append(bucket)
            continue
        if run:
            found.append(_excursion(location, run, low))
            run = []
    return found


def _excursion(location: str, run: Sequence[Bucket], low: float | None) -> Excursion:
    too_cold = low is not None and min(b.min_c for b in run) < low
    peak = min(b.min_c for b in run) if too_cold else max(b.max_c for b in run)
    minutes = sum(_out_minutes(b) for b in run)
    return Excursion(
        location=location,
        start=run[0].first_out or run[0].start,
        end=run[-1].last_out or run[-1].start + run[-1].width,
        peak_c=peak,
        minutes=minutes,
    )


def _out_minutes(bucket: Bucket) -> float:
    if bucket.count == 0:
        return 0.0
    return bucket.out_of_range / bucket.count * bucket.width.total_seconds() / 60


class ExposureService:
    def __init__(
        self,
        store: RecordStore,
        series: TemperatureSeries,
        *,
        delta_h_kj: float = DEFAULT_DELTA_H_KJ,
        bucket: timedelta = timedelta(minutes=10),
        now: datetime | None = None,
        workers: int = 4,
    ) -> None:
        """``workers``: how many stays' series are fetched at once (1 = one by one)."""
        self._workers = workers
        self._store = store
        self._custody = CustodyService(store)
        self._series = series
        self._delta_h = delta_h_kj
        self._bucket = bucket
        self._now = now

    def exposure(self, gtin: str, lot: str, until: datetime | None = None) -> Exposure:
        """Join the lot's stays with each location's readings; ``until`` closes open stays."""
        product = self._store.get_product(gtin)
        if product is None:
            raise RecordNotFound(f"product {gtin} is unknown; add it before asking for exposure")
        timeline = self._custody.lot_timeline(product.gtin, lot)
        end_default = until or self._now or datetime.now(UTC)
        samples: list[tuple[float, float]] = []
        lows: list[float] = []
        highs: list[float] = []
        out_minutes = 0.0
        found: list[Excursion] = []
        readings = 0
        stays = [
            (location, start, end or end_default)
            for location, spans in sorted(timeline.locations().items())
            for start, end in spans
        ]

        def fetch(stay: tuple[str, datetime, datetime]) -> list[Bucket]:
            return self._series.buckets(
                stay[0], stay[1], stay[2], product.temp_min_c, product.temp_max_c, self._bucket
            )

        # Stays are independent queries: run them side by side (the adapter's HTTP client
        # is thread-safe, and InfluxDB answers several queries at once on its cores).
        if len(stays) > 1 and self._workers > 1:
            with ThreadPoolExecutor(min(self._workers, len(stays))) as pool:
                fetched = list(pool.map(fetch, stays))
        else:
            fetched = [fetch(stay) for stay in stays]
        for (location, _, _), buckets in zip(stays, fetched, strict=True):
            for b in buckets:
                if b.count:
                    if b.samples:
                        samples.extend((c, 1.0) for c in b.samples)
                    else:
                        samples.append((b.mean_c, float(b.count)))
                    lows.append(b.min_c)
                    highs.append(b.max_c)
                    readings += b.count
                    out_minutes += _out_minutes(b)
            found.extend(excursions(location, buckets, product.temp_min_c))
        mkt = mean_kinetic_temperature(samples, self._delta_h) if samples else None
        mean = sum(c * w for c, w in samples) / readings if readings else None
        status, reasons = judge(product, mkt, out_minutes)
        return Exposure(
            gtin=product.gtin,
            lot=lot,
            readings=readings,
            min_c=min(lows) if lows else None,
            max_c=max(highs) if highs else None,
            mean_c=mean,
            mkt_c=mkt,
            minutes_out_of_range=out_minutes,
            excursions=tuple(sorted(found, key=lambda e: e.start)),
            status=status,
            reasons=reasons,
            locations=tuple(sorted(timeline.locations())),
        )
