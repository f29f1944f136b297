"""The account service: one-time passwords replaced at first login, lockout, TOTP once,
disabling and reset, rehash, sessions' idle and absolute limits, login events."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta
from typing import Literal

import pytest
from argon2 import PasswordHasher

from tests.support.accounts import PASSWORD, Clock, code, ready_user, service
from traceability.accounts.errors import (
    InvalidAccount,
    LoginRefused,
    PasswordChangeRequired,
    PasswordRefused,
    UnknownUser,
    UserExists,
)
from traceability.accounts.policy import LockoutPolicy, SessionPolicy
from traceability.accounts.service import AccountService
from traceability.records.store import RecordStore


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def accounts(store: RecordStore, clock: Clock) -> AccountService:
    return service(store, clock)


def _outcomes(store: RecordStore, name: str) -> list[str]:
    return [e.outcome for e in reversed(store.login_events(name))]


def test_a_one_time_password_must_be_replaced_at_first_login(
    accounts: AccountService, store: RecordStore
) -> None:
    issued = accounts.add("  Alice ", "quality", display_name="Alice Smith")
    assert (issued.user.name, issued.user.display_name) == ("alice", "Alice Smith")
    assert issued.user.must_change_password
    with pytest.raises(PasswordChangeRequired):
        accounts.login("alice", issued.password)
    with pytest.raises(PasswordRefused, match="at least 12"):
        accounts.login("alice", issued.password, new_password="too short")
    with pytest.raises(PasswordRefused, match="other than the one-time"):
        accounts.login("alice", issued.password, new_password=issued.password)
    assert _outcomes(store, "alice") == []  # no login happened, nothing failed
    user = accounts.login("ALICE", issued.password, remote="10.0.0.5", new_password=PASSWORD)
    assert not user.must_change_password
    assert user.last_login_at == accounts.now()
    with pytest.raises(LoginRefused) as refused:
        accounts.login("alice", issued.password)
    assert refused.value.outcome == "bad-password"
    assert accounts.login("alice", PASSWORD).name == "alice"
    (first, *_) = store.login_events("alice")[::-1]
    assert (first.outcome, first.remote) == ("ok", "10.0.0.5")
    assert _outcomes(store, "alice") == ["ok", "bad-password", "ok"]


def test_names_roles_and_display_names_are_checked(accounts: AccountService) -> None:
    accounts.add("alice", "viewer")
    with pytest.raises(UserExists, match="the name is taken"):
        accounts.add("Alice", "admin")
    for name in ("two words", "", "-alice", "a" * 65, "alice/bob"):
        with pytest.raises(InvalidAccount, match="use letters, digits"):
            accounts.add(name, "viewer")
    with pytest.raises(InvalidAccount, match="role 'root'"):
        accounts.add("bob", "root")  # type: ignore[arg-type]
    with pytest.raises(InvalidAccount, match="display name"):
        accounts.add("bob", "viewer", display_name="Bob\nSmith")
    assert accounts.add("bob", "viewer").user.display_name == "bob"
    with pytest.raises(UnknownUser, match="no such user"):
        accounts.disable("carol")


def test_five_failures_in_a_row_lock_for_fifteen_minutes(
    accounts: AccountService, store: RecordStore, clock: Clock
) -> None:
    ready_user(accounts, "alice")
    for _ in range(4):
        with pytest.raises(LoginRefused):
            accounts.login("alice", "wrong password!")
    accounts.login("alice", PASSWORD)  # a success clears the count
    for attempt in range(5):
        with pytest.raises(LoginRefused) as refused:
            accounts.login("alice", "wrong password!", remote="10.0.0.66")
        assert refused.value.outcome == "bad-password"
        assert (refused.value.locked_until is None) == (attempt < 4)
    with pytest.raises(LoginRefused) as locked:
        accounts.login("alice", PASSWORD)  # right, but locked
    assert locked.value.outcome == "locked"
    assert locked.value.locked_until == clock.now + timedelta(minutes=15)
    clock.advance(minutes=14, seconds=59)
    with pytest.raises(LoginRefused, match="locked"):
        accounts.login("alice", PASSWORD)
    clock.advance(seconds=1)
    assert accounts.login("alice", PASSWORD).failures == 0
    assert _outcomes(store, "alice")[-8:] == [
        *["bad-password"] * 5,
        "locked",
        "locked",
        "ok",
    ]


def test_the_lockout_is_settable(store: RecordStore, clock: Clock) -> None:
    accounts = service(
        store, clock, lockout=LockoutPolicy(max_failures=2, lock_for=timedelta(minutes=1))
    )
    ready_user(accounts, "alice")
    for _ in range(2):
        with pytest.raises(LoginRefused, match="password"):
            accounts.login("alice", "wrong password!")
    with pytest.raises(LoginRefused, match="locked"):
        accounts.login("alice", PASSWORD)
    clock.advance(minutes=1)
    accounts.login("alice", PASSWORD)


def test_disabled_and_unknown_users_are_refused_and_recorded(
    accounts: AccountService, store: RecordStore
) -> None:
    ready_user(accounts, "alice")
    accounts.disable("alice")
    with pytest.raises(LoginRefused) as refused:
        accounts.login("alice", PASSWORD)
    assert refused.value.outcome == "disabled"
    accounts.enable("alice")
    accounts.login("alice", PASSWORD)
    with pytest.raises(LoginRefused) as unknown:
        accounts.login("Mallory", PASSWORD, remote="203.0.113.7")
    assert unknown.value.outcome == "unknown"
    (event,) = store.login_events("mallory")
    assert (event.outcome, event.remote) == ("unknown", "203.0.113.7")
    with pytest.raises(LoginRefused):
        accounts.login("bad name/../", PASSWORD)
    assert _outcomes(store, "alice") == ["ok", "disabled", "ok"]


def test_a_totp_code_is_needed_and_works_once(
    accounts: AccountService, store: RecordStore, clock: Clock
) -> None:
    ready_user(accounts, "alice")
    enrolment = accounts.enable_totp("alice")
    assert enrolment.user.totp_enabled
    assert enrolment.uri.startswith("otpauth://totp/tracehub:alice?secret=" + enrolment.secret)
    with pytest.raises(LoginRefused) as missing:
        accounts.login("alice", PASSWORD)
    assert missing.value.outcome == "bad-totp"
    now = code(enrolment.secret, clock.now)
    accounts.login("alice", PASSWORD, now)
    with pytest.raises(LoginRefused, match="already used"):
        accounts.login("alice", PASSWORD, now)  # replayed within its step
    with pytest.raises(LoginRefused):
        accounts.check_signature("alice", PASSWORD, now)  # nor for a signature
    later = code(enrolment.secret, clock.now + timedelta(seconds=30))
    assert accounts.check_signature("alice", PASSWORD, later).name == "alice"  # +1 step
    clock.advance(minutes=5)
    with pytest.raises(LoginRefused):
        accounts.login("alice", PASSWORD, code(enrolment.secret, clock.now - timedelta(minutes=1)))
    accounts.login("alice", PASSWORD, code(enrolment.secret, clock.now - timedelta(seconds=30)))
    assert _outcomes(store, "alice")[1:] == [
        "bad-totp",
        "ok",
        "bad-totp",
        "bad-totp",
        "ok",
        "bad-totp",
        "ok",
    ]
    with pytest.raises(LoginRefused) as wrong_password:
        accounts.login("alice", "wrong password!", code(enrolment.secret, clock.now))
    assert wrong_password.value.outcome == "bad-password"  # the password is checked first
    accounts.disable_totp("alice")
    accounts.login("alice", PASSWORD)


def test_reset_issues_a_new_one_time_password_and_clears_the_lockout(
    accounts: AccountService, clock: Clock
) -> None:
    ready_user(accounts, "alice")
    for _ in range(5):
        with pytest.raises(LoginRefused):
            accounts.login("alice", "wrong password!")
    issued = accounts.reset("alice")
    assert issued.user.failures == 0
    assert issued.user.locked_until is None
    with pytest.raises(LoginRefused):
        accounts.login("alice", PASSWORD)  # the old password no longer opens
    with pytest.raises(PasswordChangeRequired):
        accounts.login("alice", issued.password)
    with pytest.raises(LoginRefused, match="one-time password cannot sign"):
        accounts.check_signature("alice", issued.password, None)
    accounts.login("alice", issued.password, new_password="a brand new passphrase")


def test_a_hash_made_with_older_parameters_is_remade_at_login(
    store: RecordStore, clock: Clock
) -> None:
    ready_user(service(store, clock), "alice")
    old = store.credentials("alice")
    assert old is not None
    assert ",t=1," in old.password_hash
    stronger = service(
        store, clock, hasher=PasswordHasher(time_cost=2, memory_cost=1024, parallelism=1)
    )
    stronger.login("alice", PASSWORD)
    new = store.credentials("alice")
    assert new is not None
    assert ",t=2," in new.password_hash
    stronger.login("alice", PASSWORD)
    assert not new.user.must_change_password


def test_a_signature_check_failure_counts_towards_the_lockout(
    accounts: AccountService, store: RecordStore
) -> None:
    ready_user(accounts, "alice", "quality")
    for _ in range(4):
        with pytest.raises(LoginRefused, match="not the user's password"):
            accounts.check_signature("alice", "wrong password!", None)
    with pytest.raises(LoginRefused):
        accounts.login("alice", "wrong password!")
    with pytest.raises(LoginRefused, match="locked"):
        accounts.check_signature("alice", PASSWORD, None)
    purposes = {e.purpose for e in store.login_events("alice")}
    assert purposes == {"login", "signature"}


def test_a_session_slides_with_use_and_ends_idle_at_its_lifetime_or_by_logout(
    store: RecordStore, clock: Clock
) -> None:
    accounts = service(
        store,
        clock,
        sessions=SessionPolicy(idle=timedelta(minutes=15), lifetime=timedelta(hours=1)),
    )
    ready_user(accounts, "alice")
    user = accounts.login("alice", PASSWORD)
    session = accounts.open_session(user)
    assert len(session) == 43
    for _ in range(3):  # each request moves the idle deadline on
        clock.advance(minutes=14)
        assert accounts.session_user(session) == accounts.user("alice")
    clock.advance(minutes=15)
    assert accounts.session_user(session) is None  # idle
    lasting = accounts.open_session(user)
    for _ in range(5):
        clock.advance(minutes=10)
        assert accounts.session_user(lasting) is not None
    clock.advance(minutes=10)
    assert accounts.session_user(lasting) is None  # one hour after its login
    ended = accounts.open_session(user)
    accounts.end_session(ended)
    assert accounts.session_user(ended) is None
    assert accounts.session_user("x" * 43) is None


def test_a_look_without_touch_is_no_use_of_the_session(
    accounts: AccountService, clock: Clock
) -> None:
    ready_user(accounts, "alice")
    session = accounts.open_session(accounts.login("alice", PASSWORD))
    for _ in range(14):
        clock.advance(minutes=1)
        assert accounts.session_user(session, touch=False) == accounts.user("alice")
    clock.advance(minutes=1)  # 15 minutes of looks, no use: idle all the same
    assert accounts.session_user(session, touch=False) is None
    assert accounts.session_user(session) is None


def test_disabling_or_resetting_a_user_ends_their_sessions(accounts: AccountService) -> None:
    ready_user(accounts, "alice")
    ready_user(accounts, "bob")
    alice = accounts.open_session(accounts.login("alice", PASSWORD))
    bob = accounts.open_session(accounts.login("bob", PASSWORD))
    accounts.disable("alice")
    accounts.enable("alice")
    assert accounts.session_user(alice) is None  # enabling again opens no old session
    accounts.reset("bob")
    assert accounts.session_user(bob) is None


class _GuessCounter(PasswordHasher):
    """Counts the checks made against real hashes, and holds every check (real or
    ``verify_nobody``'s) until all the guesses are in flight at once."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.in_flight: threading.Barrier | None = None
        self.real: set[str] = set()
        self.checked = 0
        self._lock = threading.Lock()

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        if hash in self.real:
            with self._lock:
                self.checked += 1
        if self.in_flight is not None:
            self.in_flight.wait()
        return super().verify(hash, password)


def test_parallel_wrong_guesses_get_no_more_checks_than_the_lockout_allows(
    store: RecordStore, clock: Clock
) -> None:
    # Before each attempt was reserved in SQL first, all 20 passed the lock check before
    # any failure was counted: 20 real password checks against a limit of 5.
    hasher = _GuessCounter()
    accounts = service(store, clock, hasher=hasher)
    ready_user(accounts, "alice")
    found = store.credentials("alice")
    assert found is not None
    hasher.real.add(found.password_hash)
    hasher.in_flight = threading.Barrier(20, timeout=30)
    outcomes: list[str] = []

    def guess(n: int) -> None:
        try:
            accounts.login("alice", f"wrong guess {n:04d}")
        except LoginRefused as refused:
            outcomes.append(refused.outcome)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert hasher.checked == 5
    hasher.in_flight = None
    assert Counter(outcomes) == {"bad-password": 5, "locked": 15}
    with pytest.raises(LoginRefused, match="locked"):
        accounts.login("alice", PASSWORD)


def test_a_right_one_time_password_gives_its_attempt_back(store: RecordStore, clock: Clock) -> None:
    accounts = service(
        store, clock, lockout=LockoutPolicy(max_failures=2, lock_for=timedelta(minutes=1))
    )
    issued = accounts.add("alice", "operator")
    with pytest.raises(LoginRefused):
        accounts.login("alice", "wrong password!")
    for _ in range(3):  # each would otherwise be the attempt that locks
        with pytest.raises(PasswordChangeRequired):
            accounts.login("alice", issued.password)
    assert accounts.login("alice", issued.password, new_password=PASSWORD).failures == 0
