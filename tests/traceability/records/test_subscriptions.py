"""The named queries, subscriptions and subscription outbox tables, on SQLite and on
PostgreSQL: paging, the (subscription, event) key that dedupes, the webhook lease per
subscription, the destination's backoff, WebSocket acks."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support.events import object_event
from tests.support.postgres import PostgreSQL
from traceability.capture import CaptureService
from traceability.errors import RecordConflict
from traceability.records.store import RecordStore
from traceability.records.subscriptions import SubscriptionRecord

T0 = datetime(2026, 12, 1, 8, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def records(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RecordStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'records.db'}"
    else:
        server: PostgreSQL = request.getfixturevalue("postgres")
        url = _database(server.url, f"subs_{uuid.uuid4().hex[:8]}")
    store = RecordStore.open(url)
    yield store
    store.close()


def _database(server_url: str, name: str) -> str:
    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    return server_url.rsplit("/", 1)[0] + "/" + name


def _events(store: RecordStore, count: int) -> list[str]:
    capture = CaptureService(store)
    return [
        capture.capture(object_event(serial=str(1001 + i), time=f"2026-11-22T10:00:0{i}Z")).event_id
        for i in range(count)
    ]


def _subscription(store: RecordStore, sid: str, kind: str = "webhook") -> SubscriptionRecord:
    return store.add_subscription(
        SubscriptionRecord(
            id=sid,
            query_name="arrivals",
            kind=kind,
            dest="http://127.0.0.1:9/hook" if kind == "webhook" else None,
            owner="partner",
            created_at=T0,
        )
    )


def test_named_queries_are_stored_once_paged_by_name_and_deleted_with_their_subscriptions(
    records: RecordStore,
) -> None:
    for name in ("b", "a", "c"):
        records.add_named_query(name, {"EQ_bizStep": ["arriving"]}, "partner", T0)
    with pytest.raises(RecordConflict, match="'a' exists"):
        records.add_named_query("a", {}, None, T0)
    assert [q.name for q in records.named_queries(limit=2)] == ["a", "b"]
    assert [q.name for q in records.named_queries(after="b")] == ["c"]
    assert records.named_query("a") is not None
    assert records.named_query("a").query == {"EQ_bizStep": ["arriving"]}  # type: ignore[union-attr]
    records.add_named_query("arrivals", {}, None, T0)
    _subscription(records, "s1")
    (event,) = _events(records, 1)
    records.enqueue_events("s1", [event], T0)
    assert records.delete_named_query("arrivals")
    assert records.subscription("s1") is None
    assert records.subscription_outbox_rows("s1") == []
    assert not records.delete_named_query("arrivals")


def test_an_event_is_enqueued_once_per_subscription_and_cancelling_drops_what_is_pending(
    records: RecordStore,
) -> None:
    records.add_named_query("arrivals", {}, None, T0)
    _subscription(records, "s1")
    _subscription(records, "s2")
    first, second = _events(records, 2)
    assert records.enqueue_events("s1", [first, second], T0) == 2
    assert records.enqueue_events("s1", [first, second], T0) == 0  # the key dedupes
    assert records.enqueue_events("s2", [first], T0) == 1
    assert [r["event_id"] for r in records.subscription_outbox_rows("s1")] == sorted(
        [first, second]
    )
    assert [s.id for s in records.subscriptions_of("arrivals", owner="partner")] == ["s1", "s2"]
    assert records.subscriptions_of("arrivals", owner="someone else") == []
    assert records.cancel_subscription("s2", T0)
    assert not records.cancel_subscription("s2", T0)
    assert records.subscription_outbox_rows("s2") == []
    assert records.enqueue_events("s2", [second], T0) == 0  # cancelled: nothing more
    assert [s.id for s in records.subscriptions_of("arrivals")] == ["s1"]


def test_a_webhook_batch_is_leased_per_subscription_and_a_failure_holds_the_destination(
    records: RecordStore,
) -> None:
    records.add_named_query("arrivals", {}, None, T0)
    _subscription(records, "s1")
    events = _events(records, 3)
    records.enqueue_events("s1", events, T0)

    claimed = records.claim_webhook_batch(T0, lease_s=30, limit=2)
    assert claimed is not None
    assert [e.id for e in claimed.events] == events[:2]  # capture order
    assert claimed.attempts == 1
    # One request per destination at a time: the third row waits for this one.
    assert records.claim_webhook_batch(T0, lease_s=30, limit=2) is None

    retry = T0 + timedelta(seconds=5)
    assert records.mark_subscription_failed("s1", claimed.claim, retry, "HTTP 503")
    assert not records.mark_subscription_failed("s1", claimed.claim, retry, "again")  # released
    assert records.claim_webhook_batch(T0 + timedelta(seconds=1), 30, 10) is None  # backoff
    counts = records.subscription_counts("s1")
    assert (counts.pending, counts.delivered, counts.last_error) == (3, 0, "HTTP 503")

    again = records.claim_webhook_batch(retry, 30, 10)
    assert again is not None
    assert [e.id for e in again.events] == events
    assert again.subscription.failures == 1
    assert records.mark_subscription_delivered("s1", claimed.claim, retry) == 0  # old token
    assert records.mark_subscription_delivered("s1", again.claim, retry) == 3
    assert records.claim_webhook_batch(retry, 30, 10) is None
    counts = records.subscription_counts("s1")
    assert (counts.pending, counts.delivered, counts.last_delivered_at) == (0, 3, retry)
    assert records.subscription("s1").failures == 0  # type: ignore[union-attr]


def test_a_lease_that_runs_out_is_claimed_again(records: RecordStore) -> None:
    records.add_named_query("arrivals", {}, None, T0)
    _subscription(records, "s1")
    records.enqueue_events("s1", _events(records, 1), T0)
    first = records.claim_webhook_batch(T0, lease_s=30, limit=10)
    assert first is not None
    later = T0 + timedelta(seconds=31)  # the sender died mid-send
    second = records.claim_webhook_batch(later, lease_s=30, limit=10)
    assert second is not None
    assert second.attempts == 2
    assert records.mark_subscription_delivered("s1", first.claim, later) == 0
    assert records.mark_subscription_delivered("s1", second.claim, later) == 1


def test_websocket_rows_are_never_leased_and_acks_deliver_them(records: RecordStore) -> None:
    records.add_named_query("arrivals", {}, None, T0)
    _subscription(records, "w1", kind="websocket")
    events = _events(records, 3)
    records.enqueue_events("w1", events, T0)
    assert records.claim_webhook_batch(T0, 30, 10) is None  # not the webhook loop's
    sent = [e.id for e in records.subscription_undelivered("w1", limit=2)]
    assert sent == events[:2]
    rest = records.subscription_undelivered("w1", limit=10, skip=sent)
    assert [e.id for e in rest] == events[2:]
    assert records.acknowledge_subscription("w1", [events[0], "unknown"], T0) == 1
    assert records.acknowledge_subscription("w1", [events[0]], T0) == 0
    assert [e.id for e in records.subscription_undelivered("w1", limit=10)] == events[1:]


def test_bounds_refusal_in_use_pruning_and_idle_websockets(records: RecordStore) -> None:
    from traceability.records.subscriptions import TooManySubscriptions

    records.add_named_query("arrivals", {}, "partner", T0)
    hook = _subscription(records, "s-hook")
    with pytest.raises(TooManySubscriptions) as over:
        records.add_subscription(
            SubscriptionRecord(
                id="s-over", query_name="arrivals", kind="websocket", owner="partner", created_at=T0
            ),
            max_per_client=1,
        )
    assert over.value.bound == "per_client"
    socket = records.add_subscription(
        SubscriptionRecord(
            id="s-other", query_name="arrivals", kind="websocket", owner="other", created_at=T0
        ),
        max_per_client=1,
        max_total=2,
    )
    with pytest.raises(RecordConflict, match="other clients"):
        records.delete_named_query("arrivals", refuse_others_of="partner")
    first, second = _events(records, 2)
    records.enqueue_events(hook.id, [first, second], T0)
    records.acknowledge_subscription(hook.id, [first], T0)
    records.acknowledge_subscription(hook.id, [second], T0 + timedelta(days=2))
    assert records.prune_subscription_outbox(T0 + timedelta(days=1), 10) == 1
    assert [r["event_id"] for r in records.subscription_outbox_rows(hook.id)] == [second]
    assert records.idle_websockets(T0 + timedelta(days=1)) == [socket.id]
    records.touch_subscription(socket.id, T0 + timedelta(days=2))
    assert records.idle_websockets(T0 + timedelta(days=1)) == []
