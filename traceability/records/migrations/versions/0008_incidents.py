"""Incidents opened by alarms and their lifecycle steps (issue #16).

Revision ID: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("rule", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("site", sa.String(100), nullable=True),
        sa.Column("location", sa.String(200), nullable=False),
        sa.Column("place_name", sa.String(200), nullable=True),
        sa.Column("device", sa.String(200), nullable=True),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("raised_at", sa.DateTime, nullable=False),
        sa.Column("cleared_at", sa.DateTime, nullable=True),
        sa.Column("peak_c", sa.Float, nullable=True),
        sa.Column("threshold_c", sa.Float, nullable=True),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("lots", sa.Text, nullable=False),
        sa.Column("done_seq", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_index("ix_incidents_rule_location_state", "incidents", ["rule", "location", "state"])
    op.create_table(
        "incident_alarms",
        sa.Column("alarm_id", sa.String(40), primary_key=True),
        sa.Column("incident_id", sa.String(32), sa.ForeignKey("incidents.id"), nullable=False),
    )
    op.create_table(
        "incident_steps",
        sa.Column("incident_id", sa.String(32), sa.ForeignKey("incidents.id"), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("step", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("record_id", sa.String(80), nullable=False, unique=True),
    )


def downgrade() -> None:
    op.drop_table("incident_steps")
    op.drop_table("incident_alarms")
    op.drop_index("ix_incidents_rule_location_state", table_name="incidents")
    op.drop_table("incidents")
