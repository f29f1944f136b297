"""Alarm evaluation state: per rule, place and probe, what the hub has seen and raised (issue #16).

Revision ID: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alarm_series",
        sa.Column("rule", sa.String(64), primary_key=True),
        sa.Column("location", sa.String(200), primary_key=True),
        sa.Column("device", sa.String(200), primary_key=True),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("watermark", sa.DateTime, nullable=True),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "alarms",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("location", sa.String(200), nullable=False),
        sa.Column("device", sa.String(200), nullable=True),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("raised_at", sa.DateTime, nullable=False),
        sa.Column("cleared_at", sa.DateTime, nullable=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("raised_reported", sa.Boolean, nullable=False),
        sa.Column("cleared_reported", sa.Boolean, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("alarms")
    op.drop_table("alarm_series")
