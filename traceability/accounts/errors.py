"""Errors raised by the accounts package.

::

    AccountError (a traceability.errors.TraceabilityError)
    ├── UnknownUser             no user has the name an admin command gave
    ├── UserExists              the name is taken (disabled users keep theirs)
    ├── InvalidAccount          a name, display name or role that cannot be
    ├── PasswordRefused         a new password breaks the policy (the message says how)
    ├── LoginRefused            a login or signature check failed (``outcome`` says why)
    └── PasswordChangeRequired  the password was right, but it is a one-time password:
                                the login must choose a new one

A records outage passes as ``traceability.errors.StoreUnavailable``.
"""

from __future__ import annotations

from datetime import datetime

from traceability.errors import TraceabilityError
from traceability.records.accounts import Outcome


class AccountError(TraceabilityError):
    """Root of the accounts package's errors."""


class UnknownUser(AccountError):  # noqa: N818 - outcome names, as the records'
    """No user has this name."""


class UserExists(AccountError):  # noqa: N818 - outcome names, as the records'
    """The name is taken, possibly by a disabled user: names are never reused."""


class InvalidAccount(AccountError, ValueError):  # noqa: N818 - outcome names, as the records'
    """A name, display name or role that cannot be; the message names the field."""


class PasswordRefused(AccountError, ValueError):  # noqa: N818 - outcome names, as the records'
    """A new password breaks the policy; the message names the rule."""


class LoginRefused(AccountError):  # noqa: N818 - outcome names, as the records'
    """A login (or an electronic signature's check) failed.

    ``outcome`` is what the login events record (bad-password, bad-totp, locked, disabled,
    unknown); what a login form shows must not tell them apart (an unknown name and a
    wrong password look the same to whoever guesses), a signature's may."""

    def __init__(self, outcome: Outcome, message: str, locked_until: datetime | None = None):
        super().__init__(message)
        self.outcome: Outcome = outcome
        self.locked_until = locked_until


class PasswordChangeRequired(AccountError):  # noqa: N818 - outcome names, as the records'
    """The one-time password was right: log in again with a new password."""
