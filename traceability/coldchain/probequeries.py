"""The InfluxQL that reads one stay's probes for ``coldchain.probes``: per probe, quiet
buckets where nothing happens, raw readings (with their neighbours) everywhere else.

Over the v1 ``/query`` endpoint through a query function (``telemetry.read_telemetry``'s
errors: ``TelemetryUnavailable``), so ``InfluxTemperatureReader`` owns the connection.
Schema: measurement ``temperature``, tags ``location`` and ``device``, field ``celsius``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from influx.quoting import epoch_ns, string_literal
from influx.series import Series
from traceability.coldchain.probes import Point, ProbeSeries, Quiet, RawRun

_MARKED = re.compile(r"[a-z]+_[0-9]+")


class ProbeQueries:
    """``probes`` for one reader's levels and spread (see ``probes``)."""

    def __init__(
        self,
        query: Callable[[str], list[Series]],
        levels: Sequence[timedelta],
        max_spread_c: float,
    ) -> None:
        self._query = query
        self._levels = tuple(levels)
        self._max_spread = max_spread_c

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
        happens (``coldchain.probes``'s rules).

        Per level (a day, then an hour), per probe: a bucket is kept as a ``Quiet``
        stretch when its min/max stay inside the band and within ``max_spread_c`` and
        the buckets either side of it hold readings too (at its level, or a coarser
        quiet one): so the probe's first and last buckets of the stay are never quiet
        and a stay's edges are always read raw.
        Gaps: a bucket with fewer than ``(1 - max_hold / width)`` of the readings of the
        fuller of its neighbours is not quiet, since a silence over ``max_hold`` in a
        steadily sampled probe thins its bucket by that much; so with steady sampling
        every unmonitored stretch is read raw and counted exactly, otherwise it may be
        missed (a lower bound; and a quiet stretch holds at most ``count × max_hold``,
        ``coldchain.probes``). Not InfluxQL's ``max(elapsed)`` per bucket: it runs as a
        subquery over every point and made the exposure ~2.4× slower (measured: 566 ms
        against 238 ms for the bench's 5 stays of up to 10 days, 1-min readings).

        The rest is looked at again at the next level and finally fetched raw, with the
        probe's last reading before each raw range (it holds into it) and the time of its
        first one after (it ends the last held interval): out-of-range minutes are always
        exact.
        """
        span = (epoch_ns(start), epoch_ns(end))
        if span[0] >= span[1]:
            return []
        hold = int(max_hold.total_seconds() * 1_000_000) * 1000
        quiet: dict[str, list[Quiet]] = {}
        todo: dict[str | None, list[tuple[int, int]]] = {None: [span]}
        for level in self._levels:
            step = int(level.total_seconds()) * 1_000_000_000
            detail: dict[str | None, list[tuple[int, int]]] = {}
            for device, rows in self._probe_stats(location, todo, level).items():
                # Readings per ns of the coarser quiet buckets this level's ranges touch.
                mine = quiet.get(device, [])
                ends = {q.end_ns: q.count / (q.end_ns - q.start_ns) for q in mine}
                starts = {q.start_ns: q.count / (q.end_ns - q.start_ns) for q in mine}
                for index, row in enumerate(rows):
                    if row["edge"]:
                        continue
                    lo, hi, t = float(row["lo"]), float(row["hi"]), int(row["time"])
                    inside = (low is None or lo >= low) and (high is None or hi <= high)
                    left = _density(rows, index - 1, t - step, step)
                    right = _density(rows, index + 1, t + step, step)
                    left = ends.get(t) if left is None else left
                    right = starts.get(t + step) if right is None else right
                    calm = (
                        inside
                        and hi - lo <= self._max_spread
                        and left is not None
                        and right is not None
                        # A silence over max_hold in a steadily sampled probe thins its
                        # bucket below (1 - max_hold/width) of its neighbours': read raw.
                        and int(row["n"]) >= (step - hold) * max(left, right)
                    )
                    a, b = max(t, span[0]), min(t + step, span[1])
                    if calm and a == t and b == t + step:
                        quiet.setdefault(device, []).append(
                            Quiet(
                                start_ns=a,
                                end_ns=b,
                                count=int(row["n"]),
                                mean_c=float(row["mean"]),
                                min_c=lo,
                                max_c=hi,
                            )
                        )
                    else:
                        extend_ranges(detail.setdefault(device, []), (a, b))
            todo = dict(detail)
            if not todo:
                break
        runs = self._raw_runs(location, todo, span, hold)
        return [
            ProbeSeries(
                device=device or None,
                runs=tuple(runs.get(device, ())),
                quiet=tuple(quiet.get(device, ())),
            )
            for device in sorted(set(quiet) | set(runs))
        ]

    def _probe_stats(
        self, location: str, todo: dict[str | None, list[tuple[int, int]]], level: timedelta
    ) -> dict[str, list[dict[str, Any]]]:
        """Per probe ("" without a device tag), its stats rows of every range, each range's
        rows in time order and the last one of a range followed by an ``edge`` marker
        row, so a range's neighbours never count as adjacent."""
        every = f"{int(level.total_seconds())}s"
        statements: list[str] = []
        for device, ranges in todo.items():
            for a, b in ranges:
                where = where_location(location, a, b) + _device(device)
                statements.append(
                    f'SELECT count("celsius") AS n_{len(statements)}, mean("celsius") AS mean, '
                    'min("celsius") AS lo, max("celsius") AS hi FROM "temperature" WHERE '
                    f'{where} GROUP BY time({every}), "device" fill(none)'
                )
        found: dict[str, list[dict[str, Any]]] = {}
        for stats in self._tagged(statements):
            for device, row in stats:
                if row.get("n"):
                    found.setdefault(device, []).append({**row, "edge": False})
            for mine in found.values():
                if mine and not mine[-1]["edge"]:
                    mine.append({"time": -1, "edge": True})
        return found

    def _raw_runs(
        self, location: str, todo: dict[str | None, list[tuple[int, int]]],
        span: tuple[int, int], hold: int,
    ) -> dict[str, list[RawRun]]:  # fmt: skip
        """Every reading of each probe's raw ranges, each with the reading before it and
        the time of the one after it, within ``max_hold`` (one statement per range: a
        longer silence ends the held interval anyway)."""
        statements: list[str] = []
        keys = []
        for device, ranges in todo.items():
            for a, b in ranges:
                where = where_location(location, a - hold, min(b + hold, span[1])) + _device(device)
                statements.append(
                    f'SELECT "celsius" AS celsius_{len(statements)} FROM "temperature" '
                    f'WHERE {where} GROUP BY "device"'
                )
                keys.append((a, b))
        runs: dict[str, list[RawRun]] = {}
        for (a, b), rows in zip(keys, self._tagged(statements), strict=True):
            points: dict[str, list[Point]] = {}
            for device, row in rows:
                if row.get("celsius") is not None:
                    points.setdefault(device, []).append((int(row["time"]), float(row["celsius"])))
            for device, mine in points.items():
                mine.sort()
                inside = tuple(p for p in mine if a <= p[0] < b)
                before = [p for p in mine if p[0] < a]
                after = [p[0] for p in mine if p[0] >= b]
                runs.setdefault(device, []).append(
                    RawRun(
                        start_ns=a,
                        end_ns=b,
                        readings=inside,
                        before=before[-1] if before else None,
                        next_ns=after[0] if after else None,
                    )
                )
        return runs

    def _tagged(self, statements: list[str]) -> list[list[tuple[str, dict[str, Any]]]]:
        """Per statement, its (device tag, row) pairs, sent 50 statements to a request.

        The answer does not say which statement a series belongs to, so each statement
        names one column ``name_{index}``; the rows carry it back as ``name``."""
        out: list[list[tuple[str, dict[str, Any]]]] = [[] for _ in statements]
        for chunk in range(0, len(statements), 50):
            for one in self._query(";".join(statements[chunk : chunk + 50])):
                marked = next(c for c in one.columns if _MARKED.fullmatch(c))
                base, index = marked.rsplit("_", 1)
                for row in one.rows():
                    row[base] = row.pop(marked)
                    out[int(index)].append((one.tags.get("device", ""), row))
        return out


def _density(rows: list[dict[str, Any]], index: int, at: int, step: int) -> float | None:
    """Readings per ns of ``rows[index]`` if it is the bucket starting at ``at``."""
    if not 0 <= index < len(rows) or rows[index]["edge"] or int(rows[index]["time"]) != at:
        return None
    return int(rows[index]["n"]) / step


def where_location(location: str, start_ns: int, end_ns: int) -> str:
    return f'"location" = {string_literal(location)} AND time >= {start_ns} AND time < {end_ns}'


def _device(device: str | None) -> str:
    """The device filter of a probe's statements (None: every probe; "": no tag)."""
    return "" if device is None else f' AND "device" = {string_literal(device)}'


def extend_ranges(ranges: list[tuple[int, int]], new: tuple[int, int]) -> None:
    """Append ``new`` to sorted ``ranges``, merging it with the last one when they touch."""
    if ranges and ranges[-1][1] >= new[0]:
        ranges[-1] = (ranges[-1][0], max(ranges[-1][1], new[1]))
    else:
        ranges.append(new)
