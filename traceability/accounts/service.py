"""``AccountService``: the console's users, their logins, signatures and sessions.

Administration (``tracehub users``): ``add`` and ``reset`` answer a one-time password,
shown once, that the first login must replace; ``disable`` and ``reset`` end the user's
sessions; ``enable_totp`` answers the secret and its ``otpauth://`` URI.

A login (``login``) and a signature's re-check (``check_signature``) go the same way:

1. an unknown name, a disabled or a locked user is refused (recorded, not counted);
   any other attempt is counted as a failure before its password is checked, in one
   conditional SQL update, so parallel guesses get no more checks than the lockout
   allows (a right password then clears the count, or gives the attempt back);
2. a wrong password, then a wrong, missing or replayed TOTP code, counts one failure:
   the fifth in a row locks the user for 15 minutes (``LockoutPolicy``);
3. a right one-time password, without a new password, is ``PasswordChangeRequired``
   (nothing counted, the TOTP code not spent): the form asks for a new one;
4. a success clears the count, spends the TOTP step and is recorded; a hash made with
   older parameters is re-made.

Every outcome but 3 is a login event (user as typed, time, outcome, remote address).
Sessions are server-side: the console's cookie carries a random id, the records its
SHA-256; a session lives ``SessionPolicy.idle`` past its last request, at most
``lifetime`` past its login, and not past its user's disabling or reset. The clock is
injected; every method is blocking (the web runs them off the event loop).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal, get_args

from argon2 import PasswordHasher
from pydantic import BaseModel, ConfigDict

from traceability.accounts import totp
from traceability.accounts.errors import (
    InvalidAccount,
    LoginRefused,
    PasswordChangeRequired,
    PasswordRefused,
    UnknownUser,
    UserExists,
)
from traceability.accounts.passwords import Passwords, check_policy, one_time_password
from traceability.accounts.policy import LockoutPolicy, SessionPolicy
from traceability.errors import RecordConflict, RecordNotFound
from traceability.records.accounts import AccountRecords, Credentials, Purpose, Role, User

NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._@-]{0,63}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
Failure = Literal["bad-password", "bad-totp"]  # the outcomes that count


class IssuedPassword(BaseModel):
    """A user and their one-time password: the only time it exists outside their head."""

    model_config = ConfigDict(frozen=True)

    user: User
    password: str


class TotpEnrolment(BaseModel):
    model_config = ConfigDict(frozen=True)

    user: User
    secret: str  # base32, for typing into an app
    uri: str  # otpauth://…, for scanning


def normal_name(name: str) -> str:
    """A user name as the records keep it: trimmed, lower case (``Alice`` logs in as
    ``alice``)."""
    return name.strip().lower()


class AccountService:
    def __init__(
        self,
        records: AccountRecords,
        *,
        hasher: PasswordHasher | None = None,
        lockout: LockoutPolicy | None = None,
        sessions: SessionPolicy | None = None,
        clock: Callable[[], datetime] | None = None,
        issuer: str = "tracehub",
    ) -> None:
        """``issuer``: what authenticator apps show above the code (the site's name)."""
        self._records = records
        self._passwords = Passwords(hasher)
        self.lockout = lockout or LockoutPolicy()
        self.session_policy = sessions or SessionPolicy()
        self._clock = clock or (lambda: datetime.now(UTC))
        self._issuer = issuer

    def now(self) -> datetime:
        return self._clock()

    # administration ---------------------------------------------------------------

    def add(self, name: str, role: Role, display_name: str | None = None) -> IssuedPassword:
        name = _valid_name(name)
        if role not in get_args(Role):
            raise InvalidAccount(f"role {role!r}: use one of {', '.join(get_args(Role))}")
        shown = _valid_display_name(display_name if display_name is not None else name)
        password = one_time_password()
        try:
            user = self._records.add_user(
                name, shown, role, self._passwords.hash(password), self.now()
            )
        except RecordConflict as exc:
            raise UserExists(str(exc)) from exc
        return IssuedPassword(user=user, password=password)

    def users(self) -> list[User]:
        return self._records.users()

    def user(self, name: str) -> User | None:
        return self._records.user(normal_name(name))

    def disable(self, name: str) -> User:
        """Disable ``name`` and end their sessions at once; their name stays taken."""
        return self._admin(lambda n: self._records.set_disabled(n, True, self.now()), name)

    def enable(self, name: str) -> User:
        return self._admin(lambda n: self._records.set_disabled(n, False, self.now()), name)

    def reset(self, name: str) -> IssuedPassword:
        """A new one-time password for ``name``; clears the lockout, ends their sessions.
        TOTP stays as it was (``enable_totp`` issues a new secret)."""
        password = one_time_password()
        hashed = self._passwords.hash(password)
        user = self._admin(
            lambda n: self._records.set_password(
                n, hashed, self.now(), must_change=True, reset=True
            ),
            name,
        )
        return IssuedPassword(user=user, password=password)

    def enable_totp(self, name: str) -> TotpEnrolment:
        """A new TOTP secret for ``name`` (replacing any earlier one): from now on their
        logins and signatures need a code from it."""
        secret = totp.new_secret()
        user = self._admin(lambda n: self._records.set_totp(n, secret), name)
        uri = totp.otpauth_uri(secret, user.name, self._issuer)
        return TotpEnrolment(user=user, secret=secret, uri=uri)

    def disable_totp(self, name: str) -> User:
        return self._admin(lambda n: self._records.set_totp(n, None), name)

    def _admin(self, change: Callable[[str], User], name: str) -> User:
        try:
            return change(normal_name(name))
        except RecordNotFound as exc:
            raise UnknownUser(str(exc)) from exc

    # logins and signatures -------------------------------------------------------

    def login(
        self,
        name: str,
        password: str,
        code: str | None = None,
        *,
        remote: str | None = None,
        new_password: str | None = None,
    ) -> User:
        """The user, once ``password`` (and ``code`` when TOTP is on) are right; with a
        one-time password, ``new_password`` replaces it (see the module docstring)."""
        found = self._check(name, password, "login", remote)
        if found.user.must_change_password:
            try:
                if new_password is None:
                    raise PasswordChangeRequired(
                        f"user {found.user.name}: the password is a one-time password; "
                        "choose a new one"
                    )
                check_policy(new_password, found.user.name)
                if new_password == password:
                    raise PasswordRefused("password: choose one other than the one-time password")
            except (PasswordChangeRequired, PasswordRefused):
                self._release(found)
                raise
        user = self._second_factor(found, code, "login", remote)
        if found.user.must_change_password and new_password is not None:
            return self._records.set_password(
                user.name,
                self._passwords.hash(new_password),
                self.now(),
                must_change=False,
                reset=False,
            )
        if self._passwords.needs_rehash(found.password_hash):
            self._records.set_password(
                user.name,
                self._passwords.hash(password),
                self.now(),
                must_change=False,
                reset=False,
            )
        return user

    def check_signature(
        self, name: str, password: str, code: str | None, *, remote: str | None = None
    ) -> User:
        """``name`` as the records have them now, once their password (and code) are right
        again: the check an electronic signature makes (21 CFR 11.200)."""
        found = self._check(name, password, "signature", remote)
        if found.user.must_change_password:
            self._release(found)
            raise LoginRefused("bad-password", "password: a one-time password cannot sign")
        return self._second_factor(found, code, "signature", remote)

    def _check(self, name: str, password: str, purpose: Purpose, remote: str | None) -> Credentials:
        now = self.now()
        typed = normal_name(name)
        found = self._records.credentials(typed) if NAME_PATTERN.fullmatch(typed) else None
        reserved = None
        if found is not None and not found.user.disabled:
            reserved = self._records.reserve_attempt(
                found.user.name,
                now,
                max_failures=self.lockout.max_failures,
                lock_for=self.lockout.lock_for,
            )
        if found is None or found.user.disabled or reserved is None:
            self._passwords.verify_nobody(password)
            if found is None:
                self._records.record_login_event(typed, purpose, "unknown", remote, now)
                raise LoginRefused("unknown", f"user {typed}: no such user")
            if found.user.disabled:
                self._records.record_login_event(typed, purpose, "disabled", remote, now)
                raise LoginRefused("disabled", f"user {typed}: disabled")
            self._records.record_login_event(typed, purpose, "locked", remote, now)
            raise LoginRefused(
                "locked",
                f"user {typed}: locked after {self.lockout.max_failures} failures",
                found.user.locked_until,
            )
        if not self._passwords.verify(found.password_hash, password):
            raise self._failure(reserved, purpose, "bad-password", remote, now)
        return found.model_copy(update={"user": reserved})

    def _release(self, found: Credentials) -> None:
        self._records.release_attempt(
            found.user.name, self.now(), max_failures=self.lockout.max_failures
        )

    def _second_factor(
        self, found: Credentials, code: str | None, purpose: Purpose, remote: str | None
    ) -> User:
        now = self.now()
        step = None
        if found.totp_secret is not None:
            step = totp.match(found.totp_secret, code or "", now, found.totp_last_step)
            if step is None:
                raise self._failure(found.user, purpose, "bad-totp", remote, now)
        accepted = self._records.accept_login(found.user.name, purpose, remote, now, step)
        if accepted is None:  # a concurrent login spent the same step first
            raise self._failure(found.user, purpose, "bad-totp", remote, now)
        return accepted

    def _failure(
        self, user: User, purpose: Purpose, outcome: Failure, remote: str | None, now: datetime
    ) -> LoginRefused:
        # The reservation in ``_check`` already counted it (and locked, at the limit).
        self._records.record_login_event(user.name, purpose, outcome, remote, now)
        counted = user
        what = (
            "password: not the user's password"
            if outcome == "bad-password"
            else "totp: wrong, expired or already used code"
        )
        if counted.locked(now):
            what += f"; locked after {self.lockout.max_failures} failures in a row"
        return LoginRefused(outcome, what, counted.locked_until)

    # sessions ---------------------------------------------------------------------

    def open_session(self, user: User) -> str:
        """A new session of ``user``: its id (43 characters), for the cookie only."""
        session_id = secrets.token_urlsafe(32)
        now = self.now()
        self._records.open_session(
            _digest(session_id), user.name, now, now - self.session_policy.lifetime
        )
        return session_id

    def session_user(self, session_id: str, *, touch: bool = True) -> User | None:
        """The user of a live session (and, with ``touch``, its idle time moved on); None
        once it ended, idled out, outlived its lifetime, or its user was disabled.
        ``touch=False`` is a look that is no use of the session: a screen left watching
        still logs off at the idle timeout (21 CFR 11.10(d), Annex 11 §12)."""
        found = self._records.session(_digest(session_id))
        if found is None:
            return None
        session, user = found
        now = self.now()
        policy = self.session_policy
        if (
            session.ended_at is not None
            or user.disabled
            or now >= session.last_seen_at + policy.idle
            or now >= session.created_at + policy.lifetime
        ):
            return None
        if touch and now - session.last_seen_at >= policy.touch_every:
            self._records.touch_session(_digest(session_id), now)
        return user

    def end_session(self, session_id: str) -> None:
        self._records.end_session(_digest(session_id), self.now())


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("ascii", "replace")).hexdigest()


def _valid_name(name: str) -> str:
    normal = normal_name(name)
    if not NAME_PATTERN.fullmatch(normal):
        raise InvalidAccount(
            f"name {name!r}: use letters, digits and . _ @ - (up to 64), starting with a "
            "letter or digit; names are kept in lower case"
        )
    return normal


def _valid_display_name(display_name: str) -> str:
    shown = display_name.strip()
    if not shown or len(shown) > 200 or _CONTROL.search(shown):
        raise InvalidAccount("display name: give 1 to 200 characters without control characters")
    return shown
