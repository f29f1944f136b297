"""The operator accounts' tables (migration 0011, issue #17), part of the records schema
(``traceability.records.schema`` re-exports them: import them from there).

* ``users`` — one row per console user, never deleted (a disabled name stays taken, so
  a login event or a signature never comes to name someone else). The password is kept
  as its Argon2id hash; the TOTP secret as base32 (it must be read back to check codes)
  with the last time step accepted, so a code works once.
* ``account_sessions`` — the console's server-side sessions, by the SHA-256 of the
  session id the signed cookie carries (a leaked table opens no session).
* ``login_events`` — every login and signature attempt: who (the name as typed, known
  or not), when, the outcome and the remote address.
"""

from __future__ import annotations

import sqlalchemy as sa

from traceability.records.metadata import metadata

__all__ = ["account_sessions", "login_events", "metadata", "users"]

users = sa.Table(
    "users",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("display_name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(10), nullable=False),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("must_change_password", sa.Boolean, nullable=False),
    sa.Column("totp_secret", sa.String(64), nullable=True),
    sa.Column("totp_last_step", sa.BigInteger, nullable=True),
    sa.Column("disabled", sa.Boolean, nullable=False),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("locked_until", sa.DateTime, nullable=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("password_changed_at", sa.DateTime, nullable=False),
    sa.Column("last_login_at", sa.DateTime, nullable=True),
)

account_sessions = sa.Table(
    "account_sessions",
    metadata,
    sa.Column("id_sha256", sa.String(64), primary_key=True),
    sa.Column("user_name", sa.String(64), sa.ForeignKey("users.name"), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("last_seen_at", sa.DateTime, nullable=False),
    sa.Column("ended_at", sa.DateTime, nullable=True),
    sa.Index("ix_account_sessions_user", "user_name"),
)

login_events = sa.Table(
    "login_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_name", sa.String(64), nullable=False),  # as typed: unknown names too
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("purpose", sa.String(10), nullable=False),  # login | signature
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("remote", sa.String(64), nullable=True),
    sa.Index("ix_login_events_user_at", "user_name", "at"),
)
