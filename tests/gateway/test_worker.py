"""Gateway routing with in-memory fakes of the gateway's own ports (no I/O)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from gateway.deadletter import DeadLetterStore
from gateway.errors import CaptureRejected, CaptureUnavailable, SinkRejected, SinkUnavailable
from gateway.observation import ReadPointProfile
from gateway.worker import Gateway, GatewayCounters, Outcome

T_TOPIC = "tracehub/v1/cold1/temperature/p1"
R_TOPIC = "tracehub/v1/cold1/rfid/door-1"
DOCK = "urn:epc:id:sgln:4012345.00001.0"
READING = json.dumps(
    {"device_id": "p1", "seq": 1, "ts": "2026-11-22T10:00:00Z", "celsius": 3.5, "location": DOCK}
).encode()
READ = json.dumps(
    {
        "reader_id": "door-1",
        "seq": 1,
        "ts": "2026-11-22T10:00:00Z",
        "epc": "3074257BF7194E4000001A85",
        "antenna": 2,
        "rssi": -60.0,
        "read_point": DOCK,
    }
).encode()


class FakeSink:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.error: Exception | None = None

    def write(self, lines: Sequence[str]) -> None:
        if self.error:
            raise self.error
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
        self.letters: list[tuple[str, bytes, str, str]] = []

    def add(
        self, topic: str, payload: bytes, reason: str, field: str, received_at: datetime | None
    ) -> bool:
        self.letters.append((topic, payload, reason, field))
        return True


@pytest.fixture
def parts() -> tuple[FakeSink, FakeCapture, FakeDeadLetters]:
    return FakeSink(), FakeCapture(), FakeDeadLetters()


def make(parts: tuple[FakeSink, FakeCapture, FakeDeadLetters], **kw: Any) -> Gateway:
    return Gateway(parts[0], parts[1], parts[2], **kw)


def test_reading_is_written(parts: Any) -> None:
    gateway = make(parts)
    assert gateway.handle(T_TOPIC, READING) is Outcome.WRITTEN
    assert parts[0].lines == [
        f"temperature,device=p1,location={DOCK},site=cold1 celsius=3.5,seq=1i 1795341600000000000"
    ]
    assert gateway.counters == GatewayCounters(received=1, written=1)


def test_tag_read_is_captured_with_the_profile(parts: Any) -> None:
    gateway = make(parts, profiles={DOCK: ReadPointProfile(biz_step="receiving")})
    assert gateway.handle(R_TOPIC, READ) is Outcome.CAPTURED
    [event] = parts[1].events
    assert event["bizStep"] == "receiving"
    assert event["epcList"] == ["urn:epc:id:sgtin:0614141.812345.6789"]
    assert gateway.counters == GatewayCounters(received=1, captured=1)


def test_bad_message_is_dead_lettered(parts: Any) -> None:
    gateway = make(parts)
    assert gateway.handle(T_TOPIC, b"not json") is Outcome.DEAD_LETTERED
    [(topic, payload, reason, field)] = parts[2].letters
    assert (topic, payload, field) == (T_TOPIC, b"not json", "payload")
    assert "Invalid JSON" in reason
    assert gateway.counters == GatewayCounters(received=1, dead_lettered=1)


def test_sink_rejection_is_dead_lettered(parts: Any) -> None:
    parts[0].error = SinkRejected("field type conflict")
    assert make(parts).handle(T_TOPIC, READING) is Outcome.DEAD_LETTERED
    assert parts[2].letters[0][2:] == ("field type conflict", "influxdb")


def test_capture_rejection_is_dead_lettered(parts: Any) -> None:
    parts[1].error = CaptureRejected("unknown lot", field="epcList")
    assert make(parts).handle(R_TOPIC, READ) is Outcome.DEAD_LETTERED
    assert parts[2].letters[0][2:] == ("capture refused the event: unknown lot", "epcList")


@pytest.mark.parametrize(
    ("topic", "payload", "where", "error"),
    [
        (T_TOPIC, READING, 0, SinkUnavailable("down")),
        (R_TOPIC, READ, 1, CaptureUnavailable("busy")),
    ],
)
def test_transient_errors_propagate_and_count_nothing(
    parts: Any, topic: str, payload: bytes, where: int, error: Exception
) -> None:
    parts[where].error = error
    gateway = make(parts)
    with pytest.raises(type(error)):
        gateway.handle(topic, payload)
    assert gateway.counters == GatewayCounters()
    assert parts[2].letters == []


def test_redelivered_bad_message_is_counted_once(parts: Any, tmp_path: Path) -> None:
    store = DeadLetterStore(tmp_path / "dl.sqlite3")
    gateway = Gateway(parts[0], parts[1], store)
    gateway.handle(T_TOPIC, b"{}")
    gateway.handle(T_TOPIC, b"{}")
    assert gateway.counters == GatewayCounters(received=2, dead_lettered=1)
    assert store.count() == 1
    store.close()
