"""``tracehub readings import`` against a running hub: real mosquitto, InfluxDB, gateway.

A logger file's readings end in InfluxDB through the gateway's own checks, are sealed
into telemetry windows in the ledger, and the file's SHA-256 is a signed record; the
same file again creates nothing, a tampered one has another hash and its changed line
is refused as a conflict."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from gateway.spool import Spool
from influx.client import InfluxClient
from ledger.batch import StoredEntry
from tests.support.hubs import hub_settings
from tests.tracehub.conftest import MakeSettings
from tracehub.commands.readings import readings
from tracehub.hub import Hub
from tracehub.services import InfluxDB, Mosquitto
from tracehub.settings import GatewaySettings, Settings
from tracehub.site import open_device_registry

DATA = Path(__file__).parents[1] / "data" / "sensors" / "loggers"
REEFER = "urn:epc:id:sgln:4012345.00009.reefer7"
LOGGER = "logger-118"
PACKED = datetime(2026, 11, 19, 12, tzinfo=UTC)  # provisioned and placed before the trip


@pytest.fixture
def settings(tmp_path: Path, mosquitto: Mosquitto, influxdb: InfluxDB) -> Settings:
    options = tmp_path / "gateway.json"
    # Seal a window as soon as nothing more arrives for it (the windows are old).
    options.write_text(
        json.dumps({"evidence_grace_s": 0, "evidence_quiet_s": 0.5, "evidence_check_s": 0.2})
    )
    base = hub_settings(tmp_path / "state", "loggers", mosquitto, influxdb)
    return base.model_copy(update={"gateway": GatewaySettings(config_file=options)})


@pytest.fixture
def hub(settings: Settings) -> Iterator[Hub]:
    from gateway.devices.access import Identity

    registry = open_device_registry(settings)
    registry.provision(
        Identity(kind="temperature", site=settings.hub.site, device_id=LOGGER),
        now=PACKED,
        location=REEFER,
    )
    with Hub(settings) as running:
        yield running


def run(settings: Settings, *args: str) -> tuple[Result, str]:
    """The command's result and its output with rich's line wrapping undone."""
    result = CliRunner().invoke(readings, ["import", *args], obj=settings, catch_exceptions=False)
    return result, " ".join(result.output.split())


def points(settings: Settings) -> int:
    assert settings.influx.url is not None
    with InfluxClient(settings.influx.url, settings.influx.database) as client:
        found = client.query(f"SELECT count(celsius) FROM temperature WHERE device = '{LOGGER}'")
    return int(found[0].values[0][1]) if found else 0


def stream(hub: Hub, kind: str) -> list[StoredEntry]:
    return [e for e in hub.ledger.stream(f"device:{LOGGER}") if e.entry.kind == kind]


def kept(hub: Hub, kind: str, entry: StoredEntry) -> dict[str, Any]:
    record = hub.ledger.kept_record(kind, entry.entry.record_id)
    assert isinstance(record, dict)
    return record


def sealed(hub: Hub, count: int, timeout: float = 30.0) -> list[StoredEntry]:
    """The device's sealed windows once ``count`` are in the ledger (the sealer is a thread
    of the hub: its ledger is what another process would see, so it is polled)."""
    deadline = time.monotonic() + timeout
    while len(found := stream(hub, "telemetry_window")) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    return found


@pytest.mark.integration
def test_a_logger_file_is_stored_sealed_and_recorded_once(
    hub: Hub, settings: Settings, tmp_path: Path
) -> None:
    sample = DATA / "elitech-celsius.csv"
    first, first_said = run(settings, str(sample), "--device", LOGGER, "--wait")
    assert first.exit_code == 0, first.output
    assert "12 new" in first_said
    assert "12 stored" in first_said
    assert points(settings) == 12
    # 07:00-08:50 UTC: two hour windows, each sealed from what the gateway received.
    windows = sealed(hub, 2)
    assert [w.entry.kind for w in windows] == ["telemetry_window"] * 2
    seals = [kept(hub, "telemetry_window", w) for w in windows]
    assert sum(seal["count"] for seal in seals) == 12
    assert {loc for seal in seals for loc in seal["locations"]} == {REEFER}
    assert [seal["missing"] for seal in seals] == [0, 0]  # every 10-min interval logged
    (record,) = stream(hub, "logger_file")
    body = kept(hub, "logger_file", record)
    assert body["count"] == 12
    assert body["device"] == LOGGER
    assert body["first_reading"] == "2026-11-20T07:00:00.000Z"
    assert body["last_reading"] == "2026-11-20T08:50:00.000Z"
    assert body["serial"] == "EF2611A0042"
    entries = hub.ledger.pending().count

    again, again_said = run(settings, str(sample), "--device", LOGGER, "--wait")
    assert again.exit_code == 0, again.output
    assert "already imported" in again_said
    assert "already in the ledger" in again_said
    assert hub.ledger.pending().count == entries  # not one new leaf
    assert points(settings) == 12
    other, other_said = run(settings, str(sample), "--device", LOGGER, "--shipment", "SH-9")
    assert other.exit_code == 2
    assert "was imported before as device logger-118, shipment None" in other_said
    assert "queued" not in other_said

    # One value changed: another file (another hash), and that reading is a conflict.
    lines = sample.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    changed = [line.replace(",4.6", ",3.6") for line in lines]
    assert changed != lines
    tampered = tmp_path / "elitech-tampered.csv"
    tampered.write_text("".join(changed), encoding="utf-8-sig")
    third, third_said = run(settings, str(tampered), "--device", LOGGER, "--wait")
    assert third.exit_code == 0, third.output
    assert "1 conflict" in third_said
    assert "11 stored" in third_said
    files = stream(hub, "logger_file")
    assert len(files) == 2
    assert len({f.entry.record_id for f in files}) == 2
    assert points(settings) == 12  # stored readings are never overwritten


def test_a_file_without_a_time_zone_is_refused_naming_the_option(
    make_settings: MakeSettings,
) -> None:
    settings = make_settings()
    result, said = run(settings, str(DATA / "generic-fahrenheit-local.csv"), "--device", LOGGER)
    assert result.exit_code == 2
    assert "carry no UTC offset: give --tz" in said
    assert not (settings.hub.state_dir / "gateway" / "spool.sqlite3").exists()


def test_readings_no_rule_would_store_are_not_queued(make_settings: MakeSettings) -> None:
    settings = make_settings()  # the logger is in no registry: every reading unassigned
    result, said = run(settings, str(DATA / "logtag-celsius.csv"), "--device", LOGGER)
    assert result.exit_code == 2
    assert "12 unassigned" in said
    assert f"place it with `tracehub devices assign hub-test/temperature/{LOGGER}" in said
    assert "nothing queued" in said
    spool = Spool(settings.hub.state_dir / "gateway" / "spool.sqlite3")
    assert spool.depth == 0
    spool.close()


def test_help_says_what_why_and_an_example() -> None:
    shown = CliRunner().invoke(readings, ["import", "--help"]).output
    assert "Why:" in shown
    assert "Example: tracehub readings import" in shown
    assert "--tz" in shown


@pytest.mark.integration
def test_a_file_for_a_device_with_readings_of_its_own_is_refused_before_queueing(
    hub: Hub, settings: Settings
) -> None:
    # The device already reported over MQTT: a file could overwrite one of those readings
    # once the redelivery index forgot it, so none is queued, and nothing is signed.
    assert settings.influx.url is not None
    line = f"temperature,device={LOGGER},location={REEFER},site={settings.hub.site} celsius=8.9"
    with InfluxClient(settings.influx.url, settings.influx.database) as client:
        client.write([f"{line},seq=1i 1795161600000000000"])  # 2026-11-20T07:00Z
    result, said = run(settings, str(DATA / "elitech-celsius.csv"), "--device", LOGGER)
    assert result.exit_code == 2
    assert "12 wrong source" in said
    assert "InfluxDB holds 1 readings of it" in said
    assert "nothing queued" in said
    assert stream(hub, "logger_file") == []
    assert points(settings) == 1


def test_a_file_over_the_size_bound_is_refused_before_it_is_read(
    make_settings: MakeSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sensors.loggers.table import MAX_BYTES

    big = tmp_path / "big.csv"
    with big.open("wb") as out:
        out.truncate(MAX_BYTES + 1)  # sparse: its size, without writing it

    def never(self: Path) -> bytes:
        raise AssertionError("read before its size was checked")

    monkeypatch.setattr(Path, "read_bytes", never)
    result, said = run(make_settings(), str(big), "--device", LOGGER)
    assert result.exit_code == 2
    assert f"big.csv: the file is {MAX_BYTES + 1} bytes, over the {MAX_BYTES}" in said
