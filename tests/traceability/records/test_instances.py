"""Heartbeats and singleton leases in the records (issue #18), on SQLite and on a real
PostgreSQL shared by several stores, as replicas share it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support.postgres import PostgreSQL
from traceability.records.instances import PRUNE_AFTER, InstanceBeat
from traceability.records.store import RecordStore

T0 = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
TTL = timedelta(seconds=30)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'records.db'}"
    server: PostgreSQL = request.getfixturevalue("postgres")
    admin = sa.create_engine(server.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql('DROP DATABASE IF EXISTS "instances" WITH (FORCE)')
        conn.exec_driver_sql('CREATE DATABASE "instances"')
    admin.dispose()
    return server.url.rsplit("/", 1)[0] + "/instances"


@pytest.fixture
def stores(url: str) -> Iterator[list[RecordStore]]:
    opened = [RecordStore.open(url) for _ in range(3)]  # three replicas, three engines
    yield opened
    for store in opened:
        store.close()


def beat(instance: str, at: datetime, healthy: bool = True, **detail: object) -> InstanceBeat:
    return InstanceBeat(
        id=instance, roles=("web",), version="0.1.0", host="h1", pid=7,
        started_at=T0, beat_at=at, healthy=healthy, detail=detail,
    )  # fmt: skip


def test_a_lease_has_one_holder_until_it_runs_out(stores: list[RecordStore]) -> None:
    a, b, _ = stores
    assert a.hold_lease("alarms", "A", T0, T0 + TTL)
    assert not b.hold_lease("alarms", "B", T0 + timedelta(seconds=10), T0 + TTL * 2)
    assert a.hold_lease("alarms", "A", T0 + timedelta(seconds=20), T0 + TTL * 2)  # renewed
    assert not b.hold_lease("alarms", "B", T0 + timedelta(seconds=40), T0 + TTL * 3)
    assert b.lease_holder("alarms", T0 + timedelta(seconds=40)) == "A"
    # A stops renewing (killed): once its lease ran out, B takes over, and A is out.
    later = T0 + TTL * 2 + timedelta(seconds=1)
    assert b.hold_lease("alarms", "B", later, later + TTL)
    assert not a.hold_lease("alarms", "A", later, later + TTL)
    assert a.lease_holder("alarms", later) == "B"


def test_a_released_lease_is_taken_at_once(stores: list[RecordStore]) -> None:
    a, b, _ = stores
    assert a.hold_lease("alarms", "A", T0, T0 + TTL)
    b.drop_lease("alarms", "A-not")  # only its holder can release it
    assert not b.hold_lease("alarms", "B", T0, T0 + TTL)
    a.drop_lease("alarms", "A")
    assert a.lease_holder("alarms", T0) is None
    assert b.hold_lease("alarms", "B", T0, T0 + TTL)


def test_replicas_racing_for_a_free_lease_have_one_winner(stores: list[RecordStore]) -> None:
    for round_ in range(5):
        at = T0 + TTL * 3 * round_  # each round: the last winner's lease has run out
        won: list[str] = []
        start = threading.Barrier(9)

        threads = [
            threading.Thread(target=_race, args=(stores[i % 3], f"r{round_}-{i}", at, start, won))
            for i in range(9)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(won) == 1, won
        assert stores[0].lease_holder("anchoring-race", at) == won[0]


def _race(
    store: RecordStore, name: str, at: datetime, start: threading.Barrier, won: list[str]
) -> None:
    start.wait()
    if store.hold_lease("anchoring-race", name, at, at + TTL):
        won.append(name)


def test_heartbeats_are_listed_refreshed_forgotten_and_pruned(stores: list[RecordStore]) -> None:
    a, b, c = stores
    a.beat(beat("web-1", T0, web="http://10.0.0.1:8000"))
    b.beat(beat("web-2", T0 + timedelta(seconds=1), healthy=False, not_ready=["web"]))
    a.beat(beat("web-1", T0 + timedelta(seconds=5), web="http://10.0.0.1:8000"))
    seen = {i.id: i for i in c.hub_instances()}
    assert seen.keys() == {"web-1", "web-2"}
    assert seen["web-1"].beat_at == T0 + timedelta(seconds=5)  # refreshed, not a second row
    assert seen["web-1"].detail == {"web": "http://10.0.0.1:8000"}
    assert not seen["web-2"].healthy
    assert seen["web-2"].detail["not_ready"] == ["web"]
    b.forget_instance("web-2")  # a clean stop
    assert [i.id for i in c.hub_instances()] == ["web-1"]
    # A killed one is kept (status says how long it has been silent), then pruned.
    c.beat(beat("anchor-1", T0 + PRUNE_AFTER + timedelta(seconds=6)))
    assert [i.id for i in c.hub_instances()] == ["anchor-1"]
