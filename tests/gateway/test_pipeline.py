"""The drain pipeline with in-memory fakes of the gateway's own ports (no I/O)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from gateway.deadletter import DeadLetterStore
from gateway.errors import CaptureRejected, CaptureUnavailable, SinkRejected, SinkUnavailable
from gateway.observation import AgvProfile, ReadPointProfile
from gateway.pipeline import Gateway, GatewayCounters
from gateway.spool import SpoolEntry

T_TOPIC = "tracehub/v1/cold1/temperature/p1"
R_TOPIC = "tracehub/v1/cold1/rfid/door-1"
A_TOPIC = "uagv/v2/ExampleAGV/AGV-0001/state"
DOCK = "urn:epc:id:sgln:4012345.00001.0"
DATA = Path(__file__).parent.parent / "data" / "gateway"
READING = json.dumps(
    {"device_id": "p1", "seq": 1, "ts": "2026-11-22T10:00:00Z", "celsius": 3.5, "location": DOCK}
).encode()


def read(seq: int, ts: str, epc: str = "3074257BF7194E4000001A85") -> bytes:
    return json.dumps(
        {
            "reader_id": "door-1",
            "seq": seq,
            "ts": ts,
            "epc": epc,
            "antenna": 2,
            "rssi": -60.0,
            "read_point": DOCK,
        }
    ).encode()


READ = read(1, "2026-11-22T10:00:00Z")


class FakeSink:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.error: Exception | None = None
        self.refuse: str | None = None  # a line containing this is refused (400)

    def write(self, lines: Sequence[str]) -> None:
        if self.error:
            raise self.error
        if self.refuse and any(self.refuse in line for line in lines):
            raise SinkRejected(f"field type conflict in {self.refuse}")
        self.lines.extend(lines)


class FakeCapture:
    def __init__(self) -> None:
        self.events: list[Mapping[str, Any]] = []
        self.error: Exception | None = None

    def capture(self, event: Mapping[str, Any]) -> str:
        if self.error:
            raise self.error
        self.events.append(event)
        return f"id-{len(self.events)}"


class FakeDeadLetters:
    def __init__(self) -> None:
        self.letters: list[tuple[str, bytes, str, str, str]] = []

    def add(
        self,
        topic: str,
        payload: bytes,
        reason: str,
        field: str,
        received_at: datetime | None,
        code: str = "bad_field",
    ) -> bool:
        self.letters.append((topic, payload, reason, field, code))
        return True


class FakeStore:
    def __init__(self) -> None:
        self.values: dict[tuple[str, str], str] = {}
        self.completed: list[int] = []
        self.error: Exception | None = None

    def state(self, scope: str) -> dict[str, str]:
        return {k: v for (s, k), v in self.values.items() if s == scope}

    def complete(
        self, entries: Sequence[SpoolEntry], state: Sequence[tuple[str, str, str | None]] = ()
    ) -> None:
        if self.error:
            raise self.error
        self.completed.extend(e.id for e in entries)
        for scope, key, value in state:
            if value is None:
                self.values.pop((scope, key), None)
            else:
                self.values[(scope, key)] = value


class Parts:
    def __init__(self) -> None:
        self.sink = FakeSink()
        self.capture = FakeCapture()
        self.dead = FakeDeadLetters()
        self.store = FakeStore()
        self.next_id = 0

    def gateway(self, **kw: Any) -> Gateway:
        return Gateway(self.sink, self.capture, self.dead, self.store, **kw)

    def batch(self, *messages: tuple[str, bytes]) -> list[SpoolEntry]:
        out = []
        for topic, payload in messages:
            self.next_id += 1
            out.append(SpoolEntry(self.next_id, topic, payload, 1_795_341_600_000_000_000))
        return out


@pytest.fixture
def parts() -> Parts:
    return Parts()


def test_reading_is_written_and_the_batch_leaves_the_spool(parts: Parts) -> None:
    gateway = parts.gateway()
    gateway.process(parts.batch((T_TOPIC, READING)))
    assert parts.sink.lines == [
        f"temperature,device=p1,location={DOCK},site=cold1 celsius=3.5,seq=1i 1795341600000000000"
    ]
    assert gateway.counters == GatewayCounters(received=1, written=1)
    assert parts.store.completed == [1]
    # The evidence window the reading falls in is marked touched.
    assert list(parts.store.state("evidence_touch")) == ["p1|1795341600000000000"]


def test_tag_read_is_written_and_captured_with_the_profile(parts: Parts) -> None:
    gateway = parts.gateway(profiles={DOCK: ReadPointProfile(biz_step="receiving")})
    gateway.process(parts.batch((R_TOPIC, READ)))
    [event] = parts.capture.events
    assert event["bizStep"] == "receiving"
    assert event["epcList"] == ["urn:epc:id:sgtin:0614141.812345.6789"]
    [line] = parts.sink.lines
    assert line.startswith(f"rfid_read,read_point={DOCK},reader=door-1,site=cold1 ")
    assert 'epc="3074257BF7194E4000001A85",antenna=2i,rssi=-60.0,seq=1i' in line
    assert gateway.counters == GatewayCounters(received=1, written=1, captured=1)


def test_fifty_reads_in_two_seconds_are_one_observation(parts: Parts) -> None:
    gateway = parts.gateway(dedup_window_s=2.0)
    reads = [
        (R_TOPIC, read(i, f"2026-11-22T10:00:0{i // 25}.{(i % 25) * 4:02d}Z")) for i in range(50)
    ]
    gateway.process(parts.batch(*reads[:20]))
    gateway.process(parts.batch(*reads[20:]))  # the window spans batches
    assert len(parts.capture.events) == 1
    assert gateway.counters.duplicates == 49
    assert len(parts.sink.lines) == 50  # every read is still in InfluxDB
    # Another tag at the same door, and the same tag after a pause, are new observations.
    other = "3074257BF7194E4000001A86"
    gateway.process(
        parts.batch(
            (R_TOPIC, read(51, "2026-11-22T10:00:01Z", other)),
            (R_TOPIC, read(52, "2026-11-22T10:00:05Z")),
        )
    )
    assert len(parts.capture.events) == 3


def test_dedup_survives_a_restart_through_the_store(parts: Parts) -> None:
    parts.gateway().process(parts.batch((R_TOPIC, READ)))
    again = parts.gateway()  # a new process: the state comes back from the store
    again.process(parts.batch((R_TOPIC, read(2, "2026-11-22T10:00:01Z"))))
    assert len(parts.capture.events) == 1


def test_a_failed_batch_is_replayed_with_the_same_decisions(parts: Parts) -> None:
    gateway = parts.gateway()
    batch = parts.batch((R_TOPIC, READ))
    parts.store.error = SinkUnavailable("disk")  # the commit fails after the capture
    with pytest.raises(SinkUnavailable):
        gateway.process(batch)
    parts.store.error = None
    gateway.process(batch)
    # Captured twice (the port is idempotent on the event), never suppressed as a duplicate.
    assert [e["epcList"] for e in parts.capture.events] == [
        ["urn:epc:id:sgtin:0614141.812345.6789"]
    ] * 2
    assert parts.capture.events[0] == parts.capture.events[1]
    assert gateway.counters.captured == 1


def test_bad_message_is_dead_lettered_with_its_code(parts: Parts) -> None:
    gateway = parts.gateway()
    gateway.process(parts.batch((T_TOPIC, b"not json"), (T_TOPIC, READING)))
    [(topic, payload, reason, field, code)] = parts.dead.letters
    assert (topic, payload, field, code) == (T_TOPIC, b"not json", "payload", "not_json")
    assert "Invalid JSON" in reason
    assert gateway.counters == GatewayCounters(received=2, written=1, dead_lettered=1)
    assert parts.store.completed == [1, 2]


def test_unknown_device_is_dead_lettered(parts: Parts) -> None:
    gateway = parts.gateway(known_devices={"p2"})
    gateway.process(parts.batch((T_TOPIC, READING)))
    assert parts.dead.letters[0][3:] == ("topic", "unknown_device")


def test_a_refused_line_is_isolated_and_the_rest_lands(parts: Parts) -> None:
    parts.sink.refuse = "device=p2,"
    other = READING.replace(b'"p1"', b'"p2"')
    gateway = parts.gateway()
    messages = (
        [(T_TOPIC, READING)] * 3
        + [("tracehub/v1/cold1/temperature/p2", other)]
        + [(T_TOPIC, READING)] * 3
    )
    gateway.process(parts.batch(*messages))
    assert len(parts.sink.lines) == 6
    [letter] = parts.dead.letters
    assert letter[3:] == ("influxdb", "sink_rejected")
    assert letter[1] == other


def test_capture_rejection_is_dead_lettered(parts: Parts) -> None:
    parts.capture.error = CaptureRejected("unknown lot", field="epcList")
    parts.gateway().process(parts.batch((R_TOPIC, READ)))
    assert parts.dead.letters[0][2:] == (
        "capture refused the event: unknown lot",
        "epcList",
        "capture_rejected",
    )


@pytest.mark.parametrize(
    ("topic", "payload", "which", "error"),
    [
        (T_TOPIC, READING, "sink", SinkUnavailable("down")),
        (R_TOPIC, READ, "capture", CaptureUnavailable("busy")),
    ],
)
def test_transient_errors_propagate_and_commit_nothing(
    parts: Parts, topic: str, payload: bytes, which: str, error: Exception
) -> None:
    getattr(parts, which).error = error
    gateway = parts.gateway()
    with pytest.raises(type(error)):
        gateway.process(parts.batch((topic, payload)))
    assert gateway.counters == GatewayCounters()
    assert parts.store.completed == []
    assert parts.dead.letters == []


def test_redelivered_bad_message_is_counted_once(parts: Parts, tmp_path: Path) -> None:
    store = DeadLetterStore(tmp_path / "dl.sqlite3")
    gateway = Gateway(parts.sink, parts.capture, store, parts.store)
    gateway.process(parts.batch((T_TOPIC, b"{}"), (T_TOPIC, b"{}")))
    assert gateway.counters == GatewayCounters(received=2, dead_lettered=1)
    assert store.count() == 1
    assert store.counts() == {"bad_field": 1}
    store.close()


def agv_state(ts: str, loads: list[str] | None, header: int = 1) -> bytes:
    document = json.loads((DATA / "vda5050-state.json").read_text())
    document["timestamp"] = ts
    document["headerId"] = header
    if loads is None:
        del document["loads"]
    else:
        document["loads"] = [{"loadId": x, "loadType": "EPAL"} for x in loads]
    return json.dumps(document).encode()


SSCC_A = "00340123450000000123"  # AI 00 + SSCC 340123450000000123
SSCC_B = "340123450000000130"


def test_agv_state_is_written_and_load_changes_become_custody_events(parts: Parts) -> None:
    profile = AgvProfile(read_point=DOCK)
    gateway = parts.gateway(agv_profiles={"ExampleAGV/AGV-0001": profile})
    gateway.process(
        parts.batch(
            (A_TOPIC, agv_state("2026-11-22T10:00:00Z", [])),
            (A_TOPIC, agv_state("2026-11-22T10:00:01Z", [SSCC_A], 2)),
            (A_TOPIC, agv_state("2026-11-22T10:00:02Z", [SSCC_A], 3)),
        )
    )
    gateway.process(
        parts.batch(
            (A_TOPIC, agv_state("2026-11-22T10:00:03Z", [SSCC_B, "not-an-sscc"], 4)),
            (A_TOPIC, agv_state("2026-11-22T10:00:01Z", [], 2)),  # late duplicate: ignored
        )
    )
    steps = [(e["bizStep"], e["epcList"][0], e["eventTime"]) for e in parts.capture.events]
    assert steps == [
        ("loading", "urn:epc:id:sscc:4012345.3000000012", "2026-11-22T10:00:01.000Z"),
        ("loading", "urn:epc:id:sscc:4012345.3000000013", "2026-11-22T10:00:03.000Z"),
        ("unloading", "urn:epc:id:sscc:4012345.3000000012", "2026-11-22T10:00:03.000Z"),
    ]
    assert all(e["readPoint"] == {"id": DOCK} for e in parts.capture.events)
    assert len(parts.sink.lines) == 5
    assert parts.sink.lines[0].startswith(
        "agv_state,manufacturer=ExampleAGV,map_id=warehouse-1,serial=AGV-0001 "
    )
    assert (
        'battery_charge=76.5,operating_mode="AUTOMATIC",driving=true,velocity=1.1,errors=0i'
        in parts.sink.lines[0]
    )


def test_agv_without_load_information_changes_nothing(parts: Parts) -> None:
    gateway = parts.gateway()
    gateway.process(parts.batch((A_TOPIC, agv_state("2026-11-22T10:00:00Z", None))))
    assert parts.capture.events == []
    assert "load_ids" not in parts.sink.lines[0]
