"""The outbox on a real PostgreSQL: the same SQL as SQLite, and two senders (replicas)
never claim the same row."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.support.postgres import PostgreSQL
from tests.traceability.notifications.support import NOTICE, POLICY, Clock, Recorder
from traceability.notifications.loop import DeliveryLoop
from traceability.notifications.service import Notifications
from traceability.records.store import RecordStore

pytestmark = pytest.mark.integration
HOURS_3 = timedelta(hours=3)


@pytest.fixture
def pg_url(postgres: PostgreSQL) -> Iterator[str]:
    name = f"ntf_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(postgres.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    yield postgres.url.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE {name} WITH (FORCE)"))
    admin.dispose()


def test_escalation_leases_and_acknowledgement_on_postgresql(pg_url: str) -> None:
    one, two = RecordStore.open(pg_url), RecordStore.open(pg_url)
    try:
        clock = Clock()
        email = Recorder("email")
        notifications = Notifications(one, POLICY, {"email": email}, clock=clock)
        notifications.opened(NOTICE)
        notifications.opened(NOTICE)
        claimed = one.claim_due(clock.now, lease_s=30)
        assert [e.recipient for e in claimed] == ["Ana"]
        assert two.claim_due(clock.now, lease_s=30) == []  # the other replica waits
        entry = claimed[0]
        assert entry.claimed_until is not None
        one.mark_failed(entry.id, entry.claimed_until, clock.now, "down", retry_at=clock.now)
        loop = DeliveryLoop(Notifications(two, POLICY, {"email": email}, clock=clock))
        assert loop.run_once() == 1
        clock.advance(minutes=15)
        assert loop.run_once() == 1
        notifications.acknowledged(NOTICE.incident_id, "Ben", clock.now)
        clock.advance(hours=2)
        assert loop.run_once() == 2  # the notes to Ana and Ben; Chen never paged
        assert email.addresses[:2] == ["ana@example.com", "ben@example.com"]
        assert sorted(email.addresses[2:]) == ["ana@example.com", "ben@example.com"]
        alerts = one.alerts_sent(NOTICE.incident_id, "Ana", "email", clock.now - HOURS_3)
        assert alerts == [claimed[0].due_at]  # the note is not an alert
    finally:
        one.close()
        two.close()


def test_a_stale_claim_cannot_finish_or_release_a_row_re_claimed_on_postgresql(
    pg_url: str,
) -> None:
    one, two = RecordStore.open(pg_url), RecordStore.open(pg_url)
    try:
        clock = Clock()
        Notifications(one, POLICY, {"email": Recorder("email")}, clock=clock).opened(NOTICE)
        (stale,) = one.claim_due(clock.now, lease_s=30)
        clock.advance(seconds=30, microseconds=1)  # the first sender stalled past its lease
        (fresh,) = two.claim_due(clock.now, lease_s=30)
        assert stale.claimed_until is not None
        assert fresh.claimed_until is not None
        assert not one.mark_failed(stale.id, stale.claimed_until, clock.now, "late", clock.now)
        assert one.claim_due(clock.now, lease_s=30) == []  # the second sender's lease holds
        assert not one.mark_sent(stale.id, stale.claimed_until, clock.now)
        assert two.mark_sent(fresh.id, fresh.claimed_until, clock.now)
        (entry,) = [e for e in two.outbox_entries() if e.id == fresh.id]
        assert (entry.state, entry.attempts, entry.last_error) == ("sent", 2, None)
    finally:
        one.close()
        two.close()
