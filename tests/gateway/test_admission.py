"""Admission: a device speaks only for itself, its clock is sane, history is not rewritten.

Unit tests of the pure rules, then the attacks against a real gateway (mosquitto +
InfluxDB), whose probes and dock reader are placed in a real device registry read
through ``devices_dir`` as the hub reads it, and whose custody events go to a real
traceability records store (SQLite) through the hub's capture bridge. Each attack is
published as an attacker on the plain broker would publish it; InfluxDB and the
records are then asked what they hold.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from gateway.admission import ClockRules, clock_rejection, placement, read_point
from gateway.config import GatewayConfig
from gateway.devices.access import Identity
from gateway.devices.directory import RegistryDirectory
from gateway.devices.registry import DeviceRegistry
from gateway.influx import InfluxWriter
from gateway.lineprotocol import timestamp_ns
from gateway.runtime import GatewayRuntime, build_gateway
from sensors.fields import format_timestamp
from sensors.rfid import TagRead
from sensors.temperature import TemperatureReading
from tests.support.devices import placed
from traceability.capture import CaptureService
from traceability.records.entities import StoredEvent
from traceability.records.store import RecordStore
from tracehub.bridges import CaptureBridge
from tracehub.services import InfluxDB, Mosquitto

WAIT = 15.0
PASSPHRASE = "test passphrase, not a secret"
COLD = "urn:epc:id:sgln:4012345.00001.cold1"
DOCK = "urn:epc:id:sgln:4012345.00001.dock1"
DOCK2 = "urn:epc:id:sgln:4012345.00001.dock2"
EPC = "3074257BF7194E4000001A85"
T = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


# --- the pure rules -----------------------------------------------------------------------
def test_clock_rules_in_order_and_the_reason_names_ts_and_the_fix() -> None:
    rules = ClockRules()
    received = timestamp_ns(T)
    assert clock_rejection(T, received, rules) is None
    assert clock_rejection(T + timedelta(minutes=4), received, rules) is None  # skew
    assert clock_rejection(T - timedelta(days=6), received, rules) is None  # backfill
    for ts, words in (
        (datetime(1970, 1, 1, tzinfo=UTC), "before the clock floor"),
        (T + timedelta(minutes=6), "6 min ahead of when the gateway received"),
        (T - timedelta(days=8), "older than the 7 days backfill window"),
    ):
        found = clock_rejection(ts, received, rules)
        assert found is not None
        assert (found.field, found.code) == ("ts", "clock")
        assert words in found.reason
        assert format_timestamp(ts) in found.reason
        assert "clock" in found.reason
    before = clock_rejection(T - timedelta(minutes=10), received, rules, provisioned_at=T)
    assert before is not None
    assert "before the device was provisioned" in before.reason
    # A small skew against the provisioning time is tolerated.
    assert clock_rejection(T - timedelta(minutes=4), received, rules, provisioned_at=T) is None


def test_placement_follows_the_history_and_refuses_a_claim() -> None:
    directory = placed("s", {"p1": COLD}, since=T)
    reading = TemperatureReading(device_id="p1", seq=1, ts=T, celsius=4.0, location=DOCK)
    found = placement(reading, directory, "s/temperature/p1")
    assert not isinstance(found, str)
    assert found.code == "location_mismatch"
    assert found.field == "location"
    early = reading.model_copy(update={"ts": T - timedelta(seconds=1), "location": None})
    unplaced = placement(early, directory, "s/temperature/p1")
    assert not isinstance(unplaced, str)
    assert unplaced.code == "unassigned"
    assert placement(reading.model_copy(update={"location": None}), directory,
                     "s/temperature/p1") == COLD  # fmt: skip


def test_a_reader_speaks_only_for_its_read_point() -> None:
    directory = placed("s", {}, since=T, readers={"door-1": DOCK})
    read = TagRead(reader_id="door-1", seq=1, ts=T, epc=EPC, antenna=1, rssi=-50.0,
                   read_point=DOCK2)  # fmt: skip
    found = read_point(read, directory, "s/rfid/door-1")
    assert not isinstance(found, str)
    assert (found.code, found.field) == ("location_mismatch", "read_point")
    assert f"leave read_point out or send {DOCK}" in found.reason
    assert read_point(read.model_copy(update={"read_point": None}), directory,
                      "s/rfid/door-1") == DOCK  # fmt: skip
    unplaced = read_point(read, directory, "s/rfid/door-2")
    assert not isinstance(unplaced, str)
    assert (unplaced.code, unplaced.field) == ("unassigned", "read_point")
    assert "tracehub devices assign s/rfid/door-2 SGLN" in unplaced.reason


def test_the_registry_directory_sees_an_assignment_without_a_restart(tmp_path: Path) -> None:
    registry = DeviceRegistry.open(tmp_path / "devices", PASSPHRASE, "s")
    probe = Identity(kind="temperature", site="s", device_id="p1")
    registry.provision(probe, now=T, location=COLD)
    directory = RegistryDirectory(registry.folder, recheck_s=0)  # look at every lookup
    lazy = RegistryDirectory(registry.folder, recheck_s=3_600)
    assert lazy.location(probe.username, T + timedelta(hours=1)) == COLD
    assert directory.location(probe.username, T + timedelta(hours=1)) == COLD
    assert directory.provisioned_at(probe.username) == T
    registry.assign(probe.username, DOCK, T + timedelta(minutes=30))
    assert directory.location(probe.username, T + timedelta(hours=1)) == DOCK
    # The file is looked at once per recheck_s (default 1 s), not per reading.
    assert lazy.location(probe.username, T + timedelta(hours=1)) == COLD
    assert directory.location(probe.username, T + timedelta(minutes=29)) == COLD
    registry.revoke(probe.username)
    assert directory.location(probe.username, T + timedelta(hours=1)) is None
    assert directory.provisioned_at(probe.username) is None


# --- the attacks, against a running gateway ------------------------------------------------
class Site:
    """A running gateway over a registry with two placed probes and a reader placed at
    the dock door, capturing into a records store."""

    def __init__(self, broker: Mosquitto, influx: InfluxDB, tmp_path: Path) -> None:
        self.name = "s" + uuid.uuid4().hex[:8]
        self.now = datetime.now(UTC).replace(microsecond=0)
        registry = DeviceRegistry.open(tmp_path / "devices", PASSPHRASE, self.name)
        an_hour_ago = self.now - timedelta(hours=1)
        for device, where in (("p-cold", COLD), ("p-dock", DOCK)):
            identity = Identity(kind="temperature", site=self.name, device_id=device)
            registry.provision(identity, now=an_hour_ago, location=where)
        reader = Identity(kind="rfid", site=self.name, device_id="door-1")
        registry.provision(reader, now=an_hour_ago, location=DOCK)
        self.broker = broker
        self.records = RecordStore.open(f"sqlite:///{tmp_path / 'records.db'}")
        # As the hub wires it: the records' capture service behind the error-translating bridge.
        self.capture = CaptureBridge(CaptureService(self.records), source="gateway:test")
        self.config = GatewayConfig(
            mqtt_host=broker.host,
            mqtt_port=broker.port,
            mqtt_plain=True,  # the suite's shared broker: plain on loopback
            mqtt_client_id="gw-" + self.name,
            influx_url=influx.url,
            influx_database="db_" + self.name,
            dead_letter_path=tmp_path / "dead-letter.sqlite3",
            devices_dir=registry.folder,  # as the hub wires it: the registry's placements
            retry_max_s=0.2,
        )
        self.runtime: GatewayRuntime = build_gateway(self.config, self.capture)

    def topic(self, kind: str, device: str) -> str:
        return f"tracehub/v1/{self.name}/{kind}/{device}"

    def reading(self, device: str, seq: int, ts: Any, **extra: Any) -> tuple[str, bytes]:
        body = {"device_id": device, "seq": seq, "ts": ts, "celsius": 4.0, **extra}
        return self.topic("temperature", device), json.dumps(body).encode()

    def read(self, seq: int, ts: str, **claim: str) -> tuple[str, bytes]:
        body = {"reader_id": "door-1", "seq": seq, "ts": ts, "epc": EPC, "antenna": 1,
                "rssi": -50.0, "read_point": DOCK, **claim}  # fmt: skip
        return self.topic("rfid", "door-1"), json.dumps(body).encode()

    def events(self) -> list[StoredEvent]:
        """Every event the records hold."""
        return self.records.query_events()

    def at(self, delta: timedelta = timedelta(0)) -> str:
        return format_timestamp(self.now + delta)

    def publish(self, *messages: tuple[str, bytes]) -> None:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        client.connect(self.broker.host, self.broker.port)
        client.loop_start()
        try:
            for topic, payload in messages:
                client.publish(topic, payload, qos=1).wait_for_publish(WAIT)
        finally:
            client.disconnect()
            client.loop_stop()

    def settle(self, received: int) -> None:
        assert self.runtime.gateway.wait_until(lambda c: c.received >= received, WAIT), (
            self.runtime.counters
        )

    def rows(self, measurement: str) -> list[dict[str, Any]]:
        with InfluxWriter(self.config.influx_url, self.config.influx_database) as reader:
            series = reader.query(f"SELECT * FROM {measurement}")
        return [row for s in series for row in s["rows"]]

    def letters(self) -> dict[bytes, tuple[str, str, str]]:
        return {d.payload: (d.code, d.field, d.reason) for d in self.runtime.dead_letters.list()}


@pytest.fixture
def site(mosquitto: Mosquitto, influxdb: InfluxDB, tmp_path: Path) -> Iterator[Site]:
    running = Site(mosquitto, influxdb, tmp_path)
    running.runtime.start()
    try:
        assert running.runtime.wait_ready(WAIT), "gateway did not subscribe"
        yield running
    finally:
        running.runtime.stop()
        running.records.close()


@pytest.mark.integration
def test_each_attack_is_dead_lettered_naming_the_field_and_the_fix(site: Site) -> None:
    honest = site.reading("p-cold", 1, site.at(), location=COLD)
    attacks = {
        # one probe speaking for another room
        "location_mismatch": site.reading(
            "p-cold", 2, site.at(timedelta(seconds=1)), location=DOCK
        ),
        # a clock never set, and a number read as epoch seconds
        "epoch": site.reading("p-dock", 3, "1970-01-01T00:00:00Z"),
        "numeric": site.reading("p-dock", 4, 4.2),
        # history rewritten: a different reading at a stored timestamp
        "conflict": site.reading("p-cold", 5, site.at(), celsius=25.0),
        # a read dated in the future (it used to silence the EPC at the door forever)
        "future": site.read(1, "2099-01-01T00:00:00Z"),
    }
    site.publish(honest)
    site.settle(1)
    site.publish(*attacks.values())
    site.settle(1 + len(attacks))
    letters = site.letters()
    expected = {
        "location_mismatch": ("location_mismatch", "location", "tracehub devices assign"),
        "epoch": ("clock", "ts", "before the clock floor"),
        "numeric": ("bad_field", "ts", "a number is not a timestamp"),
        "conflict": ("conflict", "ts", "never overwritten"),
        "future": ("clock", "ts", "ahead of when the gateway received it"),
    }
    for name, (code, field, words) in expected.items():
        got_code, got_field, reason = letters[attacks[name][1]]
        assert (got_code, got_field) == (code, field), name
        assert words in reason, (name, reason)
    # The fix is named too: the clock to set, the placement to use.
    assert "fix the device's clock" in letters[attacks["epoch"][1]][2]
    assert COLD in letters[attacks["location_mismatch"][1]][2]
    # None of it reached InfluxDB or the records: only the honest reading is stored.
    rows = site.rows("temperature")
    assert [(r["device"], r["location"], r["celsius"], r["seq"]) for r in rows] == [
        ("p-cold", COLD, 4.0, 1)
    ]
    assert site.rows("rfid_read") == []
    assert site.events() == []


@pytest.mark.integration
def test_the_point_is_stored_where_the_registry_places_the_probe(site: Site) -> None:
    # No location in the payload: the registry says where the probe is.
    site.publish(site.reading("p-dock", 1, site.at()))
    site.settle(1)
    [row] = site.rows("temperature")
    assert (row["device"], row["location"]) == ("p-dock", DOCK)
    stranger = site.reading("p-unknown", 1, site.at(), location=COLD)
    site.publish(stranger)
    site.settle(2)
    code, field, reason = site.letters()[stranger[1]]
    assert (code, field) == ("unassigned", "location")
    assert f"tracehub devices assign {site.name}/temperature/p-unknown" in reason
    assert len(site.rows("temperature")) == 1


@pytest.mark.integration
def test_a_redelivery_is_acknowledged_once_and_written_once(site: Site) -> None:
    message = site.reading("p-cold", 7, site.at(), location=COLD, humidity=50.0)
    site.publish(message, message, message)
    site.settle(3)
    counters = site.runtime.counters
    assert (counters.written, counters.redelivered, counters.dead_lettered) == (1, 2, 0)
    assert site.runtime.spool.depth == 0  # all three acknowledged and drained
    assert len(site.rows("temperature")) == 1
    assert site.runtime.spool.accepted_count() == 1


@pytest.mark.integration
def test_a_future_dated_read_does_not_silence_the_epc(site: Site) -> None:
    site.publish(site.read(1, "2099-01-01T00:00:00Z"))
    site.settle(1)
    site.publish(site.read(2, site.at()))
    site.settle(2)
    assert site.runtime.gateway.wait_until(lambda c: c.captured == 1, WAIT)
    [event] = site.events()
    assert event.event_time == site.now
    [row] = site.rows("rfid_read")
    assert row["seq"] == 2


@pytest.mark.integration
def test_a_reader_claiming_another_dock_door_is_dead_lettered_and_never_recorded(
    site: Site,
) -> None:
    """The reader at dock door 1 publishes reads "at" dock door 2 (to make goods appear
    received there): dead-lettered naming read_point and the fix; nothing reaches
    InfluxDB or the records. Its honest reads, with or without a read_point, are
    recorded at dock door 1."""
    attack = site.read(1, site.at(), read_point=DOCK2)
    site.publish(attack)
    site.settle(1)
    code, field, reason = site.letters()[attack[1]]
    assert (code, field) == ("location_mismatch", "read_point")
    assert f"read_point {DOCK2} differs from where {site.name}/rfid/door-1 is placed" in reason
    assert f"leave read_point out or send {DOCK}" in reason  # the fix
    assert site.rows("rfid_read") == []
    assert site.events() == []
    assert site.runtime.counters.captured == 0
    bare = json.loads(site.read(2, site.at(timedelta(seconds=1)))[1])
    del bare["read_point"]
    site.publish((site.topic("rfid", "door-1"), json.dumps(bare).encode()))
    site.settle(2)
    assert site.runtime.gateway.wait_until(lambda c: c.captured == 1, WAIT)
    [event] = site.events()
    assert (event.read_point, event.event_time) == (DOCK, site.now + timedelta(seconds=1))
    assert site.records.events_at(DOCK2) == []  # dock door 2 saw nothing
    [row] = site.rows("rfid_read")
    assert (row["read_point"], row["seq"]) == (DOCK, 2)
