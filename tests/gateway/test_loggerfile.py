"""Logger-file readings in the gateway: the internal topic, the clock without its
backfill window, the spool taking rows appended by another process, the redelivery
index kept for logger devices, and the admission preview."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.admission import ClockRules, clock_check, digest
from gateway.decode import (
    BAD_TOPIC,
    CLOCK,
    ID_MISMATCH,
    LoggerObservation,
    Rejection,
    TemperatureObservation,
    decode,
)
from gateway.devices.directory import StaticDirectory
from gateway.lineprotocol import temperature_line, timestamp_ns
from gateway.loggerfile import ALREADY, NEW, logger_batch, pending, preview, spool_batch
from gateway.spool import KEPT_SCOPE, Incoming, Spool
from sensors.loggers.formats import read_export
from sensors.temperature import TemperatureReading
from tests.support.devices import probe

DATA = Path(__file__).parents[1] / "data" / "sensors" / "loggers"
REEFER = "urn:epc:id:sgln:4012345.00009.reefer7"
PACKED = datetime(2026, 11, 19, tzinfo=UTC)
NOW = datetime(2026, 12, 2, 16, tzinfo=UTC)  # the readings are 12 days old
TOPIC = "logger/s1/lg1"


def payload(ts: str = "2026-11-20T07:00:00Z", device: str = "lg1") -> bytes:
    return json.dumps({"device_id": device, "seq": 1, "ts": ts, "celsius": 4.2}).encode()


def directory() -> StaticDirectory:
    return StaticDirectory([probe("s1", "lg1", (REEFER, PACKED))])


def test_the_logger_topic_decodes_to_a_temperature_observation_of_its_own() -> None:
    decoded = decode(TOPIC, payload())
    assert isinstance(decoded, LoggerObservation)
    assert isinstance(decoded, TemperatureObservation)  # stored like any reading
    assert decoded.site == "s1"
    wrong = decode(TOPIC, payload(device="other"))
    assert isinstance(wrong, Rejection)
    assert wrong.code == ID_MISMATCH
    bad = decode("logger/s1/lg1/extra", payload())
    assert isinstance(bad, Rejection)
    assert bad.code == BAD_TOPIC


def test_an_old_logger_reading_passes_the_clock_where_a_probe_reading_does_not() -> None:
    received = timestamp_ns(NOW)
    old = decode(TOPIC, payload())
    assert clock_check(old, received, ClockRules(), directory()) == old
    probe_reading = decode("tracehub/v1/s1/temperature/lg1", payload())
    refused = clock_check(probe_reading, received, ClockRules(), directory())
    assert isinstance(refused, Rejection)
    assert "backfill window" in refused.reason


def test_a_logger_reading_is_still_bounded_by_provisioning_and_the_future() -> None:
    received = timestamp_ns(NOW)
    for ts, words in (
        ("2026-11-10T07:00:00Z", "before the device was provisioned"),
        ("2026-12-03T07:00:00Z", "ahead of when the gateway received it"),
    ):
        refused = clock_check(decode(TOPIC, payload(ts)), received, ClockRules(), directory())
        assert isinstance(refused, Rejection)
        assert (refused.code, words in refused.reason) == (CLOCK, True)


def test_rows_another_process_appends_are_seen_by_the_idle_drain_side(tmp_path: Path) -> None:
    gateway_side = Spool(tmp_path / "spool.sqlite3")
    assert not gateway_side.wait_for_entries(0.01)  # first ask: nothing there
    importer = Spool(tmp_path / "spool.sqlite3")  # another process opens the same file
    importer.append([Incoming(TOPIC, payload(), 1)])
    assert gateway_side.depth == 0  # its counters know nothing yet
    assert gateway_side.wait_for_entries(0.01)
    assert gateway_side.depth == 1
    (entry,) = gateway_side.peek(10)
    gateway_side.complete([entry])
    assert gateway_side.depth == 0
    assert not gateway_side.wait_for_entries(0.01)
    importer.close()
    gateway_side.close()


def test_a_logger_devices_index_outlives_the_backfill_prune(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite3")
    spool.complete([], [(KEPT_SCOPE, "s1/temperature/lg1", "1")])
    spool.complete([], accepted=[("s1/temperature/lg1", 5, "a"), ("s1/temperature/p1", 5, "b")])
    spool.complete([], forget_accepted_before=10)
    assert spool.accepted_digests([("s1/temperature/lg1", 5), ("s1/temperature/p1", 5)]) == {
        ("s1/temperature/lg1", 5): "a"
    }
    spool.close()


def test_preview_tells_new_from_stored_and_names_each_refusal(tmp_path: Path) -> None:
    export = read_export((DATA / "elitech-celsius.csv").read_bytes())
    batch = logger_batch(export, "s1", "lg1", timestamp_ns(NOW))
    spool = Spool(tmp_path / "spool.sqlite3")
    counts, _ = preview(batch, spool, directory(), ClockRules())
    assert counts == {NEW: 12}
    unplaced = StaticDirectory([probe("s1", "lg1")])
    counts, reasons = preview(batch, spool, unplaced, ClockRules())
    assert counts == {"unassigned": 12}
    assert "tracehub devices assign s1/temperature/lg1" in reasons["unassigned"]
    spool.close()


def test_a_batch_is_spooled_in_chunks_and_pending_until_drained(tmp_path: Path) -> None:
    export = read_export((DATA / "generic-celsius.csv").read_bytes())
    batch = logger_batch(export, "s1", "lg1", timestamp_ns(NOW))
    spool = Spool(tmp_path / "spool.sqlite3")
    progress: list[int] = []
    assert spool_batch(batch, spool, progress.append) == 12
    assert progress == [12]
    assert pending(batch, spool.path) == 12
    assert spool.state(KEPT_SCOPE) == {}  # the gateway keeps it, once it may (loggerdevice)
    spool.complete(spool.peek(100))
    assert pending(batch, spool.path) == 0
    spool.close()


def test_a_full_spool_makes_the_import_wait_for_the_drain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    export = read_export((DATA / "generic-celsius.csv").read_bytes())
    batch = logger_batch(export, "s1", "lg1", timestamp_ns(NOW))
    path = tmp_path / "spool.sqlite3"
    gateway_side = Spool(path)
    gateway_side.append([Incoming("tracehub/v1/s1/temperature/p1", b"x" * 900, 1)])
    importer = Spool(path, max_bytes=1_000)
    waits: list[float] = []

    def drained_meanwhile(seconds: float) -> None:
        # The import waits here; the gateway (another process) drains its batch meanwhile.
        waits.append(seconds)
        gateway_side.complete(gateway_side.peek(1))

    monkeypatch.setattr(time, "sleep", drained_meanwhile)
    assert spool_batch(batch, importer, wait_s=0.01) == 12
    assert waits == [0.01]  # it waited once, until the drain made room
    assert {e.topic for e in gateway_side.peek(100)} == {batch.topic}
    importer.close()
    gateway_side.close()


def test_the_same_reading_already_stored_is_previewed_as_such(tmp_path: Path) -> None:
    export = read_export((DATA / "generic-celsius.csv").read_bytes())
    batch = logger_batch(export, "s1", "lg1", timestamp_ns(NOW))
    spool = Spool(tmp_path / "spool.sqlite3")
    counts, _ = preview(batch, spool, directory(), ClockRules())
    assert counts[NEW] == 12
    # What the gateway indexes once it stored them (gateway/pipeline.py does the same).
    rows = []
    for item in batch.items:
        reading = TemperatureReading.model_validate_json(item.payload)
        line = temperature_line("s1", reading, REEFER)
        rows.append(("s1/temperature/lg1", timestamp_ns(reading.ts), digest(line)))
    spool.complete([], accepted=rows)
    counts, _ = preview(batch, spool, directory(), ClockRules())
    assert counts == {ALREADY: 12}
    spool.close()
