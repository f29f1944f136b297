"""InfluxWriter, the gateway's sink, against the real influxd 1.6.7 (v1 HTTP API).

The client itself is tested in tests/influx; here: the gateway's lines read back
exactly, the missing database created on write (with the retention plan applied), and
the translation of every failure into SinkRejected (dead-letter) or SinkUnavailable (retry).
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from gateway.errors import SinkRejected, SinkUnavailable
from gateway.influx import InfluxWriter
from gateway.lineprotocol import temperature_line, timestamp_ns
from influx.client import InfluxClient
from influx.retentionplan import RetentionPlan
from sensors.temperature import TemperatureReading
from tests.influx.answering import answering
from tracehub.services import InfluxDB, free_port

pytestmark = pytest.mark.integration

READING = TemperatureReading(
    device_id="probe-1",
    seq=42,
    ts=datetime(2026, 11, 22, 10, 0, 0, 123456, tzinfo=UTC),
    celsius=1e-05,
    humidity=61.0,
)
LOC = "urn:epc:id:sgln:4012345.00001.a=b,c"  # the device's placement, escaped in the tag


def fresh_db() -> str:
    return "t_" + uuid.uuid4().hex[:12]


def test_write_and_read_back_exactly(influxdb: InfluxDB) -> None:
    with InfluxWriter(influxdb.url, fresh_db()) as writer:
        writer.ensure_database()
        writer.ensure_database()  # idempotent
        line = temperature_line("cold 1", READING, LOC)
        writer.write([line])
        writer.write([line])  # same series + timestamp: overwritten, not added
        [series] = writer.query("SELECT * FROM temperature")
    [row] = series["rows"]
    assert row == {
        "time": timestamp_ns(READING.ts),
        "celsius": 1e-05,
        "device": "probe-1",
        "humidity": 61.0,
        "location": "urn:epc:id:sgln:4012345.00001.a=b,c",
        "seq": 42,
        "site": "cold 1",
    }


def test_missing_database_is_created_on_write(influxdb: InfluxDB) -> None:
    with InfluxWriter(influxdb.url, fresh_db()) as writer:
        writer.write([temperature_line("s", READING, LOC)])
        assert len(writer.query("SELECT celsius FROM temperature")[0]["rows"]) == 1


def test_bad_line_is_rejected_with_influx_reason(influxdb: InfluxDB) -> None:
    with InfluxWriter(influxdb.url, fresh_db()) as writer:
        writer.ensure_database()
        writer.write(["temperature,site=s celsius=1.0 1"])
        with pytest.raises(SinkRejected, match="field type conflict"):
            writer.write(["temperature,site=s celsius=1i 2"])
        with pytest.raises(SinkRejected, match="HTTP 400"):
            writer.write(["temperature celsius=oops 3"])


def test_bad_query_is_rejected(influxdb: InfluxDB) -> None:
    with InfluxWriter(influxdb.url, fresh_db()) as writer:
        writer.ensure_database()
        with pytest.raises(SinkRejected, match="error parsing query"):
            writer.query("SELEC * FROM temperature")


def test_unreachable_server_is_unavailable() -> None:
    with InfluxWriter(f"http://127.0.0.1:{free_port()}", "x", timeout=1.0) as writer:
        with pytest.raises(SinkUnavailable, match="unreachable"):
            writer.write(["temperature celsius=1.0 1"])
        with pytest.raises(SinkUnavailable, match="unreachable"):
            writer.ensure_database()
        with pytest.raises(SinkUnavailable, match="unreachable"):
            writer.query("SELECT * FROM temperature")


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (503, b'{"error":"engine closed"}'),
        # An auth refusal is the operator's to fix: the points wait in the spool meanwhile.
        (401, b'{"code":"unauthorized","message":"unauthorized access"}'),
        (404, b"404 page not found"),
    ],
)
def test_other_refusals_leave_the_points_spooled(status: int, body: bytes) -> None:
    with (
        answering(status, body) as url,
        InfluxWriter(url, "x") as writer,
        pytest.raises(SinkUnavailable, match=f"HTTP {status}") as failed,
    ):
        writer.write(["temperature celsius=1.0 1"])
    assert not isinstance(failed.value, SinkRejected)


# --- the retention plan, applied whenever the writer creates the database ---------------

PLAN = RetentionPlan()  # autogen 1827 days (DEFAULT), rollup, the 15-minute rollup CQ


def _retention(writer: InfluxWriter, database: str) -> tuple[dict[str, Any], list[str]]:
    [policies] = writer.query(f'SHOW RETENTION POLICIES ON "{database}"')
    cqs = [
        row["name"] for s in writer.query("SHOW CONTINUOUS QUERIES") if s["name"] == database
        for row in s["rows"]
    ]  # fmt: skip
    return {row["name"]: row for row in policies["rows"]}, cqs


def test_the_plan_is_applied_at_ensure_and_again_when_the_database_is_lost(
    influxdb: InfluxDB, caplog: pytest.LogCaptureFixture
) -> None:
    db = fresh_db()
    with InfluxWriter(influxdb.url, db, retention=PLAN) as writer:
        with caplog.at_level(logging.INFO, logger="gateway.influx"):
            writer.ensure_database()
            applied = len(caplog.records)
            writer.ensure_database()  # nothing left to change: nothing logged
        assert applied == 3
        assert len(caplog.records) == applied
        policies, cqs = _retention(writer, db)
        assert policies["autogen"]["duration"] == "43848h0m0s"
        assert policies["autogen"]["default"] is True
        assert cqs == ["tracehub_temperature_15m"]

        with InfluxClient(influxdb.url, db) as admin:
            admin.execute(f'DROP DATABASE "{db}"')  # InfluxDB lost it (a fresh start)
        writer.write([temperature_line("s", READING, LOC)])
        policies, cqs = _retention(writer, db)
        assert set(policies) == {"autogen", "rollup"}
        assert policies["autogen"]["duration"] == "43848h0m0s"
        assert cqs == ["tracehub_temperature_15m"]
        assert len(writer.query("SELECT celsius FROM temperature")[0]["rows"]) == 1


def test_a_server_without_retention_policies_is_logged_and_writes_go_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    written: list[bytes] = []

    def influx2(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/ping":
            return httpx.Response(204, headers={"X-Influxdb-Version": "v2.7.11"})
        if request.url.path == "/write":
            written.append(request.content)
            return httpx.Response(204)
        return httpx.Response(200, json={"results": [{}]})

    transport = httpx.MockTransport(influx2)
    with InfluxWriter("http://influx2", "tracehub", retention=PLAN, transport=transport) as w:
        with caplog.at_level(logging.ERROR, logger="gateway.influx"):
            w.ensure_database()  # does not raise
        w.write([temperature_line("s", READING, LOC)])
    [logged] = caplog.records
    assert "retention of InfluxDB database 'tracehub' not applied" in logged.getMessage()
    assert "influx bucket update" in logged.getMessage()
    assert len(written) == 1
