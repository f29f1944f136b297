"""Passwords: the policy a new one must meet, one-time passwords, Argon2id hashes.

The policy follows NIST SP 800-63B section 5.1.1: length is what counts (at least 12
characters, at most 256 so that hashing stays bounded), no composition rules; a password
that is the user's name or one character repeated is refused. A one-time password (on
``users add`` and ``users reset``) is 20 characters drawn by ``secrets`` from an alphabet
without look-alikes (about 99 bits) in groups of five, to be read out and typed once.

Hashes are Argon2id (RFC 9106) by argon2-cffi's ``PasswordHasher``; a hash made with
other parameters than the hasher's is re-made at the next successful login
(``Passwords.needs_rehash``). ``verify_nobody`` spends the time of a real check for a
name that has no password, so the time a login takes does not tell who exists.
"""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2 import exceptions as argon2_errors

from traceability.accounts.errors import PasswordRefused

MIN_LENGTH = 12
MAX_LENGTH = 256
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


def check_policy(password: str, name: str) -> None:
    """Raises ``PasswordRefused`` naming the rule ``password`` breaks."""
    if len(password) < MIN_LENGTH:
        raise PasswordRefused(
            f"password: {len(password)} characters; use at least {MIN_LENGTH} "
            "(a few words are easier to remember than symbols)"
        )
    if len(password) > MAX_LENGTH:
        raise PasswordRefused(f"password: use at most {MAX_LENGTH} characters")
    if password.casefold() == name.casefold():
        raise PasswordRefused("password: must not be the user's name")
    if len(set(password)) == 1:
        raise PasswordRefused("password: must not be one character repeated")


def one_time_password() -> str:
    """A fresh one-time password, ``xxxxx-xxxxx-xxxxx-xxxxx``."""
    groups = ("".join(secrets.choice(_ALPHABET) for _ in range(5)) for _ in range(4))
    return "-".join(groups)


class Passwords:
    """Argon2id hashing with ``hasher``'s parameters (argon2-cffi's defaults unless given:
    RFC 9106's low-memory profile, 64 MiB)."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        self._nobody: str | None = None

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except argon2_errors.VerifyMismatchError:
            return False
        except (argon2_errors.VerificationError, argon2_errors.InvalidHashError):
            return False  # a damaged hash opens nothing; `users reset` repairs it

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except argon2_errors.InvalidHashError:
            return True

    def verify_nobody(self, password: str) -> None:
        """As long as ``verify`` takes, against a hash no password matches."""
        if self._nobody is None:
            self._nobody = self._hasher.hash(secrets.token_urlsafe(32))
        self.verify(self._nobody, password)
