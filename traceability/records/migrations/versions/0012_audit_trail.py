"""The audit trail (issue #17): who changed what, when, before and after, and why.

``audit_entries`` (append-only, hash-chained: ``prev`` and ``digest``) and
``audit_signed`` (which entries the ledger took).

Revision ID: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_entries",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("actor_name", sa.String(200), nullable=False),
        sa.Column("actor_kind", sa.String(10), nullable=False),
        sa.Column("actor_role", sa.String(40), nullable=True),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subject_kind", sa.String(40), nullable=False),
        sa.Column("subject_key", sa.String(200), nullable=False),
        sa.Column("lots", sa.Text, nullable=False),
        sa.Column("before", sa.Text, nullable=True),
        sa.Column("after", sa.Text, nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("signature", sa.Text, nullable=True),
        sa.Column("prev", sa.String(64), nullable=True),
        sa.Column("digest", sa.String(64), nullable=False, unique=True),
        sa.Column("tag", sa.String(64), nullable=True),
    )
    op.create_index("ix_audit_entries_at", "audit_entries", ["at"])
    op.create_index("ix_audit_entries_actor", "audit_entries", ["actor_name", "seq"])
    op.create_index("ix_audit_entries_subject", "audit_entries", ["subject_key", "seq"])
    op.create_table(
        "audit_signed",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("signed_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("audit_signed")
    for name in ("ix_audit_entries_subject", "ix_audit_entries_actor", "ix_audit_entries_at"):
        op.drop_index(name, "audit_entries")
    op.drop_table("audit_entries")
