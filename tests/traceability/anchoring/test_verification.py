"""A lot's evidence end to end: capture → ledger feed → anchor → verify, and tampering.

Real components: the records and ledger stores share one SQLite file (the default
deployment), anchors go to the embedded EVM (and anvil in one test).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from eth_account import Account

from ledger.evm.contract import AnchorContract, deploy_anchor_contract, embedded_web3, rpc_web3
from ledger.evm.reader import ChainReader
from ledger.evm.sender import AnchorSender, fund_account
from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from ledger.verify.trust import TrustAnchors, contract_from_text, from_keys, key_from_text
from ledger.verify.verifier import Outcome, Verdict
from ledger.worker import AnchorWorker
from tests.support.events import GTIN, object_event
from tests.support.masterdata import sign_master
from tests.support.webapp import sign_captured
from traceability.anchoring.bundle import lot_bundle
from traceability.anchoring.feeder import EventFeeder, lot_stream
from traceability.anchoring.verification import report_json, verify_lot
from traceability.capture import CaptureService
from traceability.records.store import RecordStore
from tracehub.services import Anvil, free_port

pytestmark = pytest.mark.integration


@dataclass
class Setup:
    path: Path
    store: RecordStore
    ledger: LedgerStore
    feeder: EventFeeder
    worker: AnchorWorker
    chain: ChainReader
    ids: list[str]
    trust: TrustAnchors  # the site's key and contract, from outside the records

    def anchor(self) -> None:
        self.feeder.sync()
        self.worker.step(flush=True)
        self.feeder.sync()


def _setup(stocked: RecordStore, db: Path, sender: AnchorSender, reader: ChainReader) -> Setup:
    ledger = LedgerStore.open(f"sqlite:///{db}")
    signer = Signer.generate("site:test", datetime(2026, 1, 1, tzinfo=UTC))
    service = CaptureService(stocked)
    ids = [
        service.capture(object_event(serial=s, time=f"2026-11-22T10:0{i}:00Z")).event_id
        for i, s in enumerate(["1001", "1002", "1003"])
    ]
    sign_captured(stocked, ledger, signer)  # capture's signed receipts
    sign_master(stocked, ledger, signer)  # the product, lot and places, as imported
    feeder = EventFeeder(stocked, ledger)
    worker = AnchorWorker(ledger, sender, "w-test")
    trust = from_keys([signer.public], "the test site's keys", [(None, sender.contract)])
    return Setup(db, stocked, ledger, feeder, worker, reader, ids, trust)


def _embedded_sender() -> tuple[AnchorSender, ChainReader]:
    w3 = embedded_web3()
    address = deploy_anchor_contract(w3)
    key = "0x" + os.urandom(32).hex()
    sender = AnchorSender(w3, address, key)
    fund_account(w3, sender.sender, 10**18)
    AnchorContract(w3, address).set_anchorer(sender.sender, True)
    return sender, ChainReader(w3)


@pytest.fixture
def lot(stocked: RecordStore, tmp_path: Path) -> Iterator[Setup]:
    sender, reader = _embedded_sender()
    setup = _setup(stocked, tmp_path / "records.db", sender, reader)
    yield setup
    setup.ledger.close()


def _sql(setup: Setup, statement: str, *args: object) -> int:
    db = sqlite3.connect(setup.path)
    with db:
        count = db.execute(statement, args).rowcount
    db.close()
    return count


def test_pending_then_anchored_then_verified_online_and_offline(lot: Setup) -> None:
    pending = verify_lot(lot.store, lot.ledger, GTIN, "L1")
    assert pending.verdict is Verdict.NOT_ANCHORED
    waiting = {  # the events (the lot's master-data versions wait for the batch too)
        c.record_id
        for c in pending.checks
        if c.outcome is Outcome.PENDING and c.subject.startswith("epcis-event")
    }
    assert waiting == set(lot.ids)
    lot.anchor()
    events = lot.store.events_for_lot(GTIN, "L1")
    assert {e.batch_id for e in events} == {1}  # mirrored onto the records
    offline = verify_lot(lot.store, lot.ledger, GTIN, "L1", trust=lot.trust)
    assert offline.verdict is Verdict.ANCHORS_NOT_CHECKED  # offline never claims the anchor
    assert any(c.outcome is Outcome.SKIPPED and "offline" in c.detail for c in offline.checks)
    online = verify_lot(lot.store, lot.ledger, GTIN, "L1", lot.chain, lot.trust)
    assert online.verdict is Verdict.VERIFIED, online.failures
    alone = verify_lot(lot.store, lot.ledger, GTIN, "L1", lot.chain)
    assert alone.verdict is Verdict.NOT_ATTRIBUTED  # no trust anchor: never VERIFIED
    assert [c.name for c in online.checks].count("on chain") == 1
    assert [e.entry.record_id for e in lot.ledger.stream(lot_stream(GTIN, "L1"))] == lot.ids


def test_carbon_report_and_exposure_summary_are_leaves_of_the_lot(lot: Setup) -> None:
    from traceability.anchoring.bundle import lot_bundle
    from traceability.anchoring.feeder import (
        CARBON_REPORT_KIND,
        LOT_EXPOSURE_KIND,
        submit_lot_record,
    )

    signer = Signer.generate("site:test", datetime(2026, 1, 1, tzinfo=UTC))
    lot.feeder.sync()  # the events first, then the lot's own records join its chain
    report = {"id": "urn:uuid:7", "pcf": {"pCfExcludingBiogenic": "0.81"}, "lot": "L1"}
    summary = {"status": "ok", "mkt_c": 3.2, "min_c": 1.5, "max_c": 4.0, "until": "2026-11-23"}
    carbon = submit_lot_record(lot.ledger, signer, CARBON_REPORT_KIND, GTIN, "L1", report, "r-7")
    exposure = submit_lot_record(lot.ledger, signer, LOT_EXPOSURE_KIND, GTIN, "L1", summary)
    assert exposure.entry.record_id.startswith("sha256:")
    again = submit_lot_record(lot.ledger, signer, LOT_EXPOSURE_KIND, GTIN, "L1", dict(summary))
    assert again.id == exposure.id  # the same summary is the same leaf
    chain = lot.ledger.stream(lot_stream(GTIN, "L1"))
    assert [e.entry.record_id for e in chain] == [*lot.ids, "r-7", exposure.entry.record_id]
    lot.anchor()
    bundle = lot_bundle(lot.store, lot.ledger, GTIN, "L1")
    kinds = {item["entry"]["kind"]: item["record"] for item in bundle["items"]}
    assert kinds[CARBON_REPORT_KIND] == report
    assert kinds[LOT_EXPOSURE_KIND] == summary
    trust = lot.trust + from_keys([signer.public], "the carbon signer")
    verified = verify_lot(lot.store, lot.ledger, GTIN, "L1", lot.chain, trust)
    assert verified.verdict is Verdict.VERIFIED, verified.failures
    assert carbon.entry.record_id in {c.record_id for c in verified.checks if c.name == "inclusion"}
    # Rewriting the kept summary afterwards is named like an altered event.
    _sql(lot, "UPDATE ledger_records SET canonical = replace(canonical, '3.2', '2.1')")
    altered = verify_lot(lot.store, lot.ledger, GTIN, "L1", lot.chain)
    assert {(c.name, c.record_id) for c in altered.failures} == {
        ("record", exposure.entry.record_id)
    }


def test_altered_event_is_named(lot: Setup) -> None:
    lot.anchor()
    victim = lot.ids[1]
    changed = _sql(
        lot, "UPDATE events SET body = replace(body, 'arriving', 'departing') WHERE id = ?", victim
    )
    assert changed == 1
    report = verify_lot(lot.store, lot.ledger, GTIN, "L1", lot.chain)
    assert report.verdict is Verdict.TAMPERED
    assert {c.record_id for c in report.failures} == {victim}
    assert "record was altered" in report.failures[0].detail
    assert victim in report_json(report)


def test_deleted_event_is_named(lot: Setup) -> None:
    lot.anchor()
    victim = lot.ids[0]
    _sql(lot, "DELETE FROM event_epcs WHERE event_id = ?", victim)
    _sql(lot, "DELETE FROM events WHERE id = ?", victim)
    report = verify_lot(lot.store, lot.ledger, GTIN, "L1")
    assert report.verdict is Verdict.TAMPERED
    (missing,) = report.failures
    assert missing.record_id == victim
    assert "missing" in missing.detail


def test_removed_ledger_link_breaks_the_lot_chain(lot: Setup) -> None:
    lot.anchor()
    _sql(lot, "DELETE FROM ledger_links WHERE seq = 1")
    report = verify_lot(lot.store, lot.ledger, GTIN, "L1")
    assert report.verdict is not Verdict.VERIFIED
    assert any(lot.ids[1] == c.record_id for c in report.checks if not c.ok)


def test_unreachable_chain_is_its_own_verdict(lot: Setup) -> None:
    lot.anchor()
    dead = ChainReader(rpc_web3(f"http://127.0.0.1:{free_port()}", timeout=2))
    report = verify_lot(lot.store, lot.ledger, GTIN, "L1", dead)
    assert report.verdict is Verdict.CHAIN_UNREACHABLE
    assert json.loads(report_json(report))["verdict"] == "CHAIN_UNREACHABLE"


def test_untrusted_contract_or_key_fails(lot: Setup) -> None:
    lot.anchor()
    other = "0x" + "11" * 20
    pinned = lot.trust.model_copy(update={"contracts": contract_from_text(other).contracts})
    assert verify_lot(lot.store, lot.ledger, GTIN, "L1", trust=pinned).verdict is Verdict.TAMPERED
    stranger = key_from_text("ed25519:" + "0" * 32)
    report = verify_lot(lot.store, lot.ledger, GTIN, "L1", trust=stranger)
    assert {c.name for c in report.failures} == {"signature"}


def test_on_anvil(stocked: RecordStore, tmp_path: Path, anvil: Anvil) -> None:
    w3 = rpc_web3(anvil.url)
    address = deploy_anchor_contract(w3, anvil.private_key)
    key = "0x" + os.urandom(32).hex()
    owner = AnchorContract(w3, address, anvil.private_key)
    owner.set_anchorer(Account.from_key(key).address, True)
    fund_account(w3, Account.from_key(key).address, 10**18)
    setup = _setup(
        stocked, tmp_path / "records.db", AnchorSender(w3, address, key), ChainReader(w3)
    )
    setup.anchor()
    report = verify_lot(setup.store, setup.ledger, GTIN, "L1", setup.chain, setup.trust)
    assert report.verdict is Verdict.VERIFIED, report.failures
    setup.ledger.close()


def test_a_lot_with_only_master_data_in_the_ledger_has_no_events_to_verify(
    stocked: RecordStore, tmp_path: Path
) -> None:
    """Its product and lot versions are signed, but nothing is in the lot's own stream."""
    stocked.add_lot(GTIN, "L2", quantity=1, serials=[2001])
    ledger = LedgerStore.open(f"sqlite:///{tmp_path / 'records.db'}")
    sign_master(stocked, ledger, Signer.generate("site:test", datetime(2026, 1, 1, tzinfo=UTC)))
    assert lot_bundle(stocked, ledger, GTIN, "L2")["items"]  # its master-data versions
    report = verify_lot(stocked, ledger, GTIN, "L2")
    (check,) = [c for c in report.checks if c.name == "events"]
    assert check.outcome is Outcome.FAIL
    assert f"no events recorded for lot L2 of {GTIN}" in check.detail
    assert report.verdict is Verdict.TAMPERED
    ledger.close()
