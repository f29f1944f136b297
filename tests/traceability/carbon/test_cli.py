"""``tracehub carbon report`` end to end: JSON input + real InfluxDB → the report."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from ledger.canonical import canonicalize
from ledger.digest import sha256
from tracehub.cli import main
from tracehub.services import InfluxDB

pytestmark = pytest.mark.integration

DATA = Path(__file__).parents[2] / "data" / "traceability" / "carbon" / "lot_l1.json"
ROOM = "urn:epc:id:sgln:4012345.00002.0"
START = datetime(2026, 11, 20, tzinfo=UTC)


@pytest.fixture(scope="module")
def database(influxdb: InfluxDB) -> str:
    name = "carbon" + uuid.uuid4().hex[:8]
    lines = [
        f"coldroom,site=wh1,location={ROOM},plc=plc-1 compressor_kw=10 "
        f"{int((START + timedelta(minutes=m)).timestamp()) * 1_000_000_000}"
        for m in range(0, 24 * 60, 5)
    ]
    with httpx.Client(timeout=5) as client:
        client.post(f"{influxdb.url}/query", params={"q": f'CREATE DATABASE "{name}"'})
        response = client.post(
            f"{influxdb.url}/write", params={"db": name}, content="\n".join(lines)
        )
        assert response.status_code == 204, response.text
    return name


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["carbon", *args])
    return result.exit_code, result.output


def test_report_json_from_telemetry(influxdb: InfluxDB, database: str) -> None:
    args = [
        "report",
        "--input",
        str(DATA),
        "--influx-url",
        influxdb.url,
        "--database",
        database,
        "--created",
        "2026-11-22T12:00:00+0000",
        "--json",
    ]
    code, output = run(*args)
    assert code == 0, output
    report = json.loads(output)
    breakdown = report["extensions"][-1]["data"]
    assert breakdown["totalKgCO2e"] == "243.328"  # hand-computed in test_calculation
    assert report["created"] == "2026-11-22T12:00:00Z"
    again = json.loads(run(*args)[1])
    assert sha256(canonicalize(again)) == sha256(canonicalize(report))


def test_unknown_database_names_the_cause(influxdb: InfluxDB) -> None:
    code, output = run(
        "report", "--input", str(DATA), "--influx-url", influxdb.url, "--database", "no_such_db"
    )
    assert code == 2
    assert "no_such_db" in output
    assert "check that the database exists" in output


def test_report_table(influxdb: InfluxDB, database: str) -> None:
    code, output = run(
        "report", "--input", str(DATA), "--influx-url", influxdb.url, "--database", database
    )
    assert code == 0, output
    assert "243.328" in output
    assert "primary test-packaging-board" in output
    assert "sha256:" in output


def test_wrong_lot_is_a_usage_problem(influxdb: InfluxDB, database: str) -> None:
    code, output = run("report", "--input", str(DATA), "--lot", "OTHER")
    assert code == 2
    assert "gtin: " in output
    assert "not 04012345111118/OTHER" in output


def test_bad_input_names_the_field(tmp_path: Path) -> None:
    raw = json.loads(DATA.read_text(encoding="utf-8"))
    raw["shipments"][0]["legs"][0]["distance_km"] = -1
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    code, output = run("report", "--input", str(path))
    assert code == 2
    assert "shipments[0].legs[0].distance_km" in output


def test_missing_telemetry_is_refused(influxdb: InfluxDB) -> None:
    empty = "empty" + uuid.uuid4().hex[:8]
    httpx.post(f"{influxdb.url}/query", params={"q": f'CREATE DATABASE "{empty}"'}, timeout=5)
    code, output = run(
        "report", "--input", str(DATA), "--influx-url", influxdb.url, "--database", empty
    )
    assert code == 2
    assert "stays[0]: no compressor power samples" in output


def test_factors_listing() -> None:
    code, output = run("factors", "--json")
    assert code == 0
    factors = json.loads(output)
    assert all(factor["source"] and factor["citation"] for factor in factors)
