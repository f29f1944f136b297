"""InfluxTemperatureReader against the real influxd 1.6.7 spawned by the fixtures."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
import pytest

from traceability.errors import TelemetryUnavailable
from traceability.telemetry import InfluxTemperatureReader, TemperatureReader, influxql_string
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


def test_influxql_string_escaping() -> None:
    assert influxql_string("a'b\\c") == "'a\\'b\\\\c'"


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
