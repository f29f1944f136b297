"""Completeness digests: pure derivation, and sealing against a real InfluxDB."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from gateway.completeness import (
    FORMAT,
    KIND,
    EvidenceSealer,
    JsonlEvidence,
    completeness_digest,
    reading_leaf,
    window_query,
)
from gateway.influx import InfluxWriter
from gateway.pipeline import TOUCH_SCOPE
from gateway.spool import Spool
from ledger.canonical import canonicalize
from ledger.merkle import leaf_hash, merkle_root
from tracehub.services import InfluxDB

HOUR = 3_600 * 10**9
START = 1_795_341_600_000_000_000 - 1_795_341_600_000_000_000 % HOUR


def row(seq: int, celsius: float = 4.0, **extra: Any) -> dict[str, Any]:
    return {
        "time": START + seq * 10**9,
        "device": "p1",
        "site": "s",
        "location": "urn:epc:id:sgln:4012345.00001.0",
        "seq": seq,
        "celsius": celsius,
        "humidity": None,
        "battery": None,
        **extra,
    }


def test_digest_counts_gaps_and_roots_in_sequence_order() -> None:
    rows = [row(s) for s in (5, 1, 2, 3, 7, 8)]
    record = completeness_digest("p1", START, START + HOUR, rows)
    assert record["format"] == FORMAT
    assert (record["count"], record["first_seq"], record["last_seq"]) == (6, 1, 8)
    assert record["gaps"] == [[4, 4], [6, 6]]
    assert record["missing"] == 2
    leaves = [
        leaf_hash(
            canonicalize(
                {
                    "measurement": "temperature",
                    "time": str(START + s * 10**9),
                    "device": "p1",
                    "site": "s",
                    "location": "urn:epc:id:sgln:4012345.00001.0",
                    "seq": s,
                    "celsius": 4.0,
                }
            )
        )
        for s in (1, 2, 3, 5, 7, 8)
    ]
    assert record["merkle_root"] == merkle_root(leaves).hex()


def test_any_change_to_a_reading_changes_the_root() -> None:
    base = completeness_digest("p1", START, START + HOUR, [row(1), row(2)])
    altered = completeness_digest("p1", START, START + HOUR, [row(1), row(2, celsius=4.1)])
    removed = completeness_digest("p1", START, START + HOUR, [row(1)])
    assert len({base["merkle_root"], altered["merkle_root"], removed["merkle_root"]}) == 3
    # A float stored as 4.0 and read back as 4 is the same leaf (RFC 8785 numbers).
    assert reading_leaf(row(1, celsius=4.0)) == reading_leaf(row(1, celsius=4))


def test_empty_window() -> None:
    record = completeness_digest("p1", START, START + HOUR, [])
    assert (record["count"], record["first_seq"], record["gaps"]) == (0, None, [])


class Recorder:
    def __init__(self) -> None:
        self.records: list[tuple[str, Mapping[str, Any]]] = []

    def submit(self, kind: str, record: Mapping[str, Any]) -> None:
        self.records.append((kind, dict(record)))


@pytest.mark.integration
def test_sealer_rederives_from_influxdb_and_reseals_late_readings(
    influxdb: InfluxDB, tmp_path: Path
) -> None:
    writer = InfluxWriter(influxdb.url, "db_" + uuid.uuid4().hex[:10])
    writer.ensure_database()
    lines = [
        f"temperature,device=p1,location=urn:epc:id:sgln:4012345.00001.0,site=s "
        f"celsius={4 + s / 10},seq={s}i {START + s * 10**9}"
        for s in (0, 1, 2, 4)
    ]
    writer.write(lines)
    spool = Spool(tmp_path / "spool.sqlite3")
    clock = [START + HOUR + 10 * 10**9]
    key = f"p1|{START}"
    spool.complete([], [(TOUCH_SCOPE, key, str(clock[0]))])
    port = Recorder()
    sealer = EvidenceSealer(
        writer, port, spool, window_s=3600, grace_s=60, quiet_s=5, clock_ns=lambda: clock[0]
    )
    assert sealer.seal_due() == 0  # still within the grace period
    clock[0] += 120 * 10**9
    assert sealer.seal_due() == 1
    assert sealer.seal_due() == 0  # sealed once
    [(kind, record)] = port.records
    assert kind == KIND
    assert (record["count"], record["gaps"], record["revision"]) == (4, [[3, 3]], 0)
    # An auditor runs the same query and gets the same digest.
    rows = [r for s in writer.query(window_query("p1", START, START + HOUR)) for r in s["rows"]]
    audit = completeness_digest("p1", START, START + HOUR, rows)
    assert audit["merkle_root"] == record["merkle_root"]
    # A late reading lands: the window is sealed again as revision 1.
    writer.write(
        [lines[0].replace("seq=0i", "seq=3i").replace(f" {START}", f" {START + 3 * 10**9}")]
    )
    clock[0] += 10 * 10**9
    spool.complete([], [(TOUCH_SCOPE, key, str(clock[0]))])
    clock[0] += 10 * 10**9
    assert sealer.seal_due() == 1
    assert (port.records[1][1]["count"], port.records[1][1]["gaps"]) == (5, [])
    assert port.records[1][1]["revision"] == 1
    # Long after, the sealed window's state is forgotten.
    clock[0] += 8 * 86_400 * 10**9
    assert sealer.seal_due() == 0
    assert spool.state(TOUCH_SCOPE) == {}
    writer.close()
    spool.close()


def test_jsonl_evidence_appends(tmp_path: Path) -> None:
    port = JsonlEvidence(tmp_path / "e" / "evidence.jsonl")
    port.submit(KIND, {"a": 1})
    port.submit(KIND, {"a": 2})
    lines = (tmp_path / "e" / "evidence.jsonl").read_text().splitlines()
    assert [json.loads(x)["record"]["a"] for x in lines] == [1, 2]
