"""Storage per probe per year in InfluxDB: ``python -m bench.retention [--quick]``.

For each cadence (the demo's 2 s, the typical 1 reading/min, China GSP's minimum of one
record per 30 min), one probe's year of readings, as the gateway writes them
(``temperature_line``: tags device/location/site, fields celsius/humidity/battery/seq, the
simulator's cold-room curve for the values), is written into a real influxd (Debian's
1.6.7) in its own database; then the retention plan is applied and the 15-minute rollup
of the year is computed with the continuous query's own SELECT. influxd is configured to
snapshot and compact cold shards after a second, and the bench waits until the WAL
is empty and the shard files stop changing, then measures the shards on disk: the raw
policy's, and the rollup's. The database's fixed overhead (the series file and index,
the same for one probe as for a hundred) is shown apart. ``--quick`` skips the 2 s
cadence (15.8 M points).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.machine import describe
from gateway.lineprotocol import temperature_line
from influx.client import InfluxClient
from influx.retention import RetentionAdmin
from influx.retentionplan import RetentionPlan
from sensors.simulator import ProbeSpec, probe_readings
from tracehub.services import InfluxDB

START = datetime(2025, 1, 1, tzinfo=UTC)
YEAR = timedelta(days=365)
PROBE = ProbeSpec(device_id="probe-1", location="urn:epc:id:sgln:4012345.00001.0")
CADENCES = {"2 s (demo)": 2, "1 min (typical)": 60, "30 min (GSP minimum)": 1800}
BATCH = 5_000
MB = 1_000_000


class CompactingInfluxDB(InfluxDB):
    """influxd that snapshots and fully compacts a shard once it is a second cold."""

    def prepare(self) -> None:
        super().prepare()
        text = self.config_path.read_text()
        text = text.replace(
            "[data]\n",
            '[data]\n  cache-snapshot-write-cold-duration = "1s"\n'
            '  compact-full-write-cold-duration = "1s"\n',
        )
        self.config_path.write_text(text)


def _size(path: Path, suffix: str = "") -> int:
    if not path.exists():
        return 0
    return sum(p.stat().st_size for p in path.rglob(f"*{suffix}") if p.is_file())


def _settled(server: InfluxDB, database: str, timeout_s: float = 300.0) -> None:
    """Until the WAL holds nothing and the shard files stop changing for 3 s."""
    data, wal = server.directory / "data" / database, server.directory / "wal" / database
    last, since, deadline = -1, time.monotonic(), time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        files = sorted((p.name, p.stat().st_size) for p in data.rglob("*") if p.is_file())
        state = hash(tuple(files))
        if state != last or _size(wal, ".wal") > 0:
            last, since = state, time.monotonic()
        elif time.monotonic() - since >= 3.0:
            return
        time.sleep(0.5)
    raise TimeoutError(f"{database}: shards still changing after {timeout_s} s")


def measure(server: InfluxDB, name: str, step_s: int) -> dict[str, float]:
    database = f"bench_{step_s}s"
    plan = RetentionPlan()
    points = int(YEAR.total_seconds()) // step_s
    started = time.perf_counter()
    with InfluxClient(server.url, database, timeout=60.0) as client:
        client.create_database()
        RetentionAdmin(client).apply(plan)
        readings = probe_readings(PROBE, START, timedelta(seconds=step_s))
        batch: list[str] = []
        for _ in range(points):
            batch.append(temperature_line("bench", next(readings), PROBE.location))
            if len(batch) == BATCH:
                client.write(batch)
                batch = []
        client.write(batch)
        wrote = time.perf_counter() - started
        [cq] = plan.downsamples
        end = START + YEAR
        where = f"time >= '{START:%Y-%m-%dT%H:%M:%SZ}' AND time < '{end:%Y-%m-%dT%H:%M:%SZ}'"
        client.execute(plan.rollup_select(database, cq, where))
        [count] = client.query('SELECT count("celsius") FROM "temperature"')
        assert count.values[0][1] == points, (count.values, points)
    _settled(server, database)
    base = server.directory / "data" / database
    raw, rollup = _size(base / plan.raw.name), _size(base / plan.rollup.name)
    overhead = _size(base) - raw - rollup
    return {
        "points": points, "raw": raw, "rollup": rollup, "overhead": overhead,
        "write_s": wrote, "per_point": raw / points,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="skip the 2 s cadence")
    args = parser.parse_args()
    cadences = {k: v for k, v in CADENCES.items() if not (args.quick and v < 60)}
    with tempfile.TemporaryDirectory() as tmp, CompactingInfluxDB(Path(tmp)) as server:
        version = InfluxClient(server.url, "x").ping()
        results = {name: measure(server, name, step) for name, step in cadences.items()}
    print(f"machine: {describe()}; InfluxDB {version}, TSM engine, one TSM file per shard")
    print("one probe, one year, the gateway's fields (celsius, humidity, battery, seq)\n")
    header = f"{'cadence':<22}{'points':>12}{'raw MB':>10}{'B/point':>9}"
    print(header + f"{'5 years MB':>12}{'rollup 15m MB':>15}{'rollup/raw':>12}")
    for name, r in results.items():
        print(
            f"{name:<22}{r['points']:>12,}{r['raw'] / MB:>10.2f}{r['per_point']:>9.2f}"
            f"{5 * r['raw'] / MB:>12.1f}{r['rollup'] / MB:>15.3f}"
            f"{r['rollup'] / r['raw']:>12.3f}"
        )
    fixed = max(r["overhead"] for r in results.values())
    print(f"\nper-database overhead (series file, index; not per probe): {fixed / MB:.1f} MB")
    typical = results["1 min (typical)"]
    fields = [
        f"raw_mb_per_probe_year_1min={typical['raw'] / MB:.3f}",
        f"bytes_per_point_1min={typical['per_point']:.2f}",
        f"rollup_mb_per_probe_year={typical['rollup'] / MB:.3f}",
    ]
    if "2 s (demo)" in results:
        fields.append(f"raw_mb_per_probe_year_2s={results['2 s (demo)']['raw'] / MB:.2f}")
    print("RESULT retention " + " ".join(fields))


if __name__ == "__main__":
    main()
