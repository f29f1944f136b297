"""A lot's telemetry held against the gateway's sealed windows, tampered as an operator would.

Real components: the gateway pipeline and sealer on a real spool, InfluxDB (the session
fixture), the records and ledger in one SQLite file, anchors on the embedded EVM. The
readings go the way they go in production: message → spool → InfluxDB + filed into
its window → sealed → ledger (``EvidenceBridge``) → anchored → ``verify_lot``.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.completeness import FORMAT, KIND, EvidenceSealer
from gateway.influx import InfluxWriter
from gateway.pipeline import Gateway
from gateway.spool import Spool, SpoolEntry
from ledger.evm.contract import AnchorContract, deploy_anchor_contract, embedded_web3
from ledger.evm.reader import ChainReader
from ledger.evm.sender import AnchorSender, fund_account
from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from ledger.submitter import RecordSubmitter
from ledger.verify.verifier import Check, Outcome, Report, Verdict
from ledger.worker import AnchorWorker
from tests.support.devices import EveryProbeAt
from tests.support.events import DOCK, GTIN, object_event
from traceability.anchoring.bundle import lot_bundle
from traceability.anchoring.feeder import EventFeeder, EventLeaves
from traceability.anchoring.seals import WINDOW_FORMAT, WINDOW_KIND, location_stream, window_status
from traceability.anchoring.verification import verify_lot
from traceability.capture import CaptureService
from traceability.coldchain.telemetry import InfluxTemperatureReader
from traceability.custody import CustodyService
from traceability.records.store import RecordStore
from tracehub.bridges import EvidenceBridge
from tracehub.services import InfluxDB

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=3, minutes=10)  # hours 10, 11, 12 closed; 13 open
HOUR_NS = 3_600 * 10**9
TOPIC = "tracehub/v1/s/temperature/p1"


def ns(moment: datetime) -> int:
    return int(moment.timestamp()) * 10**9


def message(seq: int, at: datetime, celsius: float = 3.0, device: str = "p1") -> bytes:
    return json.dumps(
        {
            "device_id": device,
            "seq": seq,
            "ts": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "celsius": celsius,
            "location": DOCK,
        }
    ).encode()


def line(seq: int, at: datetime, celsius: float, device: str = "p1") -> str:
    return (
        f"temperature,device={device},location={DOCK},site=s "
        f"celsius={celsius!r},seq={seq}i {ns(at)}"
    )


class NoCapture:
    def capture(self, event: Mapping[str, Any]) -> str:
        raise AssertionError("no events expected")


class NoDeadLetters:
    def add(self, *args: Any, **kwargs: Any) -> bool:
        raise AssertionError("no dead letters expected")


@dataclass
class Site:
    store: RecordStore
    ledger: LedgerStore
    influx: InfluxWriter
    database: str
    reader: InfluxTemperatureReader
    gateway: Gateway
    sealer: EvidenceSealer
    feeder: EventFeeder
    worker: AnchorWorker
    chain: ChainReader
    clock: list[int]
    next_id: int = 0
    others: list[Check] = field(default_factory=list)  # failures besides telemetry

    def receive(self, *payloads: bytes) -> None:
        entries = []
        for payload in payloads:
            self.next_id += 1
            # Received by NOW (a backlog), or later once the test's clock has moved on:
            # none of it dated ahead of its arrival.
            received = max(ns(NOW), self.clock[0])
            entries.append(SpoolEntry(self.next_id, TOPIC, payload, received))
        self.gateway.process(entries)

    def seal_and_anchor(self) -> int:
        self.clock[0] = ns(NOW)
        sealed = self.sealer.seal_due()
        self.feeder.sync()
        self.worker.step(flush=True)
        self.feeder.sync()
        return sealed

    def verify(self) -> tuple[Verdict, list[Check]]:
        report = verify_lot(
            self.store, self.ledger, GTIN, "L1", self.chain, telemetry=self.reader, now=NOW
        )
        # The verdict of the telemetry checks alone: master data and events have their own
        # tests (tests/traceability/anchoring/test_verification.py, test_mastercheck.py).
        mine = tuple(c for c in report.checks if c.name == "telemetry")
        self.others = [c for c in report.failures if c.name not in ("telemetry", "master data")]
        return Report(subject={}, online=True, checks=mine, trust="test").verdict, list(mine)


# one reading a minute: seq = minutes since 10:00; hours 10–12 sealed, 13:00–13:09 open
READINGS = [(m, T0 + timedelta(minutes=m), 3.0 + (m % 7) / 10) for m in range(190)]


@pytest.fixture
def site(stocked: RecordStore, influxdb: InfluxDB, tmp_path: Path) -> Iterator[Site]:
    ledger = LedgerStore.open(f"sqlite:///{tmp_path / 'records.db'}")
    signer = Signer.generate("site:test", datetime(2026, 1, 1, tzinfo=UTC))
    capture = CaptureService(stocked, ledger=EventLeaves(ledger, signer))  # signed receipts
    capture.capture(object_event(time="2026-11-22T10:00:00Z"))
    database = "db_" + uuid.uuid4().hex[:10]
    influx = InfluxWriter(influxdb.url, database)
    influx.ensure_database()
    spool = Spool(tmp_path / "spool.sqlite3")
    clock = [ns(T0)]
    gateway = Gateway(
        influx, NoCapture(), NoDeadLetters(), spool, clock_ns=lambda: clock[0],
        directory=EveryProbeAt(DOCK),
    )  # fmt: skip
    sealer = EvidenceSealer(
        EvidenceBridge(RecordSubmitter(ledger, signer)), spool, clock_ns=lambda: clock[0]
    )
    w3 = embedded_web3()
    address = deploy_anchor_contract(w3)
    sender = AnchorSender(w3, address, "0x" + os.urandom(32).hex())
    fund_account(w3, sender.sender, 10**18)
    AnchorContract(w3, address).set_anchorer(sender.sender, True)
    reader = InfluxTemperatureReader(influxdb.url, database, timeout=10.0)
    setup = Site(
        stocked, ledger, influx, database, reader, gateway, sealer,
        EventFeeder(stocked, ledger), AnchorWorker(ledger, sender, "w-test"),
        ChainReader(w3), clock,
    )  # fmt: skip
    yield setup
    reader.close()
    influx.close()
    spool.close()
    ledger.close()


def received(site: Site) -> None:
    site.receive(*(message(seq, at, c) for seq, at, c in READINGS))


def test_formats_agree_between_the_gateway_and_the_verifier() -> None:
    assert (FORMAT, KIND) == (WINDOW_FORMAT, WINDOW_KIND)


def test_an_untouched_lot_verifies_and_the_open_window_is_said(site: Site) -> None:
    received(site)
    assert site.seal_and_anchor() == 3
    assert [e.entry.kind for e in site.ledger.stream(location_stream(DOCK))] == [KIND] * 3
    verdict, checks = site.verify()
    assert verdict is Verdict.VERIFIED
    assert site.others == []  # the events and the seals themselves check out too
    assert [c.outcome for c in checks] == [Outcome.OK] * 3 + [Outcome.SKIPPED]
    assert "60 readings in InfluxDB re-derive the sealed root" in checks[0].detail
    assert checks[3].subject == "window p1 2026-11-22T13:00Z"
    assert "open window, 10 readings not sealed yet" in checks[3].detail
    # The page's view of the same bundle: three hours proven, the current one open.
    bundle = lot_bundle(site.store, site.ledger, GTIN, "L1")
    spans = [
        (loc, start, end)
        for loc, runs in CustodyService(site.store).lot_timeline(GTIN, "L1").locations().items()
        for start, end in runs
    ]
    status = window_status(bundle, spans, NOW)
    assert (status.proven, status.sealed, status.open) == (3, 0, 1)


def test_a_reading_overwritten_in_influxdb_after_the_seal_is_named(site: Site) -> None:
    received(site)
    site.seal_and_anchor()
    seq, at, celsius = READINGS[75]  # 11:15, sealed 3.5 °C
    site.influx.write([line(seq, at, 2.0)])  # same series and timestamp: an overwrite
    verdict, checks = site.verify()
    assert verdict is Verdict.TAMPERED
    [bad] = [c for c in checks if c.outcome is Outcome.FAIL]
    assert bad.subject == "window p1 2026-11-22T11:00Z"
    assert (
        f"altered: seq 75 at 2026-11-22T11:15:00Z: sealed celsius={celsius}, site=s, "
        f"location={DOCK}, InfluxDB holds celsius=2"
    ) in bad.detail
    site.influx.write([line(seq, at, celsius)])  # put back: verifies again
    assert site.verify()[0] is Verdict.VERIFIED


def test_a_reading_deleted_from_influxdb_is_named(site: Site) -> None:
    received(site)
    site.seal_and_anchor()
    _, at, celsius = READINGS[130]  # 12:10
    site.influx.query(f"DELETE FROM temperature WHERE device = 'p1' AND time = {ns(at)}")
    verdict, checks = site.verify()
    assert verdict is Verdict.TAMPERED
    [bad] = [c for c in checks if c.outcome is Outcome.FAIL]
    assert bad.subject == "window p1 2026-11-22T12:00Z"
    assert f"removed: seq 130 at 2026-11-22T12:10:00Z (sealed celsius={celsius}" in bad.detail


def test_dropping_the_series_is_named_for_every_sealed_window(site: Site) -> None:
    received(site)
    site.seal_and_anchor()
    site.influx.query("DROP SERIES FROM temperature WHERE device = 'p1'")
    verdict, checks = site.verify()
    assert verdict is Verdict.TAMPERED
    assert [c.outcome for c in checks] == [Outcome.FAIL] * 3
    assert all("removed: seq" in c.detail and "and 55 more" in c.detail for c in checks)


def test_a_reading_added_in_influxdb_is_named(site: Site) -> None:
    received(site)
    site.seal_and_anchor()
    site.influx.write([line(999, T0 + timedelta(minutes=30, seconds=30), 3.3)])
    verdict, checks = site.verify()
    assert verdict is Verdict.TAMPERED
    [bad] = [c for c in checks if c.outcome is Outcome.FAIL]
    assert "added: seq 999 at 2026-11-22T10:30:30Z (celsius=3.3" in bad.detail
    assert "but not in the seal" in bad.detail


def test_readings_of_a_device_nobody_sealed_are_pending_not_proven(site: Site) -> None:
    received(site)
    site.seal_and_anchor()
    site.influx.write([line(1, T0 + timedelta(minutes=20), 3.1, device="fake-9")])
    verdict, checks = site.verify()
    assert verdict is Verdict.NOT_ANCHORED
    [pending] = [c for c in checks if c.outcome is Outcome.PENDING]
    assert pending.subject == "window fake-9 2026-11-22T10:00Z"
    assert "no sealed window in the ledger covers" in pending.detail


def test_a_reading_altered_in_influxdb_before_the_seal_is_still_caught(site: Site) -> None:
    received(site)
    seq, at, celsius = READINGS[20]  # 10:20, received as 3.6 °C
    site.influx.write([line(seq, at, 3.9)])  # before the hourly seal
    site.seal_and_anchor()  # the seal comes from the spool, not from InfluxDB
    verdict, checks = site.verify()
    assert verdict is Verdict.TAMPERED
    [bad] = [c for c in checks if c.outcome is Outcome.FAIL]
    assert f"sealed celsius={celsius}" in bad.detail
    assert "InfluxDB holds celsius=3.9" in bad.detail


def test_a_sealed_window_not_yet_anchored_is_said_on_the_page(site: Site) -> None:
    received(site)
    site.clock[0] = ns(NOW)
    site.sealer.seal_due()  # sealed, handed to the ledger, no batch yet
    bundle = lot_bundle(site.store, site.ledger, GTIN, "L1")
    spans = [(DOCK, T0, None)]
    status = window_status(bundle, spans, NOW)
    assert (status.proven, status.sealed, status.open) == (0, 3, 1)
    assert window_status(None, spans, NOW).open == 4


def test_tracehub_verify_names_the_overwritten_reading(
    site: Site, influxdb: InfluxDB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from tracehub.cli import main

    received(site)
    site.seal_and_anchor()
    seq, at, _ = READINGS[75]
    site.influx.write([line(seq, at, 2.0)])
    monkeypatch.setenv("TRACEHUB_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("TRACEHUB_INFLUX_DATABASE", site.database)
    records = f"sqlite:///{tmp_path / 'records.db'}"
    args = ["verify", "--gtin", GTIN, "--lot", "L1", "--records", records, "--offline"]
    result = CliRunner().invoke(main, [*args, "--influx", influxdb.url, "--json"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    [bad] = [c for c in report["checks"] if c["name"] == "telemetry" and c["outcome"] == "fail"]
    assert "altered: seq 75 at 2026-11-22T11:15:00Z" in bad["detail"]
    # Without InfluxDB the seals are there but the readings were not held against them.
    monkeypatch.delenv("TRACEHUB_INFLUX_URL", raising=False)
    result = CliRunner().invoke(main, [*args, "--json"])
    checks = json.loads(result.output)["checks"]
    [skipped] = [c for c in checks if c["name"] == "telemetry"]
    assert skipped["outcome"] == "skipped"
    assert "no InfluxDB given" in skipped["detail"]
