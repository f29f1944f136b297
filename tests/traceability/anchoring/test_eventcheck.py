"""One source of truth for events, tried as a dishonest operator would: raw SQL on a real
SQLite and PostgreSQL records database (indexed columns, a deleted event, a row added
by hand, a link row removed); verify names each and custody keeps the bodies' truth."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from ledger.evm.contract import AnchorContract, deploy_anchor_contract, embedded_web3
from ledger.evm.sender import AnchorSender, fund_account
from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from ledger.verify.report import Check, Outcome
from ledger.worker import AnchorWorker
from tests.support.events import COLD_ROOM, DOCK, GTIN, object_event
from tests.support.postgres import PostgreSQL
from traceability.anchoring.bundle import lot_bundle
from traceability.anchoring.eventcheck import event_checks
from traceability.anchoring.feeder import EventFeeder, EventLeaves
from traceability.anchoring.verification import verify_lot
from traceability.capture import CaptureService
from traceability.custody import CustodyService
from traceability.records.store import RecordStore

ELSEWHERE = "urn:epc:id:sgln:4012345.00009.0"


@dataclass
class Lot:
    store: RecordStore
    ledger: LedgerStore
    ids: list[str]

    def sql(self, statement: str, **params: object) -> int:
        with self.store._engine.begin() as conn:  # the operator's own connection
            return int(conn.execute(sa.text(statement), params).rowcount)

    def checks(self) -> list[Check]:
        bundle = lot_bundle(self.store, self.ledger, GTIN, "L1")
        return event_checks(self.store, self.ledger, bundle, GTIN, "L1")

    def failures(self) -> list[Check]:
        return [c for c in self.checks() if c.outcome is Outcome.FAIL]

    def journey(self) -> list[tuple[str, datetime]]:
        stays = CustodyService(self.store).lot_timeline(GTIN, "L1").stays
        return [(s.location, s.start) for s in stays]


@pytest.fixture(params=["sqlite", "postgresql"])
def lot(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[Lot]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/records.db"
    else:
        server: PostgreSQL = request.getfixturevalue("postgres")
        name = f"ev_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(server.url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f"CREATE DATABASE {name}"))
        admin.dispose()
        url = server.url.rsplit("/", 1)[0] + f"/{name}"
    store = RecordStore.open(url)
    store.add_product(GTIN, "Chilled salmon 200 g", temp_min_c=0.0, temp_max_c=4.0)
    store.add_lot(GTIN, "L1", expiry=date(2026, 12, 5), quantity=10, serials=range(1001, 1011))
    ledger = LedgerStore.open(url)  # records and ledger share the database, as by default
    signer = Signer.generate("site:test", datetime(2026, 1, 1, tzinfo=UTC))
    capture = CaptureService(store, ledger=EventLeaves(ledger, signer))
    ids = [
        capture.capture(object_event(serial="1001", time="2026-11-22T09:00:00Z")).event_id,
        capture.capture(
            object_event(serial="1002", time="2026-11-22T10:00:00Z", read_point=COLD_ROOM)
        ).event_id,
    ]
    w3 = embedded_web3()
    address = deploy_anchor_contract(w3)
    sender = AnchorSender(w3, address, "0x" + os.urandom(32).hex())
    fund_account(w3, sender.sender, 10**18)
    AnchorContract(w3, address).set_anchorer(sender.sender, True)
    feeder = EventFeeder(store, ledger)
    AnchorWorker(ledger, sender, "w-events").step(flush=True)
    feeder.sync()
    yield Lot(store, ledger, ids)
    ledger.close()
    store.close()


def test_an_untouched_lot_passes_and_the_journey_is_re_derived(lot: Lot) -> None:
    checks = lot.checks()
    assert [c for c in checks if c.outcome is Outcome.FAIL] == []
    (journey,) = [c for c in checks if c.name == "journey"]
    assert journey.outcome is Outcome.OK
    assert f"{DOCK} from 2026-11-22T09:00:00Z → {COLD_ROOM} from 2026-11-22T10:00:00Z" in (
        journey.detail
    )


def test_an_indexed_location_changed_in_sql_is_named_and_moves_nothing(lot: Lot) -> None:
    before = lot.journey()
    victim = lot.ids[1]
    lot.sql("UPDATE events SET read_point = :p WHERE id = :i", p=ELSEWHERE, i=victim)
    (failed,) = lot.failures()
    assert (failed.name, failed.record_id) == ("index", victim)
    assert f"column read_point is '{ELSEWHERE}'" in failed.detail
    assert f"the signed body says '{COLD_ROOM}'" in failed.detail
    assert lot.journey() == before  # the page's journey is the body's
    assert lot.store.events_at(ELSEWHERE) == []  # the column found it; the body denies it


def test_an_indexed_biz_location_added_in_sql_is_named(lot: Lot) -> None:
    victim = lot.ids[0]
    lot.sql("UPDATE events SET biz_location = :p WHERE id = :i", p=ELSEWHERE, i=victim)
    (failed,) = lot.failures()
    assert (failed.name, failed.record_id) == ("index", victim)
    assert "column biz_location" in failed.detail
    assert "says None" in failed.detail
    assert ELSEWHERE not in [place for place, _ in lot.journey()]


def test_an_indexed_event_time_changed_in_sql_is_named_and_moves_nothing(lot: Lot) -> None:
    before = lot.journey()
    victim = lot.ids[1]
    lot.sql(
        "UPDATE events SET event_time = :t WHERE id = :i",
        t=datetime(2026, 11, 21, 8, 0),
        i=victim,
    )
    (failed,) = lot.failures()
    assert (failed.name, failed.record_id) == ("index", victim)
    assert "column event_time is '2026-11-21T08:00:00Z'" in failed.detail
    assert "'2026-11-22T10:00:00Z'" in failed.detail
    assert lot.journey() == before


def test_a_deleted_event_is_named(lot: Lot) -> None:
    victim = lot.ids[0]
    lot.sql("DELETE FROM event_epcs WHERE event_id = :i", i=victim)
    lot.sql("DELETE FROM events WHERE id = :i", i=victim)
    report = verify_lot(lot.store, lot.ledger, GTIN, "L1")
    assert victim in {c.record_id for c in report.failures if c.outcome is Outcome.FAIL}


def test_a_link_row_deleted_in_sql_is_named(lot: Lot) -> None:
    victim = lot.ids[0]
    lot.sql("DELETE FROM event_epcs WHERE event_id = :i", i=victim)
    failed = {(c.name, c.record_id) for c in lot.failures()}
    assert ("linked", victim) in failed
    assert any(c.name == "journey" for c in lot.failures())  # the page lost the dock stay


def test_an_event_inserted_by_hand_fails_as_not_captured(lot: Lot) -> None:
    forged_id = "ni:///sha-256;" + "ab" * 32 + "?ver=CBV2.0"
    body = (
        '{"action":"OBSERVE","bizStep":"arriving","epcList":'
        '["urn:epc:id:sgtin:4012345.011111.1003"],"eventTime":"2026-11-22T11:00:00Z",'
        '"eventTimeZoneOffset":"+00:00","readPoint":{"id":"' + ELSEWHERE + '"},'
        '"type":"ObjectEvent"}'
    )
    lot.sql(
        "INSERT INTO events (id, event_time, type, biz_step, read_point, body, captured_at,"
        " action) VALUES (:i, :t, 'ObjectEvent', 'arriving', :p, :b, :t, 'OBSERVE')",
        i=forged_id,
        t=datetime(2026, 11, 22, 11, 0),
        p=ELSEWHERE,
        b=body,
    )
    lot.sql(
        "INSERT INTO event_epcs (event_id, epc, gtin, serial, lot, role) VALUES "
        "(:i, 'urn:epc:id:sgtin:4012345.011111.1003', :g, '1003', 'L1', 'epc')",
        i=forged_id,
        g=GTIN,
    )
    failed = [c for c in lot.failures() if c.record_id == forged_id or c.name == "journey"]
    names = {c.name for c in failed}
    assert names == {"captured", "journey"}
    (captured,) = [c for c in failed if c.name == "captured"]
    assert "not captured by this hub" in captured.detail
    report = verify_lot(lot.store, lot.ledger, GTIN, "L1")
    assert any(c.record_id == forged_id and c.outcome is Outcome.FAIL for c in report.checks)
    assert lot.ledger.entries("epcis-event", [forged_id]) == {}
    assert EventFeeder(lot.store, lot.ledger).sync().uncaptured == 1  # and never signed


def test_the_page_counts_a_hand_inserted_event_as_not_proven(lot: Lot) -> None:
    from traceability.anchoring.proofs import LedgerEvidence
    from web.lotpage import LotPageBuilder

    def proofs() -> tuple[int, int]:
        product, record = lot.store.get_product(GTIN), lot.store.get_lot(GTIN, "L1")
        assert product is not None
        assert record is not None
        builder = LotPageBuilder(lot.store, "test", evidence=LedgerEvidence(lot.store, lot.ledger))
        view = builder.build(product, record).proofs
        return view.anchored, view.total

    assert proofs() == (2, 2)
    forged = lot.store.get_event(lot.ids[1])
    assert forged is not None
    body = forged.body.replace("2026-11-22T10:00:00Z", "2026-11-22T12:00:00Z")
    lot.sql(
        "INSERT INTO events (id, event_time, type, read_point, body, captured_at) "
        "VALUES ('forged', :t, 'ObjectEvent', :p, :b, :t)",
        t=datetime(2026, 11, 22, 12, 0),
        p=COLD_ROOM,
        b=body,
    )
    lot.sql(
        "INSERT INTO event_epcs (event_id, epc, gtin, serial, lot, role) VALUES "
        "('forged', 'urn:epc:id:sgtin:4012345.011111.1002', :g, '1002', 'L1', 'epc')",
        g=GTIN,
    )
    assert proofs() == (2, 3)  # "1 of 3 not yet anchored", not "all anchored"
