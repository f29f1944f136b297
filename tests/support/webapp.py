"""Shared builders for the web tests: a lot with locations, events, readings, a ledger
anchored on the embedded EVM (real py-evm, real SQLite), the app over them and readers
of the page it serves."""

from __future__ import annotations

import json
import os
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette

from ledger.evm.contract import AnchorContract, deploy_anchor_contract, embedded_web3
from ledger.evm.reader import ChainReader
from ledger.evm.sender import AnchorSender, fund_account
from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from ledger.worker import AnchorWorker
from tests.support.events import COLD_ROOM, DOCK, GTIN, object_event
from tests.support.masterdata import sign_master
from traceability.anchoring.feeder import EventFeeder, EventLeaves
from traceability.anchoring.proofs import LedgerEvidence
from traceability.capture import CaptureService
from traceability.carbon.lotfootprint import FootprintSummary
from traceability.coldchain.exposure import Bucket, ExposureService
from traceability.coldchain.probes import ProbeSeries, points_series
from traceability.records.clients import Scope
from traceability.records.locations import Location
from traceability.records.store import RecordStore
from web.app import create_app

if TYPE_CHECKING:
    from starlette.testclient import TestClient

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

    def probes(
        self,
        location: str,
        start: datetime,
        end: datetime,
        low: float | None,
        high: float | None,
        max_hold: timedelta,
    ) -> list[ProbeSeries]:
        """The same readings, one every ten minutes from ``start``, from one probe."""
        from traceability.errors import TelemetryUnavailable

        self.calls += 1
        if self.down:
            raise TelemetryUnavailable("InfluxDB did not answer (test)")
        step = 600 * 10**9
        first = int(start.timestamp()) * 10**9
        points = [(None, first + i * step, c) for i, c in enumerate(self.celsius.get(location, []))]
        return points_series(points, start, end, max_hold)


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
    sign_captured(store, ledger, signer)
    sign_master(store, ledger, signer)  # its product, lot and places, as imported
    result = Ledgered(
        ledger=ledger,
        feeder=EventFeeder(store, ledger),
        worker=AnchorWorker(ledger, sender, "w-web"),
        evidence=LedgerEvidence(store, ledger, signer),
        reader=ChainReader(w3),
    )
    result.anchor()
    return result


def sign_captured(store: RecordStore, ledger: LedgerStore, signer: Signer) -> None:
    """Offer the stored events to a signing capture again, as a sender redelivering
    them would: capture re-validates each and signs it (the rows stay as they are).
    Lets fixtures capture first and attach a ledger after."""
    capture = CaptureService(store, ledger=EventLeaves(ledger, signer))
    for event in store.pending_events(limit=100_000):
        capture.capture(event.document())


def make_client(app: Starlette, headers: dict[str, str] | None = None) -> TestClient:
    from starlette.testclient import TestClient

    return TestClient(app, headers=headers)


def bearer(store: RecordStore, *scopes: Scope, name: str | None = None) -> dict[str, str]:
    """The ``Authorization`` header of a new API client with ``scopes`` (as issued by
    ``tracehub clients add``)."""
    issued = store.add_client(name or f"test-{uuid.uuid4().hex[:8]}", scopes)
    return {"Authorization": f"Bearer {issued.token}"}


def text_of(html: str, element_id: str) -> str:
    match = re.search(rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>(.*?)</\1>', html, re.S)
    assert match, f"no element #{element_id}"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(2)).split())


def proof_data(html: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="proof-data">(.*?)</script>', html)
    assert match, "no embedded proof data"
    data: dict[str, Any] = json.loads(match.group(1))
    return data


def app_for(store: RecordStore, series: SteppedSeries | None = None, **options: Any) -> Starlette:
    exposure = None
    if series is not None:
        exposure = ExposureService(store, series, now=NOW)
    options.setdefault("today", lambda: TODAY)
    options.setdefault("now", lambda: NOW)
    return create_app(store, None, "embedded EVM", exposure=exposure, series=series, **options)


class FixedFootprint:
    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []

    def latest(self, gtin: str, lot: str) -> FootprintSummary | None:
        self.asked.append((gtin, lot))
        return FootprintSummary(
            total_kg=12.5,
            per_unit_kg=1.25,
            per_kg_kg=0.5,
            units=10,
            by_kind=(("leg", 10.0), ("cold_storage", 2.5)),
            standard="ISO 14083:2023; GLEC Framework v3.0",
        )
