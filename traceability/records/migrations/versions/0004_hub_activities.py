"""Hub activities of shipments (cross-dock, cold storage without telemetry) for the
carbon footprint (issue #7).

Revision ID: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hub_activities",
        sa.Column("shipment_id", sa.String(64), sa.ForeignKey("shipments.id"), primary_key=True),
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("location", sa.String(200), sa.ForeignKey("locations.urn"), nullable=False),
        sa.Column("activity", sa.String(20), nullable=False),
        sa.Column("throughput_kg", sa.Float, nullable=False),
        sa.Column("hub_type", sa.String(80), nullable=True),
        sa.Column("factor_id", sa.String(128), nullable=True),
        sa.Column("start", sa.DateTime, nullable=True),
        sa.Column("end", sa.DateTime, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("hub_activities")
