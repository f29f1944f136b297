"""Cold-chain exposure of a lot: its custody timeline joined with each location's
temperature series → min/max/mean, Mean Kinetic Temperature, time out of range,
excursions, and a status judged against the product's profile.

The math is pure (``mkt.mean_kinetic_temperature``, ``judge``, ``exposure_over``: the same
function the lot page's claims and ``tracehub verify``'s recomputation from the sealed
readings run, each stay judged against its own ``Band``); the series comes through the
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

from collections.abc import Callable, Sequence
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


class Band(BaseModel):
    """The profile a stay is judged against: the product's allowed band, budget and MKT
    limit, as one master-data version states them (``version`` None: the records' row)."""

    model_config = ConfigDict(frozen=True)

    temp_min_c: float | None
    temp_max_c: float | None
    excursion_budget_min: float | None
    mkt_limit_c: float | None
    version: int | None = None

    @classmethod
    def of(cls, product: Product, version: int | None = None) -> Band:
        return cls(
            temp_min_c=product.temp_min_c,
            temp_max_c=product.temp_max_c,
            excursion_budget_min=product.excursion_budget_min,
            mkt_limit_c=product.mkt_limit_c,
            version=version,
        )


def strictest(bands: Sequence[Band]) -> Band:
    """The budget and MKT limit a whole journey is judged against when its stays fall
    under different versions: the strictest of them, so a version loosening the
    budget late in the journey cannot excuse minutes spent under a stricter one."""
    budgets = [b.excursion_budget_min or 0.0 for b in bands]
    limits = [b.mkt_limit_c for b in bands if b.mkt_limit_c is not None]
    first = bands[0] if bands else None
    return Band(
        temp_min_c=first.temp_min_c if first else None,
        temp_max_c=first.temp_max_c if first else None,
        excursion_budget_min=min(budgets) if budgets else None,
        mkt_limit_c=min(limits) if limits else None,
        version=first.version if first and len({b.version for b in bands}) == 1 else None,
    )


class StayBand(BaseModel):
    """One stay and the band its readings were judged against."""

    model_config = ConfigDict(frozen=True)

    location: str
    start: datetime
    end: datetime
    band: Band


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
    # The stays with the band each was judged against, and the budget / MKT limit the
    # whole journey was (``strictest``); empty / None for an exposure built elsewhere.
    stays: tuple[StayBand, ...] = ()
    limits: Band | None = None


def judge(
    product: Product | Band, mkt_c: float | None, minutes_out: float
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


def raw_buckets(
    points: Sequence[tuple[int, float]], width: timedelta, low: float | None, high: float | None
) -> list[Bucket]:
    """Raw ``(ns, celsius)`` readings as ``width`` buckets aligned to the epoch, as
    InfluxDB's ``GROUP BY time`` cuts them, each carrying its readings."""
    step = int(width.total_seconds() * 1_000_000_000)
    grouped: dict[int, list[tuple[int, float]]] = {}
    for ns, celsius in points:
        grouped.setdefault(ns - ns % step, []).append((ns, celsius))
    buckets = []
    for start, readings in sorted(grouped.items()):
        values = [celsius for _, celsius in readings]
        out = [
            ns
            for ns, c in readings
            if (low is not None and c < low) or (high is not None and c > high)
        ]
        buckets.append(
            Bucket(
                start=_time(start),
                width=width,
                count=len(values),
                mean_c=sum(values) / len(values),
                min_c=min(values),
                max_c=max(values),
                out_of_range=len(out),
                samples=tuple(values),
                first_out=_time(min(out)) if out else None,
                last_out=_time(max(out)) if out else None,
            )
        )
    return buckets


def _time(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC)


Stay = tuple[str, datetime, datetime]  # location, arrived, left (open stays closed by the caller)


def exposure_over(
    gtin: str,
    lot: str,
    stays: Sequence[tuple[str, datetime, datetime, Band]],
    series: TemperatureSeries,
    *,
    delta_h_kj: float = DEFAULT_DELTA_H_KJ,
    bucket: timedelta = timedelta(minutes=10),
    workers: int = 1,
) -> Exposure:
    """The exposure of ``stays``, each judged against its own band (pure over ``series``):
    readings outside a stay's band count against it, the whole journey against the
    ``strictest`` budget and MKT limit of its stays."""
    samples: list[tuple[float, float]] = []
    lows: list[float] = []
    highs: list[float] = []
    out_minutes = 0.0
    found: list[Excursion] = []
    readings = 0
    ordered = sorted(stays, key=lambda s: (s[0], s[1]))

    def fetch(stay: tuple[str, datetime, datetime, Band]) -> list[Bucket]:
        location, start, end, band = stay
        return series.buckets(location, start, end, band.temp_min_c, band.temp_max_c, bucket)

    # Stays are independent queries: run them side by side (the adapter's HTTP client
    # is thread-safe, and InfluxDB answers several queries at once on its cores).
    if len(ordered) > 1 and workers > 1:
        with ThreadPoolExecutor(min(workers, len(ordered))) as pool:
            fetched = list(pool.map(fetch, ordered))
    else:
        fetched = [fetch(stay) for stay in ordered]
    for (location, _, _, band), buckets in zip(ordered, fetched, strict=True):
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
        found.extend(excursions(location, buckets, band.temp_min_c))
    mkt = mean_kinetic_temperature(samples, delta_h_kj) if samples else None
    mean = sum(c * w for c, w in samples) / readings if readings else None
    limits = strictest([band for *_, band in ordered])
    status, reasons = judge(limits, mkt, out_minutes)
    return Exposure(
        gtin=gtin,
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
        locations=tuple(sorted({s[0] for s in ordered})),
        stays=tuple(
            StayBand(location=loc, start=start, end=end, band=band)
            for loc, start, end, band in sorted(ordered, key=lambda s: (s[1], s[0]))
        ),
        limits=limits,
    )


# The band each stay is judged against, by location and arrival (default: the records' row).
BandAt = Callable[[str, datetime], Band]


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
        return exposure_over(
            product.gtin, lot, stays, self._series,
            delta_h_kj=self._delta_h, bucket=self._bucket, workers=self._workers,
        )  # fmt: skip
