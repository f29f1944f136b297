"""Cold-room energy over a stay, and whole lot reports: ``python -m bench.carbon [--quick]``.

Contenders for a stay's kWh from a compressor power series in a real influxd:

* ceiling: step-hold integration of samples already in memory (no I/O);
* tracehub: ``InfluxColdRoomPower`` (raw points over the v1 API) + step-hold integration;
* peer: InfluxQL ``INTEGRAL(compressor_kw, 1h)`` computed by the server (trapezoid),
  what a user would write in Grafana.

The series is change-driven (the OPC UA gateway writes a value when it changes), so
the kWh figures differ too: a trapezoid draws ramps the compressor never ran.
Then: full lot reports (footprint, PACT/iLEAP JSON, canonical bytes, SHA-256) per second.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from bench.machine import describe
from traceability.carbon.calculation import lot_footprint
from traceability.carbon.chain import parse_lot_input
from traceability.carbon.coldroom import InfluxColdRoomPower
from traceability.carbon.energy import PowerSample, integrate_kwh
from traceability.carbon.factors import load_default_factors
from traceability.carbon.report import lot_report, report_digest
from tracehub.services import InfluxDB

ROOM = "urn:epc:id:sgln:4012345.00002.0"
START = datetime(2026, 11, 1, tzinfo=UTC)
EXAMPLE = Path(__file__).parents[1] / "tests" / "data" / "traceability" / "carbon" / "lot_l1.json"


def series(days: int, seed: int = 7) -> list[PowerSample]:
    """A compressor cycling on/off: a change every 30-300 s, 0 kW or 8-14 kW."""
    rng = random.Random(seed)
    samples: list[PowerSample] = []
    moment = START
    end = START + timedelta(days=days)
    on = False
    while moment < end:
        samples.append(PowerSample(time=moment, kw=rng.uniform(8, 14) if on else 0.0))
        on = not on
        moment += timedelta(seconds=rng.randint(30, 300))
    return samples


def load(url: str, database: str, samples: list[PowerSample]) -> None:
    with httpx.Client(timeout=30) as client:
        client.post(f"{url}/query", params={"q": f'CREATE DATABASE "{database}"'})
        for offset in range(0, len(samples), 5000):
            body = "\n".join(
                f"coldroom,site=wh1,location={ROOM},plc=plc-1 compressor_kw={s.kw} "
                f"{int(s.time.timestamp()) * 1_000_000_000}"
                for s in samples[offset : offset + 5000]
            )
            client.post(f"{url}/write", params={"db": database}, content=body).raise_for_status()


def timed(function: Callable[[], float], repeats: int) -> tuple[float, float]:
    """(median seconds, result of the last run)."""
    times = []
    result = 0.0
    for _ in range(repeats):
        began = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - began)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller series (under 2 minutes)")
    args = parser.parse_args()
    days, repeats, reports = (7, 5, 200) if args.quick else (30, 9, 1000)
    samples = series(days)
    end = START + timedelta(days=days)
    database = "bench_carbon"
    with tempfile.TemporaryDirectory() as directory, InfluxDB(directory=Path(directory)) as influx:
        load(influx.url, database, samples)
        ceiling_s, ceiling_kwh = timed(
            lambda: integrate_kwh(samples, START, end, timedelta(minutes=15)).kwh, repeats
        )

        def ours() -> float:
            with InfluxColdRoomPower(influx.url, database, timeout=60) as power:
                fetched = power.samples("wh1", ROOM, START, end)
            return integrate_kwh(fetched, START, end, timedelta(minutes=15)).kwh

        ours_s, ours_kwh = timed(ours, repeats)

        def peer() -> float:
            query = (
                f'SELECT INTEGRAL("compressor_kw", 1h) FROM "coldroom" WHERE "location" = '
                f"'{ROOM}' AND time >= {int(START.timestamp()) * 10**9} "
                f"AND time < {int(end.timestamp()) * 10**9}"
            )
            with httpx.Client(timeout=60) as client:
                body = client.get(f"{influx.url}/query", params={"db": database, "q": query}).json()
            return float(body["results"][0]["series"][0]["values"][0][1])

        peer_s, peer_kwh = timed(peer, repeats)

    data = parse_lot_input(json.loads(EXAMPLE.read_text(encoding="utf-8")))
    table = load_default_factors()
    day = [
        PowerSample(time=data.stays[0].start + timedelta(minutes=m), kw=10.0)
        for m in range(0, 1440, 5)
    ]
    energy = {"stay-wh1-cold1": integrate_kwh(day, data.stays[0].start, data.stays[0].end)}
    created = datetime(2026, 11, 22, tzinfo=UTC)
    began = time.perf_counter()
    for _ in range(reports):
        report_digest(lot_report(lot_footprint(data, table, energy), created=created))
    report_rate = reports / (time.perf_counter() - began)

    print(f"bench.carbon on {describe()}")
    print(f"stay of {days} days, {len(samples)} power changes, median of {repeats} runs")
    print(f"{'contender':44} {'ms':>9} {'× ceiling':>10} {'kWh':>12}")
    rows = [
        ("ceiling: step-hold in memory", ceiling_s, ceiling_kwh),
        ("tracehub: raw points via /query + step-hold", ours_s, ours_kwh),
        ("peer: InfluxQL INTEGRAL() (trapezoid)", peer_s, peer_kwh),
    ]
    for name, seconds, kwh in rows:
        print(f"{name:44} {seconds * 1000:9.1f} {seconds / ceiling_s:10.1f} {kwh:12.3f}")
    print(
        f"tracehub vs peer time: {ours_s / peer_s:.2f}×; kWh trapezoid/step: "
        f"{peer_kwh / ours_kwh:.4f}"
    )
    print(f"lot reports (footprint + PACT JSON + canonical SHA-256): {report_rate:.0f}/s")
    print(
        f"RESULT carbon days={days} changes={len(samples)} ceiling_ms={ceiling_s * 1000:.1f} "
        f"ours_ms={ours_s * 1000:.1f} peer_ms={peer_s * 1000:.1f} "
        f"ours_vs_peer={ours_s / peer_s:.2f} kwh_step={ours_kwh:.3f} kwh_trapezoid={peer_kwh:.3f} "
        f"reports_per_s={report_rate:.0f}"
    )


if __name__ == "__main__":
    main()
