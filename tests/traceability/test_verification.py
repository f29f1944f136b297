from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from ledger.errors import ChainUnavailable
from traceability.anchoring import AnchoringService
from traceability.capture import CaptureService
from traceability.records import RecordStore
from traceability.verification import VerificationReport, report_json, verify_lot

from .events import COLD_ROOM, GTIN, object_event
from .fake_anchorer import FakeAnchorer


@pytest.fixture
def anchored(stocked: RecordStore) -> tuple[RecordStore, FakeAnchorer, list[str]]:
    """Four events of lot L1 anchored in one batch, plus one of an unknown unit."""
    service = CaptureService(stocked)
    ids = [
        service.capture(object_event(serial=s, time=f"2026-11-22T10:0{i}:00Z")).event_id
        for i, s in enumerate(["1001", "1002", "1003", "1004"])
    ]
    service.capture(object_event(serial="9999"))
    fake = FakeAnchorer()
    AnchoringService(stocked, fake).anchor_pending()
    return stocked, fake, ids


def failing(report: VerificationReport) -> set[tuple[str, str | None]]:
    return {(c.name, c.event_id) for c in report.failures}


def test_untouched_lot_verifies_online_and_offline(
    anchored: tuple[RecordStore, FakeAnchorer, list[str]],
) -> None:
    store, fake, _ = anchored
    online = verify_lot(store, GTIN, "L1", fake.lookup)
    assert online.ok, report_json(online)
    assert online.online
    names = [c.name for c in online.checks]
    assert names.count("leaf") == names.count("inclusion") == 4
    assert names.count("batch root") == names.count("on chain") == 1
    [chain] = [c for c in online.checks if c.name == "on chain"]
    assert chain.detail.startswith("anchored in block 1")

    offline = verify_lot(store, "4012345111118", "L1")
    assert offline.ok
    [chain] = [c for c in offline.checks if c.name == "on chain"]
    assert chain.detail == "skipped: offline"
    assert json.loads(report_json(offline))["ok"] is True


def test_altered_event_is_named(anchored: tuple[RecordStore, FakeAnchorer, list[str]]) -> None:
    store, fake, ids = anchored
    victim = ids[2]
    stored = store.get_event(victim)
    assert stored is not None
    body = stored.body.replace('"in_progress"', '"damaged"')
    assert body != stored.body
    with store._engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE events SET body = :body WHERE id = :id"), {"body": body, "id": victim}
        )
    report = verify_lot(store, GTIN, "L1", fake.lookup)
    assert not report.ok
    assert failing(report) == {("leaf", victim), ("inclusion", victim)}
    [leaf] = [c for c in report.failures if c.name == "leaf"]
    assert leaf.detail.startswith("stored event was altered")


def test_unreadable_event_json_is_named(
    anchored: tuple[RecordStore, FakeAnchorer, list[str]],
) -> None:
    store, fake, ids = anchored
    with store._engine.begin() as conn:
        conn.execute(sa.text("UPDATE events SET body = '{' WHERE id = :id"), {"id": ids[0]})
    report = verify_lot(store, GTIN, "L1", fake.lookup)
    assert failing(report) == {("leaf", ids[0])}
    assert "cannot be read" in report.failures[0].detail


def test_reordered_leaves_break_the_root_and_the_proofs(
    anchored: tuple[RecordStore, FakeAnchorer, list[str]],
) -> None:
    store, fake, ids = anchored
    with store._engine.begin() as conn:
        swap = "UPDATE events SET leaf_index = :to WHERE id = :id"
        conn.execute(sa.text(swap), {"to": 99, "id": ids[0]})
        conn.execute(sa.text(swap), {"to": 0, "id": ids[1]})
        conn.execute(sa.text(swap), {"to": 1, "id": ids[0]})
    report = verify_lot(store, GTIN, "L1", fake.lookup)
    # swapping leaves 0 and 1 changes the subtree every other leaf's proof passes through
    assert failing(report) == {("batch root", None)} | {("inclusion", i) for i in ids}
    [root] = [c for c in report.failures if c.name == "batch root"]
    assert "changed, removed or reordered" in root.detail


def test_removed_leaf_is_detected(anchored: tuple[RecordStore, FakeAnchorer, list[str]]) -> None:
    store, fake, ids = anchored
    with store._engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM event_epcs WHERE event_id = :id"), {"id": ids[3]})
        conn.execute(sa.text("DELETE FROM events WHERE id = :id"), {"id": ids[3]})
    report = verify_lot(store, GTIN, "L1", fake.lookup)
    assert ("batch root", None) in failing(report)
    [root] = [c for c in report.failures if c.name == "batch root"]
    assert "records size 5 but has 4 leaves" in root.detail
    # the remaining events' proofs no longer lead to the anchored root
    assert {("inclusion", i) for i in ids[:3]} <= failing(report)


def test_pending_events_are_reported_not_yet_anchored(
    anchored: tuple[RecordStore, FakeAnchorer, list[str]],
) -> None:
    store, fake, _ = anchored
    late = CaptureService(store).capture(object_event(serial="1005", read_point=COLD_ROOM))
    report = verify_lot(store, GTIN, "L1", fake.lookup)
    assert not report.ok
    assert report.pending_event_ids == (late.event_id,)
    assert [c.detail for c in report.failures] == ["not yet anchored"]


def test_root_missing_on_chain_or_chain_down(
    anchored: tuple[RecordStore, FakeAnchorer, list[str]],
) -> None:
    store, _, _ = anchored
    other_chain = FakeAnchorer()
    report = verify_lot(store, GTIN, "L1", other_chain.lookup)
    assert failing(report) == {("on chain", None)}
    assert "is not anchored in contract" in report.failures[0].detail

    def down(_root: bytes) -> None:
        raise ChainUnavailable("connection refused")

    report = verify_lot(store, GTIN, "L1", down)
    assert failing(report) == {("on chain", None)}
    assert report.failures[0].detail.startswith("chain unavailable")


def test_unknown_lot_has_nothing_to_verify(stocked: RecordStore) -> None:
    report = verify_lot(stocked, GTIN, "NOPE")
    assert not report.ok
    assert (
        report.failures[0].detail == f"no events recorded for lot NOPE of {GTIN}; nothing to verify"
    )
