"""Shared builders for the web tests: a lot with locations, events, readings, and a
ledger anchored on the embedded EVM (real py-evm, real SQLite)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from ledger.evm.contract import AnchorContract, deploy_anchor_contract, embedded_web3
from ledger.evm.reader import ChainReader
from ledger.evm.sender import AnchorSender, fund_account
from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from ledger.worker import AnchorWorker
from tests.support.events import COLD_ROOM, DOCK, GTIN, object_event
from traceability.anchoring.feeder import EventFeeder
from traceability.anchoring.proofs import LedgerEvidence
from traceability.capture import CaptureService
from traceability.coldchain.exposure import Bucket
from traceability.records.logistics import Location
from traceability.records.store import RecordStore

DOCK_NAME = "Dock door 1, Hamburg cold store"
ROOM_NAME = "Cold room 2, Hamburg"
NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
TODAY = date(2026, 11, 22)
PAGE = f"/01/{GTIN}/10/L1"


class SteppedSeries:
    """An in-memory TemperatureSeries: consecutive buckets of the given readings."""

    def __init__(self, celsius: dict[str, list[float]], down: bool = False) -> None:
        self.celsius = celsius
        self.down = down
        self.calls = 0

    def buckets(
        self,
        location: str,
        start: datetime,
        end: datetime,
        low: float | None,
        high: float | None,
        width: timedelta,
    ) -> list[Bucket]:
        from traceability.errors import TelemetryUnavailable

        self.calls += 1
        if self.down:
            raise TelemetryUnavailable("InfluxDB did not answer (test)")
        step = timedelta(minutes=10)
        return [
            Bucket(
                start=start + i * step,
                width=step,
                count=1,
                mean_c=c,
                min_c=c,
                max_c=c,
                out_of_range=int((low is not None and c < low) or (high is not None and c > high)),
            )
            for i, c in enumerate(self.celsius.get(location, []))
            if start + i * step < end
        ]


def add_places(store: RecordStore) -> None:
    store.add_location(
        Location(urn=DOCK, name=DOCK_NAME, kind="dock_door", country="DE", site="hh")
    )
    store.add_location(Location(urn=COLD_ROOM, name=ROOM_NAME, kind="cold_room", country="DE"))


def capture_journey(store: RecordStore) -> list[str]:
    capture = CaptureService(store)
    return [
        capture.capture(object_event(serial="1001", time="2026-11-22T09:00:00Z")).event_id,
        capture.capture(
            object_event(serial="1002", time="2026-11-22T10:00:00Z", read_point=COLD_ROOM)
        ).event_id,
    ]


@dataclass
class Ledgered:
    ledger: LedgerStore
    feeder: EventFeeder
    worker: AnchorWorker
    evidence: LedgerEvidence
    reader: ChainReader

    def anchor(self) -> None:
        self.feeder.sync()
        self.worker.step(flush=True)
        self.feeder.sync()


def ledgered(store: RecordStore, db: Path) -> Ledgered:
    """The lot's events fed to a ledger on ``db`` and anchored on an embedded EVM."""
    w3 = embedded_web3()
    address = deploy_anchor_contract(w3)
    key = "0x" + os.urandom(32).hex()
    sender = AnchorSender(w3, address, key)
    fund_account(w3, sender.sender, 10**18)
    AnchorContract(w3, address).set_anchorer(sender.sender, True)
    ledger = LedgerStore.open(f"sqlite:///{db}")
    signer = Signer.generate("site:test", datetime(2026, 1, 1, tzinfo=UTC))
    result = Ledgered(
        ledger=ledger,
        feeder=EventFeeder(store, ledger, signer),
        worker=AnchorWorker(ledger, sender, "w-web"),
        evidence=LedgerEvidence(store, ledger, signer),
        reader=ChainReader(w3),
    )
    result.anchor()
    return result
