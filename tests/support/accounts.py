"""Builders of the accounts tests: a settable clock, a cheap Argon2id hasher (the real
parameters cost 64 MiB and ~50 ms a hash, by design), and the code an authenticator app
would show."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher

from traceability.accounts import totp
from traceability.accounts.policy import LockoutPolicy, SessionPolicy
from traceability.accounts.service import AccountService
from traceability.records.accounts import Role
from traceability.records.store import RecordStore

T0 = datetime(2026, 12, 2, 9, 0, 10, tzinfo=UTC)  # 10 s into a TOTP step
PASSWORD = "correct horse battery"


def cheap_hasher() -> PasswordHasher:
    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


class Clock:
    """A clock the test moves: ``clock.advance(minutes=5)``."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def service(
    store: RecordStore,
    clock: Clock,
    *,
    hasher: PasswordHasher | None = None,
    lockout: LockoutPolicy | None = None,
    sessions: SessionPolicy | None = None,
) -> AccountService:
    return AccountService(
        store,
        hasher=hasher or cheap_hasher(),
        lockout=lockout,
        sessions=sessions,
        clock=clock,
    )


def code(secret: str, at: datetime) -> str:
    return totp.totp(totp.secret_key(secret), at)


def ready_user(accounts: AccountService, name: str, role: Role = "operator") -> str:
    """A user past their first login, with ``PASSWORD``; their name back."""
    issued = accounts.add(name, role)
    accounts.login(name, issued.password, new_password=PASSWORD)
    return issued.user.name
