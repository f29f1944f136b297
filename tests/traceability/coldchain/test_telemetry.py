"""InfluxTemperatureReader against the real influxd 1.6.7 spawned by the fixtures."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from traceability.coldchain.mkt import mean_kinetic_temperature
from traceability.coldchain.telemetry import InfluxTemperatureReader, TemperatureReader
from traceability.errors import TelemetryUnavailable
from tracehub.services import InfluxDB

pytestmark = pytest.mark.integration

DOCK = "urn:epc:id:sgln:4012345.00001.0"
COLD = "urn:epc:id:sgln:4012345.00002.0"
T0_NS = 1_795_341_600_000_000_000  # 2026-11-22T10:00:00Z


def line_tag(value: str) -> str:
    """Line-protocol tag value escaping (comma, equals sign, space)."""
    return value.replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def write(url: str, db: str, lines: list[str]) -> None:
    with httpx.Client(timeout=5) as client:
        client.post(f"{url}/query", params={"q": f'CREATE DATABASE "{db}"'}).raise_for_status()
        response = client.post(
            f"{url}/write", params={"db": db, "precision": "ns"}, content="\n".join(lines)
        )
        assert response.status_code == 204, response.text


def point(location: str, celsius: float, ns: int, device: str = "probe-1") -> str:
    return (
        f"temperature,site=wh1,location={line_tag(location)},device={device} "
        f"celsius={celsius},seq=1i {ns}"
    )


@pytest.fixture
def database() -> str:
    return "t" + uuid.uuid4().hex[:12]


def test_latest_per_location(influxdb: InfluxDB, database: str) -> None:
    write(
        influxdb.url,
        database,
        [
            point(DOCK, 3.5, T0_NS),
            point(DOCK, 4.25, T0_NS + 60_000_000_000),
            point(DOCK, 9.0, T0_NS + 30_000_000_000, device="probe-2"),
            point(COLD, -18.5, T0_NS + 5_000_000_000),
        ],
    )
    with InfluxTemperatureReader(influxdb.url, database) as influx:
        reader: TemperatureReader = influx
        dock = reader.latest(DOCK)
        cold = reader.latest(COLD)
        nowhere = reader.latest("urn:epc:id:sgln:4012345.00003.0")
    assert dock is not None
    assert dock.celsius == 4.25
    assert dock.time == datetime(2026, 11, 22, 10, 1, tzinfo=UTC)
    assert cold is not None
    assert cold.celsius == -18.5
    assert nowhere is None


def test_tag_values_are_quoted_safely(influxdb: InfluxDB, database: str) -> None:
    # (no backslash: influxd 1.6 keeps a line-protocol "\\\\" as two backslashes)
    tricky = "dock 'A', door=1 end"
    write(influxdb.url, database, [point(tricky, 2.0, T0_NS), point(DOCK, 7.0, T0_NS)])
    with InfluxTemperatureReader(influxdb.url, database) as reader:
        found = reader.latest(tricky)
        # an injection attempt must stay a literal: no such location, no error, no other rows
        injected = reader.latest("x' OR location='" + DOCK)
    assert found is not None
    assert found.celsius == 2.0
    assert injected is None


def test_unknown_database_is_unavailable_and_named(influxdb: InfluxDB) -> None:
    with (
        InfluxTemperatureReader(influxdb.url, "no_such_db") as reader,
        pytest.raises(TelemetryUnavailable, match=r"database 'no_such_db'.*database not found"),
    ):
        reader.latest(DOCK)


def test_stopped_influxdb_is_unavailable(fresh_influxdb: InfluxDB, database: str) -> None:
    write(fresh_influxdb.url, database, [point(DOCK, 3.0, T0_NS)])
    with InfluxTemperatureReader(fresh_influxdb.url, database, timeout=1.0) as reader:
        assert reader.latest(DOCK) is not None
        fresh_influxdb.stop()
        with pytest.raises(TelemetryUnavailable, match="did not answer"):
            reader.latest(DOCK)


# Coarse buckets where nothing happens, raw readings where something does ---------------

DAY_NS = 86_400 * 10**9
MIN_NS = 60 * 10**9


def _three_days(minute: int) -> float:
    """Day 1 steady (spread 0.2 °C), day 2 a ±1 °C in-band swing, day 3 an excursion."""
    if minute < 1440:
        return 3.0 + (0.1 if minute % 2 else -0.1)
    if minute < 2880:
        return 5.0 + math.sin(minute / 30)
    return 11.0 if 3000 <= minute < 3025 else 4.0


@pytest.fixture
def three_days(influxdb: InfluxDB, database: str) -> str:
    # Days aligned to the epoch, as InfluxDB aligns GROUP BY time(1d).
    start = T0_NS - T0_NS % DAY_NS
    write(
        influxdb.url,
        database,
        [point(COLD, _three_days(m), start + m * MIN_NS) for m in range(3 * 1440)]
        + [point(DOCK, 30.0, start + m * MIN_NS) for m in range(0, 3 * 1440, 7)],
    )
    return database


def test_buckets_are_coarse_where_quiet_and_raw_where_not(
    influxdb: InfluxDB, three_days: str
) -> None:
    start_ns = T0_NS - T0_NS % DAY_NS
    start = datetime.fromtimestamp(start_ns / 1e9, tz=UTC)
    end = start + timedelta(days=3)
    width = timedelta(minutes=10)
    with InfluxTemperatureReader(influxdb.url, three_days) as reader:
        buckets = reader.buckets(COLD, start, end, 2.0, 8.0, width)
        raw = [p.celsius for p in reader.points(COLD, start, end)]
        with InfluxTemperatureReader(influxdb.url, three_days, levels=()) as all_raw:
            fine = all_raw.buckets(COLD, start, end, 2.0, 8.0, width)
    assert sum(b.count for b in buckets) == len(raw) == 3 * 1440
    # Day 1 is one daily bucket standing for its 1,440 readings by their mean.
    assert buckets[0].width == timedelta(days=1)
    assert buckets[0].count == 1440
    assert buckets[0].samples == ()
    # Day 2 swings ±1 °C: hours where it moves more than 0.5 °C come as raw readings in
    # 10-minute buckets; a bucket standing by its mean never spreads wider than that.
    day2 = [b for b in buckets if start + timedelta(days=1) <= b.start < end - timedelta(days=1)]
    assert {b.width for b in day2} == {width, timedelta(hours=1)}
    assert all(b.samples for b in day2 if b.width == width)
    assert all(b.max_c - b.min_c <= 0.5 for b in buckets if not b.samples)
    assert all(b.min_c >= 2.0 and b.max_c <= 8.0 for b in buckets if not b.samples)
    # The 25-minute excursion to 11 °C is counted reading by reading.
    assert sum(b.out_of_range for b in buckets) == 25 == sum(b.out_of_range for b in fine)
    assert max(b.max_c for b in buckets) == 11.0
    assert min(b.min_c for b in buckets) == pytest.approx(min(raw))
    # MKT from the mixed buckets agrees with the raw readings (the bound is 0.005 °C).
    mixed = [(c, 1.0) for b in buckets for c in b.samples] + [
        (b.mean_c, float(b.count)) for b in buckets if not b.samples
    ]
    assert mean_kinetic_temperature(mixed) == pytest.approx(
        mean_kinetic_temperature([(c, 1.0) for c in raw]), abs=0.005
    )
    # Far fewer buckets than the all-raw reading of the same span.
    assert len(buckets) < len(fine) / 2


def test_buckets_of_an_empty_or_inverted_span(influxdb: InfluxDB, three_days: str) -> None:
    start = datetime(2020, 1, 1, tzinfo=UTC)
    with InfluxTemperatureReader(influxdb.url, three_days) as reader:
        assert reader.buckets(COLD, start, start + timedelta(days=2), 2, 8, MINUTE) == []
        assert reader.buckets(COLD, start, start - timedelta(days=1), 2, 8, MINUTE) == []


def test_max_spread_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="max_spread_c"):
        InfluxTemperatureReader("http://127.0.0.1:1", max_spread_c=-0.1)


MINUTE = timedelta(minutes=1)
