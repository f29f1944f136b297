"""Latest temperature at a location, read from InfluxDB over the v1 HTTP API (InfluxQL).

The v1 ``/query`` endpoint is served by InfluxDB 1.x, by 2.x through its v1
compatibility API and by 3.x, so this one adapter works against all of them.
Schema (written by the gateway): measurement ``temperature``, tags ``location`` and
``device``, field ``celsius``. Besides the latest reading it serves the exposure's
``TemperatureSeries`` port: ``probes`` (``probequeries``) and the chart's ``buckets``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx
from pydantic import BaseModel, ConfigDict

from influx.client import InfluxClient
from influx.errors import DatabaseNotFound, InfluxRejected, InfluxUnavailable
from influx.quoting import epoch_ns, string_literal
from influx.series import NOT_EXECUTED, Series
from traceability.coldchain.exposure import Bucket, raw_buckets
from traceability.coldchain.probequeries import ProbeQueries, extend_ranges, where_location
from traceability.coldchain.probes import ProbeSeries
from traceability.errors import TelemetryUnavailable

DEFAULT_DATABASE = "tracehub"
DEFAULT_LEVELS = (timedelta(days=1), timedelta(hours=1))
DEFAULT_MAX_SPREAD_C = 0.5


class TemperaturePoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    time: datetime
    celsius: float


class TemperatureReader(Protocol):
    def latest(self, location: str) -> TemperaturePoint | None:
        """The newest reading at ``location`` (an SGLN URN), or None if there is none.

        Raises ``TelemetryUnavailable`` when the store cannot answer.
        """
        ...


class InfluxTemperatureReader:
    """``TemperatureReader`` over the InfluxDB v1 ``/query`` endpoint."""

    def __init__(
        self,
        url: str,
        database: str = DEFAULT_DATABASE,
        *,
        timeout: float = 2.0,
        transport: httpx.BaseTransport | None = None,
        levels: Sequence[timedelta] = DEFAULT_LEVELS,
        max_spread_c: float = DEFAULT_MAX_SPREAD_C,
    ) -> None:
        """``levels``: coarse bucket widths tried before raw points, widest first;
        ``max_spread_c``: the widest min-max spread a bucket may have to stand for its
        readings by its mean (see ``buckets``)."""
        if max_spread_c < 0:
            raise ValueError(f"max_spread_c {max_spread_c}: must be zero or more")
        self._levels = tuple(sorted(levels, reverse=True))
        self._max_spread = max_spread_c
        self._influx = InfluxClient(url, database, timeout=timeout, transport=transport)

    def close(self) -> None:
        self._influx.close()

    def __enter__(self) -> InfluxTemperatureReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def latest(self, location: str) -> TemperaturePoint | None:
        query = (
            'SELECT last("celsius") AS "celsius" FROM "temperature" '
            f'WHERE "location" = {string_literal(location)}'
        )
        series = self._query(query)
        if not series or not series[0].values:
            return None
        row = series[0].rows()[0]
        if row.get("celsius") is None:
            return None
        return TemperaturePoint(
            time=datetime.fromtimestamp(row["time"] / 1e9, tz=UTC), celsius=float(row["celsius"])
        )

    def buckets(
        self,
        location: str,
        start: datetime,
        end: datetime,
        low: float | None,
        high: float | None,
        width: timedelta,
    ) -> list[Bucket]:
        """Readings at ``location`` in ``[start, end)`` as buckets, coarse where nothing happens.

        InfluxDB's cost grows with the number of output buckets far more than with the
        points it scans (1.6.7 here: ~16 ms for 18 daily buckets of 26k points, ~200 ms
        for the same points in 2,592 ten-minute buckets). So the span is first cut into
        coarse buckets (``levels``, e.g. a day then an hour); a bucket whose min/max stay
        inside the band and within ``max_spread_c`` of each other is kept as it is, the
        others are looked at again at the next level and finally as raw points, which
        become ``width`` buckets carrying their readings (``samples``).

        The lot page's chart draws these; the exposure reads ``probes`` (per probe, held
        intervals), which summarises quiet stretches by the same rule and bounds the MKT
        error it costs (Jensen's gap ≈ ΔH²/(2R²T⁴)·σ² per bucket, ~0.004 °C for a 0.5 °C
        spread; ``coldchain.probes``).
        """
        span = (epoch_ns(start), epoch_ns(end))
        if span[0] >= span[1]:
            return []
        kept: list[Bucket] = []
        ranges = [span]
        for level in (lv for lv in self._levels if lv > width):
            step = int(level.total_seconds()) * 1_000_000_000
            detail: list[tuple[int, int]] = []
            for row in self._stats(location, ranges, level):
                lo, hi = float(row["lo"]), float(row["hi"])
                crosses = (low is not None and lo < low) or (high is not None and hi > high)
                if crosses or hi - lo > self._max_spread:
                    extend_ranges(
                        detail, (max(row["time"], span[0]), min(row["time"] + step, span[1]))
                    )
                    continue
                kept.append(
                    Bucket(
                        start=_time(row["time"]),
                        width=level,
                        count=int(row["n"]),
                        mean_c=float(row["mean"]),
                        min_c=lo,
                        max_c=hi,
                        out_of_range=0,
                    )
                )
            ranges = detail
            if not ranges:
                break
        if ranges:
            kept.extend(raw_buckets(self._raw(location, ranges), width, low, high))
        return sorted(kept, key=lambda b: b.start)

    def probes(
        self,
        location: str,
        start: datetime,
        end: datetime,
        low: float | None,
        high: float | None,
        max_hold: timedelta,
    ) -> list[ProbeSeries]:
        """Each probe's readings at ``location`` over ``[start, end)``, quiet where nothing
        happens (``coldchain.probequeries``)."""
        return ProbeQueries(self._query, self._levels, self._max_spread).probes(
            location, start, end, low, high, max_hold
        )

    def _stats(
        self, location: str, ranges: list[tuple[int, int]], level: timedelta
    ) -> list[dict[str, Any]]:
        every = f"{int(level.total_seconds())}s"
        return self._select(
            [
                'SELECT count("celsius") AS n, mean("celsius") AS mean, min("celsius") AS lo, '
                f'max("celsius") AS hi FROM "temperature" WHERE {where_location(location, a, b)} '
                f"GROUP BY time({every}) fill(none)"
                for a, b in ranges
            ]
        )

    def _raw(self, location: str, ranges: list[tuple[int, int]]) -> list[tuple[int, float]]:
        rows = self._select(
            [
                f'SELECT "celsius" FROM "temperature" WHERE {where_location(location, a, b)}'
                for a, b in ranges
            ]
        )
        return [(r["time"], float(r["celsius"])) for r in rows if r.get("celsius") is not None]

    def _select(self, statements: list[str]) -> list[dict[str, Any]]:
        """Rows of every statement, sent 50 to a request (a long one is POSTed)."""
        rows: list[dict[str, Any]] = []
        for chunk in range(0, len(statements), 50):
            series = self._query(";".join(statements[chunk : chunk + 50]))
            rows.extend(r for r in _rows(series) if r.get("n", 1))
        return rows

    def points(self, location: str, start: datetime, end: datetime) -> list[TemperaturePoint]:
        """Every raw reading at ``location`` in ``[start, end)`` (the naive baseline)."""
        query = (
            f'SELECT "celsius" FROM "temperature" WHERE "location" = {string_literal(location)} '
            f"AND time >= {epoch_ns(start)} AND time < {epoch_ns(end)}"
        )
        rows = _rows(self._query(query))
        return [
            TemperaturePoint(
                time=datetime.fromtimestamp(r["time"] / 1e9, tz=UTC), celsius=float(r["celsius"])
            )
            for r in rows
            if r.get("celsius") is not None
        ]

    def readings(
        self, start: datetime, end: datetime, *, location: str | None = None,
        device: str | None = None,
    ) -> list[dict[str, Any]]:  # fmt: skip
        """Every stored point (all tags and fields, ``time`` in ns) in ``[start, end)`` at
        ``location`` or of ``device``: what ``tracehub verify`` re-derives sealed windows from."""
        where = [f"time >= {epoch_ns(start)}", f"time < {epoch_ns(end)}"]
        if location is not None:
            where.append(f'"location" = {string_literal(location)}')
        if device is not None:
            where.append(f'"device" = {string_literal(device)}')
        return _rows(self._query(f'SELECT * FROM "temperature" WHERE {" AND ".join(where)}'))

    def window_totals(
        self, devices: Sequence[str], start: datetime, end: datetime, window: timedelta
    ) -> dict[tuple[str, datetime], tuple[int, float]]:
        """Per (device, window start) in ``[start, end)``: how many ``celsius`` values
        InfluxDB holds and their sum, in one statement (the lot page holds the sealed
        windows against these). ``window`` buckets align to the epoch, as the gateway's
        windows do; a window with no points is absent."""
        if not devices or start >= end:
            return {}
        which = " OR ".join(f'"device" = {string_literal(d)}' for d in sorted(set(devices)))
        query = (
            'SELECT count("celsius") AS n, sum("celsius") AS total FROM "temperature" '
            f"WHERE ({which}) AND time >= {epoch_ns(start)} AND time < {epoch_ns(end)} "
            f'GROUP BY time({int(window.total_seconds())}s), "device" fill(none)'
        )
        totals: dict[tuple[str, datetime], tuple[int, float]] = {}
        for one in self._query(query):
            device = one.tags.get("device")
            for row in one.rows():
                if device is not None and row.get("n"):
                    totals[(device, _time(row["time"]))] = (int(row["n"]), float(row["total"]))
        return totals

    def _query(self, query: str) -> list[Series]:
        return read_telemetry(self._influx, query)


def read_telemetry(influx: InfluxClient, query: str) -> list[Series]:
    """``influx.query`` for every telemetry reader: its errors become ``TelemetryUnavailable``.

    A reader that speaks for another concept (cold-room energy) translates that in turn.
    """
    try:
        return influx.query(query)
    except InfluxRejected as exc:
        if not isinstance(exc, DatabaseNotFound) and exc.reason != NOT_EXECUTED:
            raise TelemetryUnavailable(str(exc)) from exc
        # influxd 1.6 answers only "not executed" to several statements on a missing database.
        raise TelemetryUnavailable(
            f"InfluxDB database {influx.database!r}: {exc.reason}; check that the database exists "
            "(setting TRACEHUB_INFLUX_DATABASE or --database)"
        ) from exc
    except InfluxUnavailable as exc:
        raise TelemetryUnavailable(str(exc)) from exc


def _time(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC)


def _rows(series: list[Series]) -> list[dict[str, Any]]:
    return [row for one in series for row in one.rows()]
