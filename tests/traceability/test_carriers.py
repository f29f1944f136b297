"""Events that name only a pallet go into the streams of the lots it carries then, so a
lot shipped on a pallet is proven by its own evidence, and a pallet event deleted in
SQL fails its ``tracehub verify``. Real SQLite; anchors on the embedded EVM."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gs1.epcis.event import epcis_document
from ledger.evm.contract import AnchorContract, deploy_anchor_contract, embedded_web3
from ledger.evm.reader import ChainReader
from ledger.evm.sender import AnchorSender, fund_account
from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from ledger.verify.trust import from_keys
from ledger.verify.verifier import Outcome, Verdict
from ledger.worker import AnchorWorker
from tests.support.events import COLD_ROOM, DOCK, GTIN, object_event
from tests.support.masterdata import sign_master
from traceability.anchoring.feeder import EventFeeder, EventLeaves, lot_stream
from traceability.anchoring.verification import verify_lot
from traceability.capture import CaptureService
from traceability.custody import CustodyService
from traceability.records.store import RecordStore

PALLET = "urn:epc:id:sscc:4012345.0000000001"
TRUCK = "urn:epc:id:sgln:4012345.00099.0"
L1 = (GTIN, "L1")


def pack(action: str, time: str, *serials: str) -> dict[str, Any]:
    return {
        "type": "AggregationEvent",
        "eventTime": time,
        "eventTimeZoneOffset": "+00:00",
        "parentID": PALLET,
        "childEPCs": [f"urn:epc:id:sgtin:4012345.011111.{s}" for s in serials],
        "action": action,
        "bizStep": "packing" if action == "ADD" else "unpacking",
        "readPoint": {"id": DOCK},
    }


def ship(time: str, place: str = TRUCK, step: str = "shipping") -> dict[str, Any]:
    # The pallet is at ``place`` after the event: its bizLocation (a shipping event's
    # readPoint alone would leave it in transit, see traceability.custody).
    return {
        "type": "ObjectEvent",
        "eventTime": time,
        "eventTimeZoneOffset": "+00:00",
        "epcList": [PALLET],
        "action": "OBSERVE",
        "bizStep": step,
        "readPoint": {"id": place},
        "bizLocation": {"id": place},
    }


@pytest.fixture
def service(stocked: RecordStore) -> CaptureService:
    stocked.add_logistic_unit(PALLET, "pallet")
    return CaptureService(stocked)


def test_a_pallet_event_is_filed_under_the_lots_it_carries(service: CaptureService) -> None:
    assert service.capture(ship("2026-11-22T09:00:00Z")).lots == ()  # empty pallet
    service.capture(object_event(serial="1001", time="2026-11-22T09:30:00Z"))
    assert service.capture(pack("ADD", "2026-11-22T10:00:00Z", "1001", "1002")).lots == (L1,)
    assert service.capture(ship("2026-11-22T11:00:00Z")).lots == (L1,)
    service.capture(pack("DELETE", "2026-11-22T12:00:00Z", "1001", "1002"))
    assert service.capture(ship("2026-11-22T13:00:00Z", DOCK)).lots == ()  # unpacked


def test_a_delete_naming_no_children_empties_the_pallet(service: CaptureService) -> None:
    service.capture(pack("ADD", "2026-11-22T10:00:00Z", "1001"))
    emptied = {**pack("DELETE", "2026-11-22T12:00:00Z"), "childEPCs": []}
    assert service.capture(emptied).lots == (L1,)  # it ends the lot's trip on the pallet
    assert service.capture(ship("2026-11-22T13:00:00Z")).lots == ()


def test_a_document_that_packs_and_ships_files_both_under_the_lot(
    service: CaptureService,
) -> None:
    document = epcis_document(
        [ship("2026-11-22T11:00:00Z"), pack("ADD", "2026-11-22T10:00:00Z", "1003")],
        datetime(2026, 11, 22, 12, tzinfo=UTC),
    )
    report = service.capture_document(document)
    assert report.ok, report.errors
    assert [o.lots for o in report.captured] == [(L1,), (L1,)]


@pytest.mark.integration
def test_a_lot_shipped_on_a_pallet_verifies_and_a_pallet_event_deleted_fails(
    stocked: RecordStore, tmp_path: Path
) -> None:
    stocked.add_logistic_unit(PALLET, "pallet")
    db = tmp_path / "records.db"  # the `store` fixture's file: records and ledger on one
    ledger = LedgerStore.open(f"sqlite:///{db}")
    signer = Signer.generate("site:test", datetime(2026, 1, 1, tzinfo=UTC))
    capture = CaptureService(stocked, ledger=EventLeaves(ledger, signer))
    capture.capture(object_event(serial="1001", time="2026-11-22T09:00:00Z"))
    capture.capture(pack("ADD", "2026-11-22T10:00:00Z", "1001"))
    shipped = capture.capture(ship("2026-11-22T11:00:00Z")).event_id
    arrived = capture.capture(ship("2026-11-22T15:00:00Z", COLD_ROOM, "receiving")).event_id
    sign_master(stocked, ledger, signer)
    w3 = embedded_web3()
    address = deploy_anchor_contract(w3)
    sender = AnchorSender(w3, address, "0x" + os.urandom(32).hex())
    fund_account(w3, sender.sender, 10**18)
    AnchorContract(w3, address).set_anchorer(sender.sender, True)
    feeder = EventFeeder(stocked, ledger)
    feeder.sync()
    AnchorWorker(ledger, sender, "w-test").step(flush=True)
    feeder.sync()
    trust = from_keys([signer.public], "the test site's keys", [(None, address)])
    chain = ChainReader(w3)

    stream = [e.entry.record_id for e in ledger.stream(lot_stream(GTIN, "L1"))]
    assert shipped in stream  # the pallet's events, in the lot's own chain
    assert arrived in stream
    journey = CustodyService(stocked).lot_timeline(GTIN, "L1").stays
    assert [s.location for s in journey] == [DOCK, TRUCK, COLD_ROOM]
    report = verify_lot(stocked, ledger, GTIN, "L1", chain, trust)
    assert report.verdict is Verdict.VERIFIED, report.failures
    (check,) = [c for c in report.checks if c.name == "journey"]
    assert check.outcome is Outcome.OK
    assert TRUCK in check.detail

    db_conn = sqlite3.connect(db)
    with db_conn:
        db_conn.execute("DELETE FROM event_epcs WHERE event_id = ?", (arrived,))
        db_conn.execute("DELETE FROM events WHERE id = ?", (arrived,))
    db_conn.close()
    tampered = verify_lot(stocked, ledger, GTIN, "L1", chain, trust)
    assert tampered.verdict is Verdict.TAMPERED
    assert any(arrived in f.subject or arrived in f.detail for f in tampered.failures)
    ledger.close()
