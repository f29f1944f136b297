"""``Subscriptions`` over a real SQLite records store, fed by a real ``CaptureService``:
the capture hook writes the outbox in the capture transaction, the backfill from
``initialRecordTime``, who may see a subscription or delete a query, the bounds on
active subscriptions, the sweep of delivered rows and idle WebSockets."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from gs1.errors import QueryParameterInvalid
from tests.support.events import COLD_ROOM, object_event
from tests.support.postgres import PostgreSQL
from traceability.capture import CaptureService
from traceability.errors import RecordConflict, RecordNotFound
from traceability.records.store import RecordStore
from traceability.subscriptions.errors import SubscriptionInvalid, SubscriptionLimit
from traceability.subscriptions.model import SubscriptionRequest
from traceability.subscriptions.service import Subscriptions

HOOK = SubscriptionRequest(kind="webhook", dest="http://127.0.0.1:9/hook")


@pytest.fixture
def subs(tmp_path: Path) -> Iterator[Subscriptions]:
    store = RecordStore.open(f"sqlite:///{tmp_path / 'records.db'}")
    yield Subscriptions(store, public_only=False)  # HOOK is on loopback
    store.close()


def _capture(subs: Subscriptions) -> CaptureService:
    return CaptureService(subs.store, on_stored=subs.on_stored)


def _pending(subs: Subscriptions, subscription_id: str) -> list[str]:
    return [str(r["event_id"]) for r in subs.store.subscription_outbox_rows(subscription_id)]


def test_a_named_query_is_checked_before_it_is_stored(subs: Subscriptions) -> None:
    subs.create_query({"name": "arrivals", "query": {"EQ_bizStep": ["arriving"]}}, "partner")
    with pytest.raises(RecordConflict, match="arrivals"):
        subs.create_query({"name": "arrivals", "query": {}}, None)
    with pytest.raises(QueryParameterInvalid) as bad:
        subs.create_query({"name": "x", "query": {"EQ_colour": ["red"]}}, None)
    assert bad.value.name == "EQ_colour"
    for body, field in (
        ({"name": "has space", "query": {}}, "name"),
        ({"name": "x"}, "query"),
        ({"name": "x", "query": {}, "owner": "me"}, "owner"),
    ):
        with pytest.raises(SubscriptionInvalid) as refused:
            subs.create_query(body, None)
        assert refused.value.field == field
    assert [q.name for q in subs.queries()] == ["arrivals"]


def test_capture_enqueues_what_each_stream_subscription_matches_once(subs: Subscriptions) -> None:
    subs.create_query({"name": "room", "query": {"EQ_readPoint": [COLD_ROOM]}}, None)
    subs.create_query({"name": "all", "query": {}}, None)
    room = subs.subscribe("room", HOOK, "partner")
    everything = subs.subscribe("all", HOOK, "partner")
    told = threading.Event()
    subs.listen(told.set)
    capture = _capture(subs)
    dock = capture.capture(object_event(serial="1001")).event_id
    assert told.is_set()  # told after the commit
    in_room = capture.capture(object_event(serial="1002", read_point=COLD_ROOM)).event_id
    capture.capture(object_event(serial="1002", read_point=COLD_ROOM))  # known: nothing new
    assert _pending(subs, room.id) == [in_room]
    assert sorted(_pending(subs, everything.id)) == sorted([dock, in_room])


def test_a_rolled_back_capture_leaves_no_outbox_row(subs: Subscriptions) -> None:
    subs.create_query({"name": "all", "query": {}}, None)
    everything = subs.subscribe("all", HOOK, None)
    bad = object_event(serial="1003") | {"action": "SHOUT"}
    document = {
        "@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-11-22T10:00:00Z",
        "epcisBody": {"eventList": [object_event(serial="1001"), bad]},
    }
    report = _capture(subs).capture_document(document, "rollback")
    assert not report.ok
    assert _pending(subs, everything.id) == []
    assert subs.store.query_events(limit=10) == []


def test_cancelled_and_deleted_subscriptions_get_nothing_more(subs: Subscriptions) -> None:
    subs.create_query({"name": "all", "query": {}}, None)
    first = subs.subscribe("all", HOOK, "partner")
    second = subs.subscribe("all", HOOK, "partner")
    capture = _capture(subs)
    capture.capture(object_event(serial="1001"))
    subs.unsubscribe("all", first.id, "partner")
    capture.capture(object_event(serial="1002"))
    assert _pending(subs, first.id) == []
    assert len(_pending(subs, second.id)) == 2
    subs.delete_query("all", None)
    capture.capture(object_event(serial="1003"))
    assert subs.store.subscription(second.id) is None
    with pytest.raises(RecordNotFound):
        subs.subscribe("all", HOOK, None)


def test_only_the_owner_or_an_admin_sees_a_subscription(subs: Subscriptions) -> None:
    subs.create_query({"name": "all", "query": {}}, None)
    mine = subs.subscribe("all", HOOK, "partner")
    assert subs.subscription("all", mine.id, "partner") == mine
    assert subs.subscription("all", mine.id, "ops", admin=True) == mine
    with pytest.raises(RecordNotFound, match="another client's"):
        subs.subscription("all", mine.id, "rival")
    with pytest.raises(RecordNotFound):
        subs.unsubscribe("all", mine.id, "rival")
    assert subs.subscriptions("all", "rival") == []
    assert subs.subscriptions("all", "partner") == [mine]
    with pytest.raises(SubscriptionInvalid, match="webhook subscription"):
        subs.resume("all", mine.id, "partner")


def test_initial_record_time_backfills_what_was_captured_since_in_pages(tmp_path: Path) -> None:
    store = RecordStore.open(f"sqlite:///{tmp_path / 'records.db'}")
    try:
        subs = Subscriptions(store, public_only=False, backfill_page=2)
        before = datetime.now(UTC) - timedelta(minutes=1)
        capture = _capture(subs)
        earlier = [capture.capture(object_event(serial=str(1001 + i))).event_id for i in range(5)]
        capture.capture(object_event(serial="1009") | {"bizStep": "shipping"})
        subs.create_query({"name": "arrivals", "query": {"EQ_bizStep": ["arriving"]}}, None)
        since = subs.subscribe(
            "arrivals", HOOK.model_copy(update={"initial_record_time": before}), None
        )
        only_new = subs.subscribe("arrivals", HOOK, None)
        later = capture.capture(object_event(serial="1010")).event_id
        assert sorted(_pending(subs, since.id)) == sorted([*earlier, later])
        assert _pending(subs, only_new.id) == [later]
        future = HOOK.model_copy(update={"initial_record_time": datetime.now(UTC) + timedelta(1)})
        assert _pending(subs, subs.subscribe("arrivals", future, None).id) == []
    finally:
        store.close()


def test_only_its_owner_or_an_admin_deletes_a_query_and_not_under_others(
    subs: Subscriptions,
) -> None:
    subs.create_query({"name": "all", "query": {}}, "partner")
    mine = subs.subscribe("all", HOOK, "partner")
    with pytest.raises(RecordNotFound, match="another client's"):
        subs.delete_query("all", "rival")
    assert subs.subscription("all", mine.id, "partner") == mine
    theirs = subs.subscribe("all", HOOK, "rival")
    with pytest.raises(RecordConflict, match="1 active subscriptions of other clients"):
        subs.delete_query("all", "partner")
    subs.unsubscribe("all", theirs.id, "rival")
    subs.delete_query("all", "partner")  # only its own subscription was left
    assert subs.store.named_query("all") is None
    subs.create_query({"name": "all", "query": {}}, "partner")
    subs.subscribe("all", HOOK, "rival")
    subs.delete_query("all", "ops", admin=True)  # an admin deletes it anyway
    with pytest.raises(RecordNotFound):
        subs.query("all")


def test_active_subscriptions_are_bounded_per_client_and_in_total(subs: Subscriptions) -> None:
    bounded = Subscriptions(subs.store, public_only=False, max_per_client=2, max_total=3)
    bounded.create_query({"name": "all", "query": {}}, None)
    first = bounded.subscribe("all", HOOK, "partner")
    bounded.subscribe("all", HOOK, "partner")
    with pytest.raises(SubscriptionLimit, match="MAX_PER_CLIENT") as per_client:
        bounded.subscribe("all", HOOK, "partner")
    assert (per_client.value.bound, per_client.value.limit) == ("per_client", 2)
    bounded.unsubscribe("all", first.id, "partner")  # a cancelled one does not count
    bounded.subscribe("all", HOOK, "partner")
    bounded.subscribe("all", HOOK, "rival")
    with pytest.raises(SubscriptionLimit, match="MAX_TOTAL") as total:
        bounded.subscribe("all", HOOK, "third")
    assert (total.value.bound, total.value.limit) == ("total", 3)
    assert len(bounded.subscriptions("all", "ops", admin=True)) == 3


def test_the_sweep_prunes_old_delivered_rows_and_cancels_idle_websockets(
    subs: Subscriptions,
) -> None:
    moments = [datetime(2026, 12, 1, 8, tzinfo=UTC)]
    timed = Subscriptions(
        subs.store,
        public_only=False,
        clock=lambda: moments[-1],
        retention=timedelta(days=7),
        websocket_idle=timedelta(days=7),
    )
    timed.create_query({"name": "all", "query": {}}, None)
    hook = timed.subscribe("all", HOOK, "partner")
    socket = SubscriptionRequest(kind="websocket")
    away = timed.subscribe("all", socket, "partner")
    back = timed.subscribe("all", socket, "partner")
    capture = CaptureService(subs.store, on_stored=timed.on_stored)
    events = [capture.capture(object_event(serial=str(1001 + i))).event_id for i in range(3)]
    start = moments[0]
    subs.store.acknowledge_subscription(hook.id, events[:2], start)  # delivered at once
    moments.append(start + timedelta(days=5))
    timed.seen(back.id)  # its client came back on day 5
    moments.append(start + timedelta(days=8))
    assert timed.sweep(batch=1) == (2, 1)  # batch=1: it loops until nothing is left
    assert _pending(subs, hook.id) == [events[2]]  # not delivered yet: kept
    record = subs.store.subscription(away.id)
    assert record is not None
    assert record.cancelled_at == moments[-1]
    assert _pending(subs, away.id) == []  # its undelivered rows went with it
    assert timed.subscription("all", back.id, "partner").cancelled_at is None
    assert timed.sweep() == (0, 0)


@pytest.mark.integration
def test_the_hook_and_the_backfill_on_postgresql(postgres: PostgreSQL) -> None:
    engine = sa.create_engine(postgres.url, isolation_level="AUTOCOMMIT")
    name = f"subs_{uuid.uuid4().hex[:8]}"
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    store = RecordStore.open(postgres.url.rsplit("/", 1)[0] + "/" + name)
    try:
        subs = Subscriptions(store, public_only=False)
        capture = _capture(subs)
        first = capture.capture(object_event(serial="1001")).event_id
        subs.create_query({"name": "all", "query": {}}, None)
        since = datetime.now(UTC) - timedelta(minutes=1)
        backfilled = subs.subscribe(
            "all", HOOK.model_copy(update={"initial_record_time": since}), None
        )
        told = threading.Event()
        subs.listen(told.set)
        second = capture.capture(object_event(serial="1002")).event_id
        assert told.is_set()
        assert sorted(_pending(subs, backfilled.id)) == sorted([first, second])
    finally:
        store.close()
