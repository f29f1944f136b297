"""Cold-chain dashboard load against a real influxd: ``python -m bench.grafana [--quick]``.

The "Cold chain overview" temperature panel and MKT table over the whole range
(expanded as Grafana would for a 1000-pixel panel), side by
side with:

* ceiling: one tiny query (``last()`` over the range): the round-trip floor;
* tracehub: the generated queries, aggregated in InfluxDB with
  ``GROUP BY time($__interval)`` and MKT computed in InfluxQL;
* peer: the same two panels the way a click-built dashboard often starts, raw
  points per location (Grafana downsamples in the browser) and MKT computed
  by the client from those points;
* and, for scale, the whole overview dashboard (all panels and annotations).

Reported per contender: median milliseconds per load, bytes returned, and the
ratio to tracehub. The MKTs of both ways are compared (they must agree).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from bench.machine import describe
from grafana.generate import dashboards
from grafana.macros import TimeRange, Variable, expand
from tracehub.services import InfluxDB

START = datetime(2026, 11, 1, tzinfo=UTC)
DB = "bench_grafana"
K = 10_000.0


def _location(i: int) -> str:
    return f"urn:epc:id:sgln:4012345.{i:05d}.0"


def seed(url: str, locations: int, days: int) -> int:
    """One reading a minute per location: a daily sine around 5 °C, some excursions."""
    points = 0
    with httpx.Client(timeout=60) as client:
        client.post(f"{url}/query", params={"q": f'CREATE DATABASE "{DB}"'})
        lines: list[str] = []
        start_ns = int(START.timestamp()) * 1_000_000_000
        for minute in range(days * 24 * 60):
            for i in range(locations):
                c = (
                    5.0
                    + 2.5 * math.sin((minute + 37 * i) / 229.0)
                    + (4.0 if minute % 997 == i else 0)
                )
                lines.append(
                    f"temperature,device=p{i},location={_location(i)},site=s1 "
                    f"celsius={c:.2f},seq={minute}i {start_ns + minute * 60_000_000_000}"
                )
            if len(lines) >= 5000:
                points += len(lines)
                client.post(
                    f"{url}/write", params={"db": DB, "precision": "ns"}, content="\n".join(lines)
                )
                lines = []
        if lines:
            points += len(lines)
            client.post(
                f"{url}/write", params={"db": DB, "precision": "ns"}, content="\n".join(lines)
            )
    return points


def run(client: httpx.Client, query: str) -> bytes:
    response = client.post("/query", data={"db": DB, "q": query, "epoch": "ms"})
    response.raise_for_status()
    assert "error" not in response.text[:200], response.text[:300]
    return response.content


def dashboard_queries(time_range: TimeRange) -> list[str]:
    board = dashboards()["tracehub-coldchain"]
    variables = [
        Variable(
            name="site",
            values=("s1",),
            multi=True,
            include_all=True,
            all_value=".*",
            all_selected=True,
        ),
        Variable(
            name="location",
            values=("x",),
            multi=True,
            include_all=True,
            all_value=".*",
            all_selected=True,
        ),
    ]
    queries = [t["query"] for p in board["panels"] for t in p["targets"]]
    queries += [a["target"]["query"] for a in board["annotations"]["list"]]
    interval = time_range.interval_ms(max_data_points=1000)
    return [expand(q, time_range, variables, interval_ms=interval) for q in queries]


def raw_queries(time_range: TimeRange) -> list[str]:
    where = f"time >= {time_range.start_ms}ms and time <= {time_range.end_ms}ms"
    return [f'SELECT "celsius" FROM "temperature" WHERE {where} GROUP BY "location"']


def client_mkt(payload: bytes) -> dict[str, float]:
    out = {}
    for series in json.loads(payload)["results"][0]["series"]:
        values = [v[1] for v in series["values"]]
        mean = sum(math.exp(-K / (c + 273.15)) for c in values) / len(values)
        out[series["tags"]["location"]] = -K / math.log(mean) - 273.15
    return out


def db_mkt(client: httpx.Client, time_range: TimeRange) -> dict[str, float]:
    query = next(q for q in dashboard_queries(time_range) if "LN(MEAN" in q)
    series = json.loads(run(client, query))["results"][0]["series"]
    return {s["tags"]["location"]: s["values"][0][1] for s in series}


def _raw_load(client: httpx.Client, query: str) -> int:
    payload = run(client, query)
    client_mkt(payload)
    return len(payload)


def timed(load: Callable[[], int], repeats: int) -> tuple[float, int]:
    times, size = [], 0
    for _ in range(repeats):
        began = time.perf_counter()
        size = load()
        times.append(time.perf_counter() - began)
    return statistics.median(times), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small data, under two minutes")
    args = parser.parse_args()
    locations, days, repeats = (10, 2, 5) if args.quick else (40, 7, 7)
    with tempfile.TemporaryDirectory() as tmp, InfluxDB(Path(tmp)) as influx:
        began = time.perf_counter()
        points = seed(influx.url, locations, days)
        seeded_s = time.perf_counter() - began
        time_range = TimeRange(start=START, end=START + timedelta(days=days))
        ours = dashboard_queries(time_range)
        raw = raw_queries(time_range)
        tiny = f'SELECT last("celsius") FROM "temperature" WHERE time >= {time_range.start_ms}ms'
        with httpx.Client(base_url=influx.url, timeout=120) as client:
            pair = [q for q in ours if "LN(MEAN" in q or q.startswith('SELECT mean("celsius")')]
            assert len(pair) == 2, pair
            contenders: list[tuple[str, Callable[[], int]]] = [
                ("ceiling: one last() query", lambda: len(run(client, tiny))),
                (
                    "tracehub: temperature panel + MKT in InfluxQL",
                    lambda: sum(len(run(client, q)) for q in pair),
                ),
                ("peer: raw points + client-side MKT", lambda: _raw_load(client, raw[0])),
                (
                    f"tracehub: whole overview ({len(ours)} queries)",
                    lambda: sum(len(run(client, q)) for q in ours),
                ),
            ]
            results = [(name, *timed(load, repeats)) for name, load in contenders]
            in_db = db_mkt(client, time_range)
            by_client = client_mkt(run(client, raw[0]))
    worst = max(abs(in_db[k] - by_client[k]) for k in by_client)
    ours_s = results[1][1]
    print(f"bench.grafana on {describe()}")
    print(
        f"{locations} locations x {days} days, one reading a minute: {points} points "
        f"(seeded in {seeded_s:.1f} s); median of {repeats} loads"
    )
    print(f"{'contender':48} {'ms/load':>9} {'kB':>9} {'x tracehub':>11}")
    for name, seconds, size in results:
        print(f"{name:48} {seconds * 1000:9.1f} {size / 1000:9.1f} {seconds / ours_s:11.2f}")
    print(
        f"MKT in InfluxQL vs client-side: max difference {worst:.2e} °C "
        f"over {len(by_client)} locations"
    )
    print(
        f"RESULT grafana points={points} ceiling_ms={results[0][1] * 1000:.1f} "
        f"tracehub_ms={ours_s * 1000:.1f} peer_raw_ms={results[2][1] * 1000:.1f} "
        f"peer_over_tracehub={results[2][1] / ours_s:.2f} "
        f"tracehub_kb={results[1][2] / 1000:.1f} peer_kb={results[2][2] / 1000:.1f} "
        f"mkt_max_diff_c={worst:.2e}"
    )


if __name__ == "__main__":
    main()
