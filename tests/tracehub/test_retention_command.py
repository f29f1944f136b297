"""``tracehub retention show|apply`` against the real influxd and a ledger holding a sealed
telemetry window: applied and read back, idempotent, refused when the raw retention is
shorter than the sealed evidence's age, the gateway's readings still read by the cold-chain
reader afterwards; and the hub applies the plan at start, or refuses the same setting."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.completeness import KIND, window_record
from gateway.influx import InfluxWriter
from gateway.lineprotocol import temperature_line
from influx.client import InfluxClient
from influx.retention import RetentionAdmin
from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from ledger.submitter import RecordSubmitter
from sensors.temperature import TemperatureReading
from tests.tracehub.conftest import MakeSettings
from traceability.coldchain.telemetry import InfluxTemperatureReader
from traceability.errors import RetentionRefused
from tracehub.cli import main
from tracehub.hub import Hub
from tracehub.retaining import require_retention
from tracehub.retentionsettings import RetentionSettings
from tracehub.services import InfluxDB, Mosquitto, free_port
from tracehub.settings import InfluxSettings, LedgerSettings, MqttSettings

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)
SEALED_START = (NOW - timedelta(days=400)).replace(minute=0, second=0, microsecond=0)
LOC = "urn:epc:id:sgln:4012345.00001.room1"


def _seal(ledger_url: str) -> None:
    """One probe's window sealed 400 days ago, the way the hub's EvidenceBridge files it."""
    start_ns = int(SEALED_START.timestamp()) * 10**9
    reading = {"time": str(start_ns), "site": "s", "location": LOC, "seq": 1, "celsius": 4.0}
    record = window_record("probe-1", start_ns, start_ns + 3600 * 10**9, [reading])
    sealed_at = SEALED_START + timedelta(hours=1, minutes=6)
    signer = Signer.generate("site:test", SEALED_START - timedelta(days=1))
    store = LedgerStore.open(ledger_url)
    try:
        RecordSubmitter(store, signer, clock=lambda: sealed_at).submit(
            KIND, record, streams=["device:probe-1"]
        )
    finally:
        store.close()


@pytest.fixture
def env(tmp_path: Path, influxdb: InfluxDB) -> dict[str, str]:
    ledger_url = f"sqlite:///{tmp_path / 'ledger.db'}"
    _seal(ledger_url)
    return {
        "TRACEHUB_STATE_DIR": str(tmp_path / "state"),
        "TRACEHUB_LEDGER_URL": ledger_url,
        "TRACEHUB_INFLUX_URL": influxdb.url,
        "TRACEHUB_INFLUX_DATABASE": "c_" + uuid.uuid4().hex[:12],
        "COLUMNS": "200",
    }


def _run(env: dict[str, str], *args: str, **more: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["retention", *args], env={**env, **more})
    return result.exit_code, result.output


def _write_readings(env: dict[str, str]) -> None:
    reading = TemperatureReading(
        device_id="probe-1", seq=7, ts=NOW - timedelta(minutes=5), celsius=4.25
    )
    url, db = env["TRACEHUB_INFLUX_URL"], env["TRACEHUB_INFLUX_DATABASE"]
    with InfluxWriter(url, db) as writer:  # the gateway's sink, no plan: autogen as today
        writer.write([temperature_line("s", reading, LOC)])


def test_apply_reads_back_is_idempotent_and_the_readings_stay_readable(
    env: dict[str, str],
) -> None:
    _write_readings(env)
    code, out = _run(env, "apply")
    assert code == 0, out
    assert 'ALTER RETENTION POLICY "autogen"' in out
    assert 'CREATE RETENTION POLICY "rollup"' in out
    assert 'CREATE CONTINUOUS QUERY "tracehub_temperature_15m"' in out
    assert "ran 3 statement(s)" in out

    code, out = _run(env, "apply")
    assert code == 0, out
    assert "nothing to change" in out

    code, out = _run(env, "show", "--json")
    assert code == 0, out
    shown = json.loads(out)
    assert [(p["policy"], p["matches"]) for p in shown["policies"]] == [
        ("autogen", True),
        ("rollup", True),
    ]
    assert "DEFAULT" in shown["policies"][0]["influxdb"]
    assert [(q["name"], q["matches"]) for q in shown["continuous_queries"]] == [
        ("tracehub_temperature_15m", True)
    ]
    assert shown["oldest_sealed_window"]["device"] == "probe-1"
    assert shown["refusal"] is None

    url, db = env["TRACEHUB_INFLUX_URL"], env["TRACEHUB_INFLUX_DATABASE"]
    with InfluxTemperatureReader(url, db) as reader:
        latest = reader.latest(LOC)
    assert latest is not None
    assert latest.celsius == 4.25


def test_show_before_apply_says_what_differs(env: dict[str, str]) -> None:
    _write_readings(env)
    code, out = _run(env, "show")
    assert code == 0, out
    assert "autogen" in out
    assert "forever DEFAULT" in out  # what InfluxDB has: autogen keeps everything
    assert "✗ apply" in out
    assert "✗ missing" in out
    assert f"probe-1 from {SEALED_START:%Y-%m-%dT%H:%M:%SZ} (400 days old)" in out


def test_a_retention_shorter_than_the_sealed_evidence_is_refused(env: dict[str, str]) -> None:
    _write_readings(env)
    code, out = _run(
        env, "apply", TRACEHUB_RETENTION_RAW_DAYS="365", TRACEHUB_RETENTION_COMPLIANCE_DAYS="3653"
    )
    assert code == 1, out
    flat = " ".join(out.split())
    assert "refused: TRACEHUB_RETENTION_RAW_DAYS=365" in flat
    assert f"probe-1 from {SEALED_START:%Y-%m-%dT%H:%M:%SZ} (400 days old)" in flat
    assert "its readings would be deleted now" in flat
    assert "at least 3653" in flat
    code, out = _run(env, "show", "--json")  # nothing was changed
    assert json.loads(out)["policies"][0]["influxdb"].startswith("forever")
    code, out = _run(env, "show", TRACEHUB_RETENTION_RAW_DAYS="365")
    assert "refused:" in out


def test_a_dry_run_runs_nothing(env: dict[str, str]) -> None:
    code, out = _run(env, "apply", "--dry-run")
    assert code == 0, out
    assert "would run 3 statement(s)" in out
    code, out = _run(env, "show", "--json")
    assert json.loads(out)["database_exists"] is False


def test_help_gives_the_compliance_reason() -> None:
    result = CliRunner().invoke(main, ["retention", "--help"])
    assert result.exit_code == 0
    assert "China GSP" in result.output
    assert "tracehub retention apply" in result.output


def test_the_hub_refuses_the_setting_at_start(
    make_settings: MakeSettings, env: dict[str, str]
) -> None:
    settings = make_settings(
        mqtt=MqttSettings(port=free_port(), security="plain"),
        influx=InfluxSettings(url=env["TRACEHUB_INFLUX_URL"], database="x"),
        ledger=LedgerSettings(url=env["TRACEHUB_LEDGER_URL"]),
        retention=RetentionSettings(raw_days=365, compliance_days=3653),
    )
    with pytest.raises(RetentionRefused, match="TRACEHUB_RETENTION_RAW_DAYS=365 would let"):
        Hub(settings).open()
    fine = settings.model_copy(update={"retention": RetentionSettings()})
    store = LedgerStore.open(env["TRACEHUB_LEDGER_URL"])
    try:
        plan = require_retention(fine, store)
        assert plan is not None
        assert plan.raw.duration == timedelta(days=1827)
        unmanaged = settings.model_copy(update={"retention": RetentionSettings(manage=False)})
        assert require_retention(unmanaged, store) is None
    finally:
        store.close()


def test_the_hub_applies_the_plan_at_start(
    make_settings: MakeSettings, influxdb: InfluxDB, mosquitto: Mosquitto
) -> None:
    database = "h_" + uuid.uuid4().hex[:12]
    settings = make_settings(
        mqtt=MqttSettings(port=mosquitto.port, security="plain"),
        influx=InfluxSettings(url=influxdb.url, database=database),
    )
    with Hub(settings), InfluxClient(influxdb.url, database) as client:
        state = RetentionAdmin(client).state()
    assert [(p.name, p.duration, p.default) for p in state.policies] == [
        ("autogen", timedelta(days=1827), True),
        ("rollup", timedelta(days=3653), False),
    ]
    assert [q.name for q in state.queries] == ["tracehub_temperature_15m"]
