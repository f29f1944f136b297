"""Account records on SQLite and a real PostgreSQL (web replicas share them): users kept
without their hash in every listing, failures counted in SQL, a TOTP step accepted once,
sessions ended by disabling and reset, login events as typed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support.accounts import T0
from tests.support.masterdata import database_url
from traceability.errors import RecordConflict, RecordNotFound
from traceability.records.store import RecordStore

LOCK = timedelta(minutes=15)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_url(request.param, tmp_path, request) as found:
        yield found


@pytest.fixture
def records(url: str) -> Iterator[RecordStore]:
    opened = RecordStore.open(url)
    yield opened
    opened.close()


def test_a_user_is_added_once_and_listed_without_secrets(records: RecordStore) -> None:
    user = records.add_user("alice", "Alice Smith", "quality", "$argon2id$hash", T0)
    assert user.must_change_password
    assert (user.role, user.failures, user.totp_enabled) == ("quality", 0, False)
    assert user.created_at == T0
    with pytest.raises(RecordConflict, match="the name is taken"):
        records.add_user("alice", "Another Alice", "viewer", "$argon2id$other", T0)
    records.set_totp("alice", "JBSWY3DPEHPK3PXP")
    (listed,) = records.users()
    assert listed.totp_enabled
    dumped = listed.model_dump_json()
    assert "argon2" not in dumped
    assert "JBSWY3DP" not in dumped
    found = records.credentials("alice")
    assert found is not None
    assert (found.password_hash, found.totp_secret) == ("$argon2id$hash", "JBSWY3DPEHPK3PXP")
    assert records.credentials("bob") is None
    with pytest.raises(RecordNotFound, match="tracehub users list"):
        records.set_disabled("bob", True, T0)


def test_the_attempt_that_reaches_the_limit_locks_and_starts_the_count_again(
    records: RecordStore,
) -> None:
    records.add_user("alice", "Alice", "operator", "h", T0)
    for attempt in range(1, 3):
        user = records.reserve_attempt("alice", T0, max_failures=3, lock_for=LOCK)
        assert user is not None
        assert (user.failures, user.locked_until) == (attempt, None)
    user = records.reserve_attempt("alice", T0, max_failures=3, lock_for=LOCK)
    assert user is not None
    assert (user.failures, user.locked_until) == (0, T0 + LOCK)
    assert user.locked(T0 + LOCK - timedelta(seconds=1))
    assert not user.locked(T0 + LOCK)
    assert records.reserve_attempt("alice", T0, max_failures=3, lock_for=LOCK) is None
    assert records.reserve_attempt("alice", T0 + LOCK, max_failures=3, lock_for=LOCK) is not None
    with pytest.raises(RecordNotFound):
        records.reserve_attempt("bob", T0, max_failures=3, lock_for=LOCK)


def test_a_released_attempt_is_given_back_and_its_lock_lifted(records: RecordStore) -> None:
    records.add_user("alice", "Alice", "operator", "h", T0)
    records.reserve_attempt("alice", T0, max_failures=2, lock_for=LOCK)
    records.release_attempt("alice", T0, max_failures=2)
    assert (records.user("alice") or pytest.fail("no alice")).failures == 0
    records.reserve_attempt("alice", T0, max_failures=2, lock_for=LOCK)
    records.reserve_attempt("alice", T0, max_failures=2, lock_for=LOCK)  # locks
    records.release_attempt("alice", T0, max_failures=2)
    user = records.user("alice") or pytest.fail("no alice")
    assert (user.failures, user.locked_until) == (1, None)


def test_a_totp_step_is_accepted_once(records: RecordStore) -> None:
    records.add_user("alice", "Alice", "operator", "h", T0)
    records.reserve_attempt("alice", T0, max_failures=5, lock_for=LOCK)
    accepted = records.accept_login("alice", "login", None, T0, 1000)
    assert accepted is not None
    assert (accepted.failures, accepted.last_login_at) == (0, T0)
    assert records.accept_login("alice", "login", None, T0, 1000) is None  # replayed
    assert records.accept_login("alice", "signature", None, T0, 999) is None  # older
    signed = records.accept_login("alice", "signature", None, T0 + LOCK, 1001)
    assert signed is not None
    assert signed.last_login_at == T0  # a signature is no login
    outcomes = [e.outcome for e in records.login_events("alice")]
    assert outcomes == ["ok", "ok"]  # the refused replays changed nothing
    with pytest.raises(RecordNotFound):
        records.accept_login("bob", "login", None, T0, None)


def test_disabling_and_reset_end_every_session_of_the_user(records: RecordStore) -> None:
    records.add_user("alice", "Alice", "operator", "h", T0)
    records.add_user("bob", "Bob", "operator", "h", T0)
    records.open_session("a1", "alice", T0, T0 - LOCK)
    records.open_session("a2", "alice", T0, T0 - LOCK)
    records.open_session("b1", "bob", T0, T0 - LOCK)
    records.set_disabled("alice", True, T0 + LOCK)
    for sid in ("a1", "a2"):
        found = records.session(sid)
        assert found is not None
        assert found[0].ended_at == T0 + LOCK
        assert found[1].disabled
    bob = records.session("b1")
    assert bob is not None
    assert bob[0].ended_at is None
    records.set_password("bob", "h2", T0 + LOCK, must_change=True, reset=True)
    bob = records.session("b1")
    assert bob is not None
    assert bob[0].ended_at == T0 + LOCK
    assert records.session("nope") is None


def test_a_rehash_keeps_sessions_and_lockout(records: RecordStore) -> None:
    records.add_user("alice", "Alice", "operator", "h", T0)
    records.reserve_attempt("alice", T0, max_failures=5, lock_for=LOCK)
    records.open_session("a1", "alice", T0, T0 - LOCK)
    user = records.set_password("alice", "h2", T0 + LOCK, must_change=False, reset=False)
    assert user.failures == 1
    assert user.password_changed_at == T0  # a rehash is no new password
    found = records.session("a1")
    assert found is not None
    assert found[0].ended_at is None


def test_opening_a_session_forgets_the_users_ended_and_stale_ones(
    records: RecordStore, url: str
) -> None:
    records.add_user("alice", "Alice", "operator", "h", T0)
    records.open_session("old", "alice", T0, T0 - LOCK)
    records.open_session("ended", "alice", T0 + LOCK, T0)
    records.end_session("ended", T0 + LOCK)
    records.touch_session("old", T0 + timedelta(minutes=1))
    later = T0 + timedelta(hours=13)
    records.open_session("new", "alice", later, later - timedelta(hours=12))
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            kept = conn.execute(sa.text("SELECT id_sha256 FROM account_sessions")).scalars()
            assert set(kept) == {"new"}
    finally:
        engine.dispose()


def test_login_events_keep_unknown_names_as_typed(records: RecordStore) -> None:
    typed = "x" * 100
    records.record_login_event(typed, "login", "unknown", "2001:db8::" + "f" * 80, T0)
    (event,) = records.login_events()
    assert event.user_name == "x" * 64
    assert event.remote is not None
    assert len(event.remote) == 64
    assert records.login_events(typed) == [event]
    assert (event.outcome, event.at) == ("unknown", T0)
