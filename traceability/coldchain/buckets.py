"""Temperature buckets: a location's readings aggregated over ``[start, start + width)``,
what the lot page's chart draws (``TemperatureSeries.buckets``). Pure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict


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
    # mean to stand for its readings); empty when the mean stands for them.
    samples: tuple[float, ...] = ()
    # When the first and the last out-of-range reading were taken (raw buckets only), so
    # an excursion is dated by its readings, not by the bucket grid around them.
    first_out: datetime | None = None
    last_out: datetime | None = None


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
