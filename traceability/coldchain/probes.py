"""One probe's readings over one stay, and what they say: held intervals, pure.

A reading holds from its time until the same probe's next reading, at most ``max_hold``:
a longer silence is unmonitored time, counted neither in nor out of range. The reading
just before a stay holds into it; every held interval is clipped to the stay
``[start, end)``. So minutes out of range are the clipped held intervals of the readings
outside the band, exact to the nanosecond also at the stay's edges, whatever the
sampling rate; the MKT weighs each reading by its clipped held duration (USP <1079>'s
equal-time samples, generalised to weights).

The port hands one probe's readings as ``RawRun``s (every reading of a range, with the
reading before it and the time of the first one after it, so the held intervals at the
run's edges are exact) and ``Quiet`` stretches: a bucket the adapter summarised because
every reading in it is inside the band and they spread by at most ``max_spread_c``, with
more readings of the probe in the buckets either side. A quiet stretch is never out of
range, so minutes out of range and their spans are always exact. It enters the MKT as
its mean weighted by the time from its first reading to the next reading after it (its
last one, at most ``max_hold`` later), but at most ``count × max_hold``: a silence
inside it longer than ``max_hold`` is not seen when its readings are dense enough
elsewhere, so ``unmonitored_min`` is exact over raw readings and a lower bound over
quiet stretches. The mean is their count-weighted one: it and the time-weighted one
both lie within the bucket's [min, max], so the stretch's MKT term is off by at most its
spread (0.5 °C by default) in the worst case (sampling density that follows the
temperature), and by Jensen's gap (below 0.005 °C for 0.5 °C of spread) for regular
sampling, which is what the sealed recomputation's 0.01 °C tolerance allows for.
Nothing here reads a clock or the network.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

from traceability.coldchain.mkt import DEFAULT_DELTA_H_KJ, mean_kinetic_temperature

Side = Literal["above", "below"]
Point = tuple[int, float]  # (ns since the epoch, celsius)


class Quiet(BaseModel):
    """A summarised stretch ``[start_ns, end_ns)`` of one probe: in band, no gap over
    ``max_hold``, preceded and followed by more readings of the probe (see the doc)."""

    model_config = ConfigDict(frozen=True)

    start_ns: int
    end_ns: int
    count: int
    mean_c: float
    min_c: float
    max_c: float


class RawRun(BaseModel):
    """Every reading of one probe in ``[start_ns, end_ns)``, time order."""

    model_config = ConfigDict(frozen=True)

    start_ns: int
    end_ns: int
    readings: tuple[Point, ...]
    before: Point | None = None  # the probe's last reading before start_ns (within reach)
    next_ns: int | None = None  # when its first reading at or after end_ns was taken


class ProbeSeries(BaseModel):
    """One probe's readings at one location over one stay's window."""

    model_config = ConfigDict(frozen=True)

    device: str | None
    runs: tuple[RawRun, ...] = ()
    quiet: tuple[Quiet, ...] = ()


class OutSpan(BaseModel):
    """The held interval of one reading outside the band, clipped to the stay."""

    model_config = ConfigDict(frozen=True)

    location: str
    device: str | None
    start: datetime
    end: datetime
    celsius: float
    side: Side

    @property
    def minutes(self) -> float:
        return (self.end - self.start).total_seconds() / 60


class ProbeExposure(BaseModel):
    """What one probe says about one stay."""

    model_config = ConfigDict(frozen=True)

    location: str
    device: str | None
    readings: int
    min_c: float | None
    max_c: float | None
    mkt_c: float | None
    minutes_out: float
    unmonitored_min: float
    out_spans: tuple[OutSpan, ...] = ()
    # (celsius, held minutes) of every reading or quiet stretch: the MKT's and mean's terms.
    weights: tuple[tuple[float, float], ...] = ()


def points_series(
    points: Iterable[tuple[str | None, int, float]], start: datetime, end: datetime,
    max_hold: timedelta,
) -> list[ProbeSeries]:  # fmt: skip
    """``(device, ns, celsius)`` readings of one location as one ``RawRun`` per probe over
    ``[start, end)``: what an in-memory series (sealed readings, tests) hands the port."""
    a, b, reach = _ns(start), _ns(end), _ns_of(max_hold)
    by_device: dict[str | None, list[Point]] = defaultdict(list)
    for device, ns, celsius in points:
        by_device[device].append((ns, celsius))
    found = []
    for device, mine in sorted(by_device.items(), key=lambda kv: kv[0] or ""):
        mine.sort()
        inside = tuple(p for p in mine if a <= p[0] < b)
        earlier = [p for p in mine if a - reach <= p[0] < a]
        if not inside and not earlier:
            continue
        before = earlier[-1] if earlier else None
        found.append(
            ProbeSeries(
                device=device, runs=(RawRun(start_ns=a, end_ns=b, readings=inside, before=before),)
            )
        )
    return found


def probe_exposure(
    location: str,
    series: ProbeSeries,
    start: datetime,
    end: datetime,
    low: float | None,
    high: float | None,
    max_hold: timedelta,
    delta_h_kj: float = DEFAULT_DELTA_H_KJ,
) -> ProbeExposure:
    """The held intervals of ``series`` over the stay ``[start, end)`` (see the doc)."""
    a, b, reach = _ns(start), _ns(end), _ns_of(max_hold)
    items = _items(series)
    spans: list[OutSpan] = []
    weights: list[tuple[float, float]] = []
    lows: list[float] = []
    highs: list[float] = []
    readings = 0
    covered = 0
    for index, (first, last, celsius, count, lo, hi) in enumerate(items):
        following = items[index + 1][0] if index + 1 < len(items) else None
        stop = last + reach if following is None else min(last + reach, following)
        held_from, held_to = max(first, a), min(stop, b)
        if held_to <= held_from:
            continue
        # A quiet stretch's readings hold at most max_hold each (see the doc).
        held = min(held_to - held_from, count * reach)
        covered += held
        readings += count
        lows.append(lo)
        highs.append(hi)
        weights.append((celsius, held / 60e9))
        side: Side | None = (
            "above" if high is not None and celsius > high
            else "below" if low is not None and celsius < low
            else None
        )  # fmt: skip
        if side is not None and count == 1:
            spans.append(
                OutSpan(
                    location=location,
                    device=series.device,
                    start=_time(held_from),
                    end=_time(held_to),
                    celsius=celsius,
                    side=side,
                )
            )
    mkt = mean_kinetic_temperature(weights, delta_h_kj) if weights else None
    return ProbeExposure(
        location=location,
        device=series.device,
        readings=readings,
        min_c=min(lows) if lows else None,
        max_c=max(highs) if highs else None,
        mkt_c=mkt,
        minutes_out=sum(s.minutes for s in spans),
        unmonitored_min=max(0, b - a - covered) / 60e9,
        out_spans=tuple(spans),
        weights=tuple(weights),
    )


# (first ns, last ns, celsius, count, min, max): a reading, or a quiet stretch standing
# for its readings, from its first reading to its last.
_Item = tuple[int, int, float, int, float, float]


def _items(series: ProbeSeries) -> list[_Item]:
    """The probe's readings and quiet stretches in time order, each raw reading once."""
    quiet = sorted(series.quiet, key=lambda q: q.start_ns)
    runs = sorted(series.runs, key=lambda r: r.start_ns)

    def in_quiet(ns: int) -> bool:
        return any(q.start_ns <= ns < q.end_ns for q in quiet)

    raw: dict[int, float] = {}
    for run in runs:
        if run.before is not None and not in_quiet(run.before[0]):
            raw.setdefault(run.before[0], run.before[1])
        for ns, celsius in run.readings:
            raw[ns] = celsius
    items: list[_Item] = [(ns, ns, c, 1, c, c) for ns, c in raw.items()]
    for q in quiet:
        # Its first reading: the first after the raw run before it (exact), else the
        # stretch is taken as continuous with the quiet one before it.
        prior = [r for r in runs if r.end_ns <= q.start_ns]
        first = q.start_ns
        if (
            prior
            and prior[-1].next_ns is not None
            and not _quiet_between(quiet, prior[-1].end_ns, q.start_ns)
        ):
            first = max(q.start_ns, min(prior[-1].next_ns, q.end_ns - 1))
        # Its last reading: the reading before the raw run after it, else the stretch
        # runs into the next quiet one.
        after = [r for r in runs if r.start_ns >= q.end_ns]
        last = q.end_ns - 1
        if (
            after
            and after[0].before is not None
            and not _quiet_between(quiet, q.end_ns, after[0].start_ns)
        ):
            last = min(max(after[0].before[0], first), q.end_ns - 1)
        items.append((first, last, q.mean_c, q.count, q.min_c, q.max_c))
    items.sort(key=lambda item: item[0])
    return items


def _quiet_between(quiet: Sequence[Quiet], a: int, b: int) -> bool:
    return any(a <= q.start_ns < b for q in quiet)


def _ns(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


def _ns_of(span: timedelta) -> int:
    return int(span.total_seconds() * 1_000_000) * 1000


def _time(ns: int) -> datetime:
    return datetime.fromtimestamp(ns // 1_000_000_000, tz=UTC) + timedelta(
        microseconds=(ns % 1_000_000_000) // 1000
    )
