"""The audit trail's tables (migration 0012, issue #17), part of the records schema
(``traceability.records.schema`` re-exports them: import them from there).

Both tables are append-only: ``traceability.records.audittrail`` inserts and reads, and
offers no update or delete. ``audit_entries`` holds every entry with its place in the
hash chain (``prev``, ``digest``: lowercase hex, as every hash here); ``audit_signed``
notes which entries the ledger took, so the signer knows what is left to sign without
asking the ledger for each entry. It has no foreign key on purpose: it states what the
ledger holds, which ``AuditTrail.verify`` reads from the ledger itself anyway.
"""

from __future__ import annotations

import sqlalchemy as sa

from traceability.records.metadata import metadata

__all__ = ["audit_entries", "audit_signed", "metadata"]

audit_entries = sa.Table(
    "audit_entries",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("actor_name", sa.String(200), nullable=False),
    sa.Column("actor_kind", sa.String(10), nullable=False),  # user, client, cli, system
    sa.Column("actor_role", sa.String(40), nullable=True),
    sa.Column("action", sa.String(64), nullable=False),  # e.g. master.product.update
    sa.Column("subject_kind", sa.String(40), nullable=False),
    sa.Column("subject_key", sa.String(200), nullable=False),
    sa.Column("lots", sa.Text, nullable=False),  # JSON list of "gtin14/lot"
    sa.Column("before", sa.Text, nullable=True),  # JSON; NULL: absent
    sa.Column("after", sa.Text, nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("signature", sa.Text, nullable=True),  # JSON e-signature
    sa.Column("prev", sa.String(64), nullable=True),
    sa.Column("digest", sa.String(64), nullable=False, unique=True),
    # HMAC of the digest under a key derived from the site's signing key (not in the
    # database): the signer signs only rows its trail wrote (``AuditTrail``).
    sa.Column("tag", sa.String(64), nullable=True),
    sa.Index("ix_audit_entries_at", "at"),
    sa.Index("ix_audit_entries_actor", "actor_name", "seq"),
    sa.Index("ix_audit_entries_subject", "subject_key", "seq"),
)

audit_signed = sa.Table(
    "audit_signed",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("signed_at", sa.DateTime, nullable=False),
)
