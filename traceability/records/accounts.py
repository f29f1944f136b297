"""Operator accounts in the records database (issue #17): users, sessions, login events.

The policy (hashing, TOTP, lockout, session lifetimes) is ``traceability.accounts``; this
module only keeps what it decides, and makes the two decisions that must hold across
web replicas atomic in SQL: each attempt is counted before its password is checked, however
many replicas check at once (``reserve_attempt``), and a TOTP time step is accepted at most
once (``accept_login``: a compare-and-set on the last step used).

``User`` never carries the password hash nor the TOTP secret; ``credentials`` is the one
read that does, for the service to check a login against.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal, get_args

import sqlalchemy as sa
from pydantic import AwareDatetime, BaseModel, ConfigDict
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

from traceability.errors import RecordConflict, RecordNotFound
from traceability.records.database import Database, from_db, to_db
from traceability.records.schema import account_sessions, login_events, users

Role = Literal["viewer", "operator", "quality", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)
Outcome = Literal["ok", "bad-password", "bad-totp", "locked", "disabled", "unknown"]
Purpose = Literal["login", "signature"]
_TYPED = 64  # a typed name or remote address is kept up to this many characters


class User(BaseModel):
    """One console user as the records keep them (never the hash, nor the TOTP secret)."""

    model_config = ConfigDict(frozen=True)

    name: str
    display_name: str
    role: Role
    disabled: bool = False
    must_change_password: bool = True
    totp_enabled: bool = False
    failures: int = 0  # consecutive failed attempts since the last success or lock
    locked_until: AwareDatetime | None = None
    created_at: AwareDatetime
    password_changed_at: AwareDatetime
    last_login_at: AwareDatetime | None = None

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until


class Credentials(BaseModel):
    """What a login is checked against."""

    model_config = ConfigDict(frozen=True)

    user: User
    password_hash: str
    totp_secret: str | None = None
    totp_last_step: int | None = None


class LoginEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    user_name: str  # as typed, so unknown names show too
    at: AwareDatetime
    purpose: Purpose
    outcome: Outcome
    remote: str | None = None


class AccountSession(BaseModel):
    model_config = ConfigDict(frozen=True)

    user_name: str
    created_at: AwareDatetime
    last_seen_at: AwareDatetime
    ended_at: AwareDatetime | None = None


class AccountRecords(Database):
    """Users, their roles, sessions and login events (``traceability.accounts``)."""

    def add_user(
        self, name: str, display_name: str, role: Role, password_hash: str, now: datetime
    ) -> User:
        """A new user who must change ``password_hash``'s password at first login; a name
        already used (even by a disabled user) is a ``RecordConflict``."""
        try:
            with self._tx() as conn:
                if conn.execute(sa.select(users.c.name).where(users.c.name == name)).first():
                    raise RecordConflict(
                        f"user {name}: the name is taken (disabled users keep theirs); "
                        "choose another name or `tracehub users enable` it"
                    )
                conn.execute(
                    users.insert().values(
                        name=name,
                        display_name=display_name,
                        role=role,
                        password_hash=password_hash,
                        must_change_password=True,
                        totp_secret=None,
                        totp_last_step=None,
                        disabled=False,
                        failures=0,
                        locked_until=None,
                        created_at=to_db(now),
                        password_changed_at=to_db(now),
                        last_login_at=None,
                    )
                )
                return _user_of(conn, name)
        except sa_exc.IntegrityError as exc:  # another process added it meanwhile
            raise RecordConflict(f"user {name}: the name is taken; choose another") from exc

    def users(self) -> list[User]:
        with self._tx() as conn:
            rows = conn.execute(sa.select(users).order_by(users.c.name))
            return [_user(row._asdict()) for row in rows]

    def user(self, name: str) -> User | None:
        with self._tx() as conn:
            row = conn.execute(sa.select(users).where(users.c.name == name)).first()
        return None if row is None else _user(row._asdict())

    def credentials(self, name: str) -> Credentials | None:
        with self._tx() as conn:
            row = conn.execute(sa.select(users).where(users.c.name == name)).first()
        if row is None:
            return None
        data = row._asdict()
        return Credentials(
            user=_user(data),
            password_hash=data["password_hash"],
            totp_secret=data["totp_secret"],
            totp_last_step=data["totp_last_step"],
        )

    def set_disabled(self, name: str, disabled: bool, now: datetime) -> User:
        """Disable (ending every session of the user) or enable ``name``."""
        with self._tx() as conn:
            _update(conn, name, disabled=disabled)
            if disabled:
                _end_sessions(conn, name, now)
            return _user_of(conn, name)

    def set_password(
        self, name: str, password_hash: str, now: datetime, *, must_change: bool, reset: bool
    ) -> User:
        """A new password hash. ``reset`` (an admin's): also clears the lockout and ends
        every session of the user; a rehash or the user's own change does neither."""
        values: dict[str, Any] = {
            "password_hash": password_hash,
            "must_change_password": must_change,
        }
        if must_change or reset:
            values["password_changed_at"] = to_db(now)
        if reset:
            values.update(failures=0, locked_until=None)
        with self._tx() as conn:
            _update(conn, name, **values)
            if reset:
                _end_sessions(conn, name, now)
            return _user_of(conn, name)

    def set_totp(self, name: str, secret: str | None) -> User:
        """Enable TOTP with ``secret`` (base32), or disable it with None."""
        with self._tx() as conn:
            _update(conn, name, totp_secret=secret, totp_last_step=None)
            return _user_of(conn, name)

    def reserve_attempt(
        self, name: str, now: datetime, *, max_failures: int, lock_for: timedelta
    ) -> User | None:
        """Counts one attempt on ``name`` as a failure before its password is checked,
        in one conditional UPDATE, so that parallel guesses on any number of replicas
        get at most ``max_failures`` checks. The attempt that reaches the limit locks
        the user for ``lock_for`` and starts the count again. None, with nothing
        changed, while the user is locked."""
        reaches = users.c.failures + 1 >= max_failures
        free = sa.or_(users.c.locked_until.is_(None), users.c.locked_until <= to_db(now))
        counted = users.update().where(users.c.name == name, free)
        with self._tx() as conn:
            done = conn.execute(
                counted.values(
                    failures=sa.case((reaches, 0), else_=users.c.failures + 1),
                    locked_until=sa.case(
                        (reaches, to_db(now + lock_for)), else_=users.c.locked_until
                    ),
                )
            )
            user = _user_of(conn, name)
            return user if done.rowcount else None

    def release_attempt(self, name: str, now: datetime, *, max_failures: int) -> None:
        """Gives back a reserved attempt that turned out no failure (a right one-time
        password awaiting its replacement), lifting the lock it set, if it set one."""
        with self._tx() as conn:
            if _user_of(conn, name).locked(now):
                _update(conn, name, failures=max_failures - 1, locked_until=None)
            else:
                conn.execute(
                    users.update()
                    .where(users.c.name == name, users.c.failures > 0)
                    .values(failures=users.c.failures - 1)
                )

    def accept_login(
        self, name: str, purpose: Purpose, remote: str | None, now: datetime, totp_step: int | None
    ) -> User | None:
        """A successful check of ``name``: failures cleared, the event recorded (and the
        last login time, for a login). None, and nothing changed, when ``totp_step`` is
        not after the last step used: a replayed code, maybe by a concurrent login."""
        values: dict[str, Any] = {"failures": 0, "locked_until": None}
        if purpose == "login":
            values["last_login_at"] = to_db(now)
        where = [users.c.name == name]
        if totp_step is not None:
            values["totp_last_step"] = totp_step
            where.append(
                sa.or_(users.c.totp_last_step.is_(None), users.c.totp_last_step < totp_step)
            )
        with self._tx() as conn:
            if conn.execute(users.update().where(*where).values(**values)).rowcount == 0:
                if conn.execute(sa.select(users.c.name).where(users.c.name == name)).first():
                    return None
                raise _not_found(name)
            _event(conn, name, purpose, "ok", remote, now)
            return _user_of(conn, name)

    def record_login_event(
        self, name: str, purpose: Purpose, outcome: Outcome, remote: str | None, now: datetime
    ) -> None:
        """An attempt that changes no user: an unknown name, a disabled or locked user, or
        a failure its reservation already counted."""
        with self._tx() as conn:
            _event(conn, name, purpose, outcome, remote, now)

    def login_events(self, name: str | None = None, limit: int = 100) -> list[LoginEvent]:
        """The newest ``limit`` events (of ``name``), newest first."""
        query = sa.select(login_events).order_by(login_events.c.id.desc()).limit(limit)
        if name is not None:
            query = query.where(login_events.c.user_name == name[:_TYPED])
        with self._tx() as conn:
            rows = [row._asdict() for row in conn.execute(query)]
        return [
            LoginEvent(
                user_name=r["user_name"],
                at=from_db(r["at"]),
                purpose=r["purpose"],
                outcome=r["outcome"],
                remote=r["remote"],
            )
            for r in rows
        ]

    # sessions ---------------------------------------------------------------------

    def open_session(
        self, id_sha256: str, name: str, now: datetime, forget_before: datetime
    ) -> None:
        """A new session of ``name``; the user's sessions that ended, or were last seen
        before ``forget_before``, are deleted (so each user's rows stay few)."""
        with self._tx() as conn:
            conn.execute(
                account_sessions.delete().where(
                    account_sessions.c.user_name == name,
                    sa.or_(
                        account_sessions.c.ended_at.is_not(None),
                        account_sessions.c.last_seen_at < to_db(forget_before),
                    ),
                )
            )
            conn.execute(
                account_sessions.insert().values(
                    id_sha256=id_sha256,
                    user_name=name,
                    created_at=to_db(now),
                    last_seen_at=to_db(now),
                    ended_at=None,
                )
            )

    def session(self, id_sha256: str) -> tuple[AccountSession, User] | None:
        with self._tx() as conn:
            row = conn.execute(
                sa.select(
                    # labelled: both tables have a created_at
                    account_sessions.c.created_at.label("session_created_at"),
                    account_sessions.c.last_seen_at,
                    account_sessions.c.ended_at,
                    users,
                )
                .select_from(account_sessions)
                .join(users, users.c.name == account_sessions.c.user_name)
                .where(account_sessions.c.id_sha256 == id_sha256)
            ).first()
        if row is None:
            return None
        data = row._asdict()
        ended = data["ended_at"]
        found = AccountSession(
            user_name=data["name"],
            created_at=from_db(data["session_created_at"]),
            last_seen_at=from_db(data["last_seen_at"]),
            ended_at=None if ended is None else from_db(ended),
        )
        return found, _user(data)

    def touch_session(self, id_sha256: str, now: datetime) -> None:
        with self._tx() as conn:
            conn.execute(
                account_sessions.update()
                .where(account_sessions.c.id_sha256 == id_sha256)
                .values(last_seen_at=to_db(now))
            )

    def end_session(self, id_sha256: str, now: datetime) -> None:
        with self._tx() as conn:
            conn.execute(
                account_sessions.update()
                .where(
                    account_sessions.c.id_sha256 == id_sha256, account_sessions.c.ended_at.is_(None)
                )
                .values(ended_at=to_db(now))
            )


def _update(conn: Connection, name: str, **values: Any) -> None:
    if conn.execute(users.update().where(users.c.name == name).values(**values)).rowcount == 0:
        raise _not_found(name)


def _not_found(name: str) -> RecordNotFound:
    return RecordNotFound(f"user {name}: no such user; see `tracehub users list`")


def _end_sessions(conn: Connection, name: str, now: datetime) -> None:
    conn.execute(
        account_sessions.update()
        .where(account_sessions.c.user_name == name, account_sessions.c.ended_at.is_(None))
        .values(ended_at=to_db(now))
    )


def _event(
    conn: Connection,
    name: str,
    purpose: Purpose,
    outcome: Outcome,
    remote: str | None,
    now: datetime,
) -> None:
    conn.execute(
        login_events.insert().values(
            user_name=name[:_TYPED],
            at=to_db(now),
            purpose=purpose,
            outcome=outcome,
            remote=None if remote is None else remote[:_TYPED],
        )
    )


def _user_of(conn: Connection, name: str) -> User:
    row = conn.execute(sa.select(users).where(users.c.name == name)).first()
    if row is None:
        raise _not_found(name)
    return _user(row._asdict())


def _aware(value: object) -> datetime | None:
    return from_db(value) if isinstance(value, datetime) else None


def _user(data: dict[str, Any]) -> User:
    return User(
        name=data["name"],
        display_name=data["display_name"],
        role=data["role"],
        disabled=bool(data["disabled"]),
        must_change_password=bool(data["must_change_password"]),
        totp_enabled=data["totp_secret"] is not None,
        failures=int(data["failures"]),
        locked_until=_aware(data["locked_until"]),
        created_at=from_db(data["created_at"]),
        password_changed_at=from_db(data["password_changed_at"]),
        last_login_at=_aware(data["last_login_at"]),
    )
