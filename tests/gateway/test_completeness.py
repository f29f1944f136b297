"""Telemetry windows: pure derivation, and sealing from the spool against a real InfluxDB."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from gateway.completeness import (
    FORMAT,
    KIND,
    SEAL_SCOPE,
    TOUCH_SCOPE,
    EvidenceSealer,
    JsonlEvidence,
    leaf_scope,
    reading_leaf,
    window_record,
)
from gateway.errors import SinkRejected
from gateway.influx import InfluxWriter
from gateway.pipeline import Gateway
from gateway.spool import Spool, SpoolEntry
from ledger.canonical import canonicalize
from ledger.merkle import leaf_hash, merkle_root
from tests.support.devices import EveryProbeAt
from tracehub.services import InfluxDB

HOUR = 3_600 * 10**9
START = 1_795_341_600_000_000_000 - 1_795_341_600_000_000_000 % HOUR  # 2026-11-22T10:00Z
ROOM = "urn:epc:id:sgln:4012345.00001.0"
TOPIC = "tracehub/v1/s/temperature/p1"


def reading(seq: int, celsius: float = 4.0, **extra: Any) -> dict[str, Any]:
    return {
        "time": str(START + seq * 10**9),
        "site": "s",
        "location": ROOM,
        "seq": seq,
        "celsius": celsius,
        **extra,
    }


def message(seq: int, celsius: float = 4.0, minute: int = 0) -> bytes:
    ts = f"2026-11-22T10:{minute:02d}:{seq % 60:02d}Z"
    return json.dumps(
        {"device_id": "p1", "seq": seq, "ts": ts, "celsius": celsius, "location": ROOM}
    ).encode()


def test_record_counts_gaps_and_roots_in_sequence_order() -> None:
    record = window_record("p1", START, START + HOUR, [reading(s) for s in (5, 1, 2, 3, 7, 8)])
    assert (record["format"], record["device"], record["locations"]) == (FORMAT, "p1", [ROOM])
    assert (record["count"], record["first_seq"], record["last_seq"]) == (6, 1, 8)
    assert record["gaps"] == [[4, 4], [6, 6]]
    assert record["missing"] == 2
    assert [r["seq"] for r in record["readings"]] == [1, 2, 3, 5, 7, 8]
    leaves = [
        leaf_hash(
            canonicalize(
                {
                    "measurement": "temperature",
                    "time": str(START + s * 10**9),
                    "device": "p1",
                    "site": "s",
                    "location": ROOM,
                    "seq": s,
                    "celsius": 4.0,
                }
            )
        )
        for s in (1, 2, 3, 5, 7, 8)
    ]
    assert record["merkle_root"] == merkle_root(leaves).hex()


def test_any_change_to_a_reading_changes_the_root() -> None:
    def root(*readings: dict[str, Any]) -> str:
        return str(window_record("p1", START, START + HOUR, readings)["merkle_root"])

    base = root(reading(1), reading(2))
    assert len({base, root(reading(1), reading(2, celsius=4.1)), root(reading(1))}) == 3
    # A float stored as 4.0 and read back from InfluxDB as 4 is the same leaf (RFC 8785).
    row = {**reading(1), "device": "p1", "time": START + 10**9, "humidity": None}
    assert reading_leaf(row) == reading_leaf({**row, "celsius": 4})


def test_empty_window() -> None:
    record = window_record("p1", START, START + HOUR, [])
    assert (record["count"], record["first_seq"], record["gaps"]) == (0, None, [])


class Recorder:
    def __init__(self) -> None:
        self.records: list[tuple[str, Mapping[str, Any]]] = []

    def submit(self, kind: str, record: Mapping[str, Any]) -> None:
        self.records.append((kind, dict(record)))


class NoCapture:
    def capture(self, event: Mapping[str, Any]) -> str:
        raise AssertionError("no events expected")


class NoDeadLetters:
    def __init__(self) -> None:
        self.letters: list[str] = []

    def add(
        self,
        topic: str,
        payload: bytes,
        reason: str,
        field: str,
        received_at: datetime | None,
        code: str = "",
    ) -> bool:
        self.letters.append(reason)
        return True


class Batches:
    def __init__(self) -> None:
        self.next_id = 0

    def __call__(self, *payloads: bytes) -> list[SpoolEntry]:
        out = []
        for payload in payloads:
            self.next_id += 1
            out.append(SpoolEntry(self.next_id, TOPIC, payload, START))
        return out


@pytest.mark.integration
def test_the_seal_comes_from_what_the_gateway_received_not_from_influxdb(
    influxdb: InfluxDB, tmp_path: Path
) -> None:
    writer = InfluxWriter(influxdb.url, "db_" + uuid.uuid4().hex[:10])
    writer.ensure_database()
    spool = Spool(tmp_path / "spool.sqlite3")
    clock = [START + HOUR + 10 * 10**9]
    gateway = Gateway(
        writer, NoCapture(), NoDeadLetters(), spool, clock_ns=lambda: clock[0],
        directory=EveryProbeAt(ROOM),
    )  # fmt: skip
    batch = Batches()
    gateway.process(batch(*(message(s, 4 + s / 10) for s in (0, 1, 2, 4))))
    # Redelivered (the broker resends after a lost ack): filed once, by (seq, time).
    gateway.process(batch(message(2, 4.2)))
    assert len(spool.state(leaf_scope("p1", START))) == 4
    # A dishonest operator overwrites a reading in InfluxDB before the window is sealed.
    writer.write(
        [f"temperature,device=p1,location={ROOM},site=s celsius=4.0,seq=1i {START + 10**9}"]
    )
    port = Recorder()
    sealer = EvidenceSealer(
        port, spool, window_s=3600, grace_s=60, quiet_s=5, clock_ns=lambda: clock[0]
    )
    assert sealer.seal_due() == 0  # still within the grace period
    clock[0] += 120 * 10**9
    assert sealer.seal_due() == 1
    assert sealer.seal_due() == 0  # sealed once
    [(kind, record)] = port.records
    assert kind == KIND
    assert (record["count"], record["gaps"], record["revision"]) == (4, [[3, 3]], 0)
    # The seal holds the value received (4.1), not the one InfluxDB now holds (4.0).
    assert [r["celsius"] for r in record["readings"]] == [4.0, 4.1, 4.2, 4.4]
    rows = [
        r
        for s in writer.query(f"SELECT * FROM temperature WHERE time >= {START}")
        for r in s["rows"]
    ]
    audit = merkle_root([reading_leaf(r) for r in sorted(rows, key=lambda r: r["seq"])])
    assert audit.hex() != record["merkle_root"]  # the overwrite shows against the seal
    # Undo the overwrite: InfluxDB re-derives the sealed root exactly.
    writer.write(
        [f"temperature,device=p1,location={ROOM},site=s celsius=4.1,seq=1i {START + 10**9}"]
    )
    rows = [
        r
        for s in writer.query(f"SELECT * FROM temperature WHERE time >= {START}")
        for r in s["rows"]
    ]
    audit = merkle_root([reading_leaf(r) for r in sorted(rows, key=lambda r: r["seq"])])
    assert audit.hex() == record["merkle_root"]
    # A late reading lands: the window is sealed again as revision 1, over all five.
    clock[0] += 10 * 10**9
    gateway.process(batch(message(3, 4.3)))
    clock[0] += 10 * 10**9
    assert sealer.seal_due() == 1
    assert (port.records[1][1]["count"], port.records[1][1]["gaps"]) == (5, [])
    assert port.records[1][1]["revision"] == 1
    # Long after, the sealed window's state (and its filed readings) is forgotten.
    clock[0] += 8 * 86_400 * 10**9
    assert sealer.seal_due() == 0
    assert spool.state(TOUCH_SCOPE) == spool.state(SEAL_SCOPE) == {}
    assert spool.state(leaf_scope("p1", START)) == {}
    writer.close()
    spool.close()


class RefusingSink:
    def write(self, lines: Sequence[str]) -> None:
        if any("seq=2i" in line for line in lines):
            raise SinkRejected("field type conflict")


def test_a_reading_influxdb_refused_is_not_sealed(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite3")
    dead = NoDeadLetters()
    gateway = Gateway(RefusingSink(), NoCapture(), dead, spool, directory=EveryProbeAt(ROOM))
    gateway.process(Batches()(message(1), message(2), message(3)))
    filed = spool.state(leaf_scope("p1", START))
    assert sorted(json.loads(v)["seq"] for v in filed.values()) == [1, 3]
    assert dead.letters == ["field type conflict"]
    spool.close()


def test_a_window_touched_without_filed_readings_is_not_sealed_empty(tmp_path: Path) -> None:
    # State left by a gateway from before readings were filed: sealing it empty would
    # contradict InfluxDB for honest data.
    spool = Spool(tmp_path / "spool.sqlite3")
    spool.complete([], [(TOUCH_SCOPE, f"p1|{START}", str(START))])
    port = Recorder()
    sealer = EvidenceSealer(port, spool, grace_s=0, quiet_s=0, clock_ns=lambda: START + 2 * HOUR)
    assert sealer.seal_due() == 0
    assert port.records == []
    assert spool.state(TOUCH_SCOPE) == {}
    spool.close()


def test_jsonl_evidence_appends(tmp_path: Path) -> None:
    port = JsonlEvidence(tmp_path / "e" / "evidence.jsonl")
    port.submit(KIND, {"a": 1})
    port.submit(KIND, {"a": 2})
    lines = (tmp_path / "e" / "evidence.jsonl").read_text().splitlines()
    assert [json.loads(x)["record"]["a"] for x in lines] == [1, 2]
