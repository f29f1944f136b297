"""Test harness: run Grafana panel queries against a real InfluxDB, as Grafana would.

Queries are expanded with :func:`grafana.macros.expand` (``$timeFilter``,
``$__interval`` from the range and the panel's data points, template
variables) and sent to the v1 ``/query`` API; results are flattened into
rows that tests compare with the numbers the seed data implies.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from grafana.macros import TimeRange, Variable, expand

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
        self.client = httpx.Client(base_url=url, timeout=30)
        self.database = database
        self._ok(self.client.post("/query", params={"q": f'CREATE DATABASE "{database}"'}))

    def close(self) -> None:
        self.client.close()

    def write(self, lines: Sequence[str]) -> None:
        response = self.client.post(
            "/write",
            params={"db": self.database, "precision": "ns"},
            content="\n".join(lines).encode(),
        )
        assert response.status_code == 204, response.text

    def query(self, influxql: str) -> list[dict[str, Any]]:
        response = self.client.post(
            "/query", data={"db": self.database, "q": influxql, "epoch": "ms"}
        )
        result = self._ok(response)
        return list(result.get("series", []))

    @staticmethod
    def _ok(response: httpx.Response) -> dict[str, Any]:
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()["results"][0]
        assert "error" not in result, result["error"]
        return result

    def run(
        self,
        query: str,
        time_range: TimeRange,
        variables: Sequence[Variable] = (),
        *,
        max_data_points: int = 6,
    ) -> list[dict[str, Any]]:
        """The query as Grafana sends it for a panel ``max_data_points`` wide."""
        interval = time_range.interval_ms(max_data_points=max_data_points)
        return self.query(expand(query, time_range, variables, interval_ms=interval))


def rows(series: list[dict[str, Any]], origin: datetime) -> dict[tuple[str, ...], list[Row]]:
    """Series as {tag values (by tag name): [(minutes after origin | None, *values)]}.

    Time 0 (an aggregate over the whole range) becomes None; nulls are dropped
    rows-wise only when every value is null (fill(previous) before the first point).
    """
    origin_ms = origin.timestamp() * 1000
    out: dict[tuple[str, ...], list[Row]] = {}
    for item in series:
        tags = item.get("tags") or {}
        key = tuple(tags[name] for name in sorted(tags))
        columns = item["columns"]
        for values in item["values"]:
            record = dict(zip(columns, values, strict=True))
            rest = [record[c] for c in columns if c != "time"]
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
