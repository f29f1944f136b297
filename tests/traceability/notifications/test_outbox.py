"""The outbox on a real PostgreSQL: the same SQL as SQLite, and two senders (replicas)
never claim the same row."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from tests.support.postgres import PostgreSQL
from tests.traceability.notifications.support import NOTICE, POLICY, Clock, Recorder
from traceability.notifications.loop import DeliveryLoop
from traceability.notifications.service import Notifications
from traceability.records.store import RecordStore

pytestmark = pytest.mark.integration


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
        one.mark_failed(claimed[0].id, clock.now, "down", retry_at=clock.now)
        loop = DeliveryLoop(Notifications(two, POLICY, {"email": email}, clock=clock))
        assert loop.run_once() == 1
        clock.advance(minutes=15)
        assert loop.run_once() == 1
        notifications.acknowledged(NOTICE.incident_id, "Ben", clock.now)
        clock.advance(hours=2)
        assert loop.run_once() == 2  # the notes to Ana and Ben; Chen never paged
        assert email.addresses[:2] == ["ana@example.com", "ben@example.com"]
        assert sorted(email.addresses[2:]) == ["ana@example.com", "ben@example.com"]
        assert one.sent_since("Ana", "email", claimed[0].due_at) == 2
    finally:
        one.close()
        two.close()
