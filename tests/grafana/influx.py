"""Test harness: run Grafana panel queries against a real InfluxDB, as Grafana would.

Queries are expanded with :func:`grafana.macros.expand` (``$timeFilter``,
``$__interval`` from the range and the panel's data points, template
variables) and sent to the v1 ``/query`` API through ``influx.InfluxClient``
(times in ms, as Grafana asks for them); results are flattened into rows that
tests compare with the numbers the seed data implies.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from grafana.macros import TimeRange, Variable, expand
from influx.client import InfluxClient
from influx.series import Series

Row = tuple[Any, ...]


@dataclass(frozen=True)
class Target:
    """One query of a dashboard: a panel target, an annotation or a variable."""

    dashboard: str
    where: str  # "panel", "annotation" or "variable"
    title: str
    ref_id: str
    query: str

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.dashboard, self.where, self.title, self.ref_id)


def targets(dashboard: dict[str, Any]) -> Iterator[Target]:
    uid = dashboard["uid"]
    for panel in dashboard.get("panels", []):
        for target in panel.get("targets", []):
            yield Target(uid, "panel", panel["title"], target["refId"], target["query"])
    for annotation in dashboard.get("annotations", {}).get("list", []):
        target = annotation["target"]
        yield Target(uid, "annotation", annotation["name"], target["refId"], target["query"])
    for variable in dashboard.get("templating", {}).get("list", []):
        yield Target(uid, "variable", variable["name"], "", variable["query"])


class Influx:
    """A database on a real InfluxDB, over the v1 HTTP API."""

    def __init__(self, url: str, database: str) -> None:
        self.client = InfluxClient(url, database, timeout=30)
        self.client.create_database()

    def close(self) -> None:
        self.client.close()

    def write(self, lines: Sequence[str]) -> None:
        self.client.write(lines)

    def query(self, influxql: str) -> list[Series]:
        return self.client.query(influxql, epoch="ms")

    def run(
        self,
        query: str,
        time_range: TimeRange,
        variables: Sequence[Variable] = (),
        *,
        max_data_points: int = 6,
    ) -> list[Series]:
        """The query as Grafana sends it for a panel ``max_data_points`` wide."""
        interval = time_range.interval_ms(max_data_points=max_data_points)
        return self.query(expand(query, time_range, variables, interval_ms=interval))


def rows(series: list[Series], origin: datetime) -> dict[tuple[str, ...], list[Row]]:
    """Series as {tag values (by tag name): [(minutes after origin | None, *values)]}.

    Time 0 (an aggregate over the whole range) becomes None; nulls are dropped
    rows-wise only when every value is null (fill(previous) before the first point).
    """
    origin_ms = origin.timestamp() * 1000
    out: dict[tuple[str, ...], list[Row]] = {}
    for item in series:
        key = tuple(item.tags[name] for name in sorted(item.tags))
        for record in item.rows():
            rest = [value for column, value in record.items() if column != "time"]
            if all(v is None for v in rest):
                continue
            ms = record.get("time")
            when = None if not ms else (ms - origin_ms) / 60_000
            out.setdefault(key, []).append((when, *rest))
    return out


def close(actual: object, expected: object) -> bool:
    """Equality with a float tolerance, recursively through tuples/lists/dicts."""
    if isinstance(expected, float) or isinstance(actual, float):
        if not isinstance(actual, int | float) or not isinstance(expected, int | float):
            return False
        return math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(expected, tuple | list) and isinstance(actual, tuple | list):
        return len(actual) == len(expected) and all(
            close(a, e) for a, e in zip(actual, expected, strict=True)
        )
    if isinstance(expected, dict) and isinstance(actual, dict):
        return actual.keys() == expected.keys() and all(
            close(actual[k], expected[k]) for k in expected
        )
    return actual == expected
