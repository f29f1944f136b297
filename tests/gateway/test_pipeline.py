"""The drain pipeline with in-memory fakes of the gateway's own ports (no I/O)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gateway.deadletter import DeadLetterStore
from gateway.devices.directory import StaticDirectory
from gateway.errors import CaptureRejected, CaptureUnavailable, SinkRejected, SinkUnavailable
from gateway.observation import AgvProfile, ReadPointProfile
from gateway.pipeline import Gateway, GatewayCounters
from gateway.spool import SpoolEntry
from tests.support.devices import SINCE, EveryProbeAt, placed, probe

T_TOPIC = "tracehub/v1/cold1/temperature/p1"
R_TOPIC = "tracehub/v1/cold1/rfid/door-1"
A_TOPIC = "uagv/v2/ExampleAGV/AGV-0001/state"
DOCK = "urn:epc:id:sgln:4012345.00001.0"
DATA = Path(__file__).parent.parent / "data" / "gateway"


def reading(seq: int = 1, ts: str = "2026-11-22T10:00:00Z", **changes: Any) -> bytes:
    body = {"device_id": "p1", "seq": seq, "ts": ts, "celsius": 3.5, "location": DOCK}
    return json.dumps({**body, **changes}).encode()


READING = reading()


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
RECEIVED = 1_795_341_600_000_000_000  # 2026-11-22T10:00:00Z, when the gateway got them
MS = 10**6


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
        self.accepted: dict[tuple[str, int], str] = {}
        self.completed: list[int] = []
        self.error: Exception | None = None

    def state(self, scope: str) -> dict[str, str]:
        return {k: v for (s, k), v in self.values.items() if s == scope}

    def accepted_digests(self, keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], str]:
        return {key: self.accepted[key] for key in keys if key in self.accepted}

    def accepted_newest(self) -> dict[str, int]:
        newest: dict[str, int] = {}
        for device, ts in self.accepted:
            newest[device] = max(ts, newest.get(device, ts))
        return newest

    def complete(
        self,
        entries: Sequence[SpoolEntry],
        state: Sequence[tuple[str, str, str | None]] = (),
        *,
        accepted: Sequence[tuple[str, int, str]] = (),
        forget_accepted_before: int | None = None,
    ) -> None:
        if self.error:
            raise self.error
        self.completed.extend(e.id for e in entries)
        for device, ts, mark in accepted:
            self.accepted.setdefault((device, ts), mark)
        if forget_accepted_before is not None:
            self.accepted = {
                k: v for k, v in self.accepted.items() if k[1] >= forget_accepted_before
            }
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
        kw.setdefault("directory", EveryProbeAt(DOCK))
        return Gateway(self.sink, self.capture, self.dead, self.store, **kw)

    def batch(self, *messages: tuple[str, bytes], received_ns: int = RECEIVED) -> list[SpoolEntry]:
        return self.arriving(*((t, p, received_ns) for t, p in messages))

    def arriving(self, *messages: tuple[str, bytes, int]) -> list[SpoolEntry]:
        """Messages with the time (ns) each reached the gateway."""
        out = []
        for topic, payload, received_ns in messages:
            self.next_id += 1
            out.append(SpoolEntry(self.next_id, topic, payload, received_ns))
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
        (
            R_TOPIC,
            read(i, f"2026-11-22T10:00:0{i // 25}.{(i % 25) * 4:02d}Z"),
            RECEIVED + i * 40 * MS,
        )
        for i in range(50)
    ]
    gateway.process(parts.arriving(*reads[:20]))
    gateway.process(parts.arriving(*reads[20:]))  # the window spans batches
    assert len(parts.capture.events) == 1
    assert gateway.counters.duplicates == 49
    assert len(parts.sink.lines) == 50  # every read is still in InfluxDB
    # Another tag at the same door, and the same tag after a pause, are new observations.
    other = "3074257BF7194E4000001A86"
    gateway.process(
        parts.arriving(
            (R_TOPIC, read(51, "2026-11-22T10:00:01Z", other), RECEIVED + 1_000 * MS),
            (R_TOPIC, read(52, "2026-11-22T10:00:05Z"), RECEIVED + 5_000 * MS),
        )
    )
    assert len(parts.capture.events) == 3


def test_dedup_goes_by_receive_time_not_device_time(parts: Parts) -> None:
    # A reader whose clock runs 4 min ahead (inside the tolerance), then one set right:
    # the later reads arrive a minute later, so they are a new observation.
    gateway = parts.gateway(dedup_window_s=2.0)
    gateway.process(parts.arriving((R_TOPIC, read(1, "2026-11-22T10:04:00Z"), RECEIVED)))
    later = RECEIVED + 60_000 * MS
    gateway.process(parts.arriving((R_TOPIC, read(2, "2026-11-22T10:01:00Z"), later)))
    assert len(parts.capture.events) == 2
    # Device times 10 s apart that reach the gateway within the window are one.
    gateway.process(parts.arriving((R_TOPIC, read(3, "2026-11-22T10:01:10Z"), later + MS)))
    assert len(parts.capture.events) == 2


def test_a_far_future_read_is_dead_lettered_and_does_not_silence_the_epc(parts: Parts) -> None:
    gateway = parts.gateway()
    gateway.process(parts.batch((R_TOPIC, read(1, "2099-01-01T00:00:00Z"))))
    [(_, _, reason, field, code)] = parts.dead.letters
    assert (field, code) == ("ts", "clock")
    assert "ahead of when the gateway received it" in reason
    assert "fix the device's clock" in reason
    assert parts.capture.events == []
    assert parts.sink.lines == []
    gateway.process(parts.arriving((R_TOPIC, read(2, "2026-11-22T10:00:10Z"), RECEIVED + 10**10)))
    assert len(parts.capture.events) == 1


def test_dedup_state_of_an_older_gateway_dated_ahead_is_forgotten(parts: Parts) -> None:
    # An older gateway kept device times: a far-future one would silence the EPC forever.
    key = f"urn:epc:id:sgtin:0614141.812345.6789|{DOCK}"
    parts.store.values[("rfid", key)] = str(4_000_000_000 * 10**9)
    gateway = parts.gateway(clock_ns=lambda: RECEIVED)
    gateway.process(parts.batch((R_TOPIC, READ)))
    assert len(parts.capture.events) == 1


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
        [(T_TOPIC, reading(i, f"2026-11-22T10:00:0{i}Z")) for i in range(3)]
        + [("tracehub/v1/cold1/temperature/p2", other)]
        + [(T_TOPIC, reading(i, f"2026-11-22T10:00:0{i}Z")) for i in range(3, 6)]
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


# --- a device speaks only for itself; clock sanity; no rewriting history -----------------
COLD = "urn:epc:id:sgln:4012345.00001.cold1"


def test_the_point_takes_the_directory_location_and_payload_location_is_optional(
    parts: Parts,
) -> None:
    gateway = parts.gateway(directory=placed("cold1", {"p1": COLD}))
    bare = json.loads(reading(location=COLD))
    del bare["location"]
    gateway.process(parts.batch((T_TOPIC, json.dumps(bare).encode())))
    [line] = parts.sink.lines
    assert f",location={COLD}," in line
    assert parts.dead.letters == []


def test_a_probe_claiming_another_room_is_dead_lettered(parts: Parts) -> None:
    gateway = parts.gateway(directory=placed("cold1", {"p1": COLD}))
    gateway.process(parts.batch((T_TOPIC, reading(location=DOCK))))
    [(_, _, reason, field, code)] = parts.dead.letters
    assert (field, code) == ("location", "location_mismatch")
    assert DOCK in reason
    assert COLD in reason
    assert "tracehub devices assign" in reason
    assert parts.sink.lines == []
    assert parts.store.state("evidence_touch") == {}


def test_a_probe_without_placement_is_unassigned(parts: Parts) -> None:
    gateway = parts.gateway(directory=placed("cold1", {"other": COLD}))
    gateway.process(parts.batch((T_TOPIC, reading(location=COLD))))
    [(_, _, reason, field, code)] = parts.dead.letters
    assert (field, code) == ("location", "unassigned")
    assert "tracehub devices assign cold1/temperature/p1" in reason
    assert parts.sink.lines == []


def test_a_moved_probe_is_stored_where_it_was_when_it_read(parts: Parts) -> None:
    moved = datetime(2026, 11, 22, 10, 0, 30, tzinfo=UTC)
    record = probe("cold1", "p1", (DOCK, SINCE), (COLD, moved))
    gateway = parts.gateway(directory=StaticDirectory([record]))
    bare = {"location": None}
    gateway.process(
        parts.batch(
            (T_TOPIC, reading(1, "2026-11-22T10:00:00Z", **bare)),
            (T_TOPIC, reading(2, "2026-11-22T10:01:00Z", **bare)),
        )
    )
    assert parts.dead.letters == []
    locations = [line.split(",")[2] for line in parts.sink.lines]
    assert locations == [f"location={DOCK}", f"location={COLD}"]


DOCK2 = "urn:epc:id:sgln:4012345.00001.dock2"


def test_a_reader_claiming_another_dock_is_dead_lettered_and_nothing_is_observed(
    parts: Parts,
) -> None:
    gateway = parts.gateway(
        directory=placed("cold1", {}, readers={"door-1": DOCK2}),
        profiles={DOCK: ReadPointProfile(biz_step="shipping")},
    )
    gateway.process(parts.batch((R_TOPIC, READ)))  # the payload says DOCK
    [(_, _, reason, field, code)] = parts.dead.letters
    assert (field, code) == ("read_point", "location_mismatch")
    assert f"read_point {DOCK} differs from where cold1/rfid/door-1 is placed" in reason
    assert f"leave read_point out or send {DOCK2}" in reason
    assert "tracehub devices assign cold1/rfid/door-1" in reason
    assert parts.sink.lines == []
    assert parts.capture.events == []
    assert parts.store.state("rfid") == {}  # it silences nothing either
    # The same tag read again, the claim left out: observed at the reader's own door.
    honest = json.loads(read(2, "2026-11-22T10:00:01Z"))
    del honest["read_point"]
    gateway.process(parts.batch((R_TOPIC, json.dumps(honest).encode())))
    [event] = parts.capture.events
    assert (event["readPoint"], event["bizStep"]) == ({"id": DOCK2}, "arriving")


def test_a_reader_is_observed_at_its_placement_and_read_point_is_optional(
    parts: Parts,
) -> None:
    profiles = {DOCK: ReadPointProfile(biz_step="shipping"),
                DOCK2: ReadPointProfile(biz_step="receiving", biz_location=COLD)}  # fmt: skip
    gateway = parts.gateway(directory=placed("cold1", {}, readers={"door-1": DOCK2}),
                            profiles=profiles)  # fmt: skip
    bare = json.loads(READ)
    del bare["read_point"]
    agreeing = json.loads(read(2, "2026-11-22T10:00:05Z")) | {"read_point": DOCK2}
    gateway.process(
        parts.arriving(
            (R_TOPIC, json.dumps(bare).encode(), RECEIVED),
            (R_TOPIC, json.dumps(agreeing).encode(), RECEIVED + 5_000 * MS),  # past de-dup
        )
    )
    assert parts.dead.letters == []
    assert [e["readPoint"] for e in parts.capture.events] == [{"id": DOCK2}] * 2
    # The profile is the placement's, not the payload's.
    assert {(e["bizStep"], e["bizLocation"]["id"]) for e in parts.capture.events} == {
        ("receiving", COLD)
    }
    assert all(line.startswith(f"rfid_read,read_point={DOCK2},") for line in parts.sink.lines)


def test_a_reader_without_placement_is_unassigned(parts: Parts) -> None:
    gateway = parts.gateway(directory=placed("cold1", {"p1": DOCK}))
    gateway.process(parts.batch((R_TOPIC, READ)))
    [(_, _, reason, field, code)] = parts.dead.letters
    assert (field, code) == ("read_point", "unassigned")
    assert "tracehub devices assign cold1/rfid/door-1 SGLN" in reason
    assert (parts.sink.lines, parts.capture.events) == ([], [])


def test_a_moved_reader_observes_where_it_was_when_it_read(parts: Parts) -> None:
    moved = datetime(2026, 11, 22, 10, 0, 30, tzinfo=UTC)
    reader = probe("cold1", "door-1", (DOCK, SINCE), (DOCK2, moved), kind="rfid")
    gateway = parts.gateway(directory=StaticDirectory([reader]))
    bare = [json.loads(read(i, t)) for i, t in ((1, "2026-11-22T10:00:00Z"),
                                                 (2, "2026-11-22T10:01:00Z"))]  # fmt: skip
    for body in bare:
        del body["read_point"]
    gateway.process(parts.batch(*((R_TOPIC, json.dumps(b).encode()) for b in bare)))
    # Two read points, two observations (even within the de-duplication window).
    assert [e["readPoint"]["id"] for e in parts.capture.events] == [DOCK, DOCK2]


@pytest.mark.parametrize(
    ("ts", "words"),
    [
        ("1970-01-01T00:00:00Z", "before the clock floor 2020-01-01"),
        ("2026-11-22T10:06:00Z", "ahead of when the gateway received it"),
        ("2026-11-14T10:00:00Z", "older than the 7 days backfill window"),
        ("2026-11-22T08:50:00Z", "before the device was provisioned"),
    ],
)
def test_an_unbelievable_clock_is_dead_lettered(parts: Parts, ts: str, words: str) -> None:
    provisioned = "provisioned" in words
    since = datetime(2026, 11, 22, 9, tzinfo=UTC) if provisioned else SINCE
    # The reader is placed (and provisioned) since long ago.
    reader = probe("cold1", "door-1", (DOCK, SINCE), kind="rfid")
    directory = StaticDirectory([probe("cold1", "p1", (DOCK, since)), reader])
    gateway = parts.gateway(directory=directory)
    gateway.process(parts.batch((T_TOPIC, reading(ts=ts)), (R_TOPIC, read(1, ts))))
    letters = parts.dead.letters
    assert [(field, code) for *_, field, code in letters][:1] == [("ts", "clock")]
    assert words in letters[0][2]
    assert "fix the device's clock" in letters[0][2]
    if provisioned:
        # The reader was provisioned long before: only the probe is held to its time.
        assert len(letters) == 1
        [line] = parts.sink.lines
        assert line.startswith("rfid_read,")
    else:
        assert [letter[4] for letter in letters] == ["clock", "clock"]
        assert parts.sink.lines == []


def test_a_numeric_ts_is_refused_not_read_as_epoch_seconds(parts: Parts) -> None:
    gateway = parts.gateway()
    body = json.loads(READING) | {"ts": 4.2}
    gateway.process(parts.batch((T_TOPIC, json.dumps(body).encode())))
    [(_, _, reason, field, code)] = parts.dead.letters
    assert (field, code) == ("ts", "bad_field")
    assert "a number is not a timestamp" in reason
    assert "RFC 3339" in reason
    assert parts.sink.lines == []


def test_a_redelivery_is_acknowledged_once_and_written_once(parts: Parts) -> None:
    gateway = parts.gateway()
    gateway.process(parts.batch((T_TOPIC, READING), (T_TOPIC, READING)))
    gateway.process(parts.batch((T_TOPIC, READING)))  # after the commit
    assert len(parts.sink.lines) == 1
    assert parts.dead.letters == []
    assert gateway.counters == GatewayCounters(received=3, written=1, redelivered=2)
    assert parts.store.completed == [1, 2, 3]


def test_a_different_reading_at_a_stored_ts_is_a_conflict_never_written(parts: Parts) -> None:
    gateway = parts.gateway()
    gateway.process(parts.batch((T_TOPIC, READING)))
    gateway.process(parts.batch((T_TOPIC, reading(seq=2, celsius=12.0))))
    [(_, _payload, reason, field, code)] = parts.dead.letters
    assert (field, code) == ("ts", "conflict")
    assert "already stored" in reason
    assert "never overwritten" in reason
    assert len(parts.sink.lines) == 1
    assert "celsius=3.5" in parts.sink.lines[0]
    # The same in one batch: the first one stands.
    gateway.process(
        parts.batch(
            (T_TOPIC, reading(seq=3, ts="2026-11-22T10:00:09Z")),
            (T_TOPIC, reading(seq=4, ts="2026-11-22T10:00:09Z", celsius=20.0)),
        )
    )
    assert [letter[4] for letter in parts.dead.letters] == ["conflict", "conflict"]
    assert "seq=3i" in parts.sink.lines[-1]


def test_a_restarted_gateway_still_refuses_rewrites_of_older_readings(parts: Parts) -> None:
    # Readings dated after the newest indexed one skip the index lookup; one dated at or
    # before it is looked up, also by a gateway built afresh on the same spool.
    parts.gateway().process(
        parts.batch((T_TOPIC, READING), (T_TOPIC, reading(seq=2, ts="2026-11-22T10:00:05Z")))
    )
    restarted = parts.gateway()
    restarted.process(parts.batch((T_TOPIC, reading(seq=1, celsius=12.0))))
    assert [letter[4] for letter in parts.dead.letters] == ["conflict"]
    restarted.process(parts.batch((T_TOPIC, READING)))  # the same reading again: a redelivery
    assert restarted.counters.redelivered == 1
    assert len(parts.sink.lines) == 2


def test_the_index_forgets_readings_older_than_the_backfill_window(parts: Parts) -> None:
    clock = [RECEIVED]
    gateway = parts.gateway(clock_ns=lambda: clock[0])
    gateway.process(parts.batch((T_TOPIC, READING)))
    assert len(parts.store.accepted) == 1
    clock[0] += 9 * 86_400 * 10**9  # nine days on, a minute past the last prune
    later = reading(seq=9, ts="2026-12-01T10:00:00Z")
    gateway.process(parts.batch((T_TOPIC, later), received_ns=clock[0]))
    assert list(parts.store.accepted) == [("cold1/temperature/p1", 1_796_119_200_000_000_000)]
