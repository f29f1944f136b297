"""The notification outbox: what is to be sent to whom and when, and what was (issue #16).

Revision ID: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notification_incidents",
        sa.Column("incident_id", sa.String(64), primary_key=True),
        sa.Column("site", sa.String(64), nullable=True),
        sa.Column("notice", sa.Text, nullable=False),
        sa.Column("opened_at", sa.DateTime, nullable=False),
        sa.Column("acknowledged_at", sa.DateTime, nullable=True),
        sa.Column("acknowledged_by", sa.String(200), nullable=True),
        sa.Column("closed_at", sa.DateTime, nullable=True),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column(
            "incident_id",
            sa.String(64),
            sa.ForeignKey("notification_incidents.incident_id"),
            nullable=False,
        ),
        sa.Column("purpose", sa.String(12), nullable=False),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("round", sa.Integer, nullable=False),
        sa.Column("last_step", sa.Boolean, nullable=False),
        sa.Column("recipient", sa.String(100), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("due_at", sa.DateTime, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime, nullable=False),
        sa.Column("claimed_until", sa.DateTime, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("sent_at", sa.DateTime, nullable=True),
        sa.Column("cancelled_at", sa.DateTime, nullable=True),
        sa.Column("dead_at", sa.DateTime, nullable=True),
    )
    op.create_index("ix_outbox_incident", "outbox", ["incident_id"])
    op.create_index("ix_outbox_next_attempt", "outbox", ["next_attempt_at"])
    op.create_index("ix_outbox_recipient_sent", "outbox", ["recipient", "channel", "sent_at"])


def downgrade() -> None:
    op.drop_index("ix_outbox_recipient_sent", "outbox")
    op.drop_index("ix_outbox_next_attempt", "outbox")
    op.drop_index("ix_outbox_incident", "outbox")
    op.drop_table("outbox")
    op.drop_table("notification_incidents")
