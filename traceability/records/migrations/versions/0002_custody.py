"""Custody and cold chain: temperature profiles, production dates, event roles and
indexes for recall, logistic units, locations, shipments and legs.

Revision ID: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("products") as table:
        table.add_column(sa.Column("excursion_budget_min", sa.Float, nullable=True))
        table.add_column(sa.Column("mkt_limit_c", sa.Float, nullable=True))
        table.add_column(sa.Column("shelf_life_days", sa.Integer, nullable=True))
    with op.batch_alter_table("lots") as table:
        table.add_column(sa.Column("production_date", sa.Date, nullable=True))
    with op.batch_alter_table("events") as table:
        table.add_column(sa.Column("action", sa.String(10), nullable=True))
        table.add_column(sa.Column("disposition", sa.String(200), nullable=True))
    op.create_index("ix_events_location_time", "events", ["biz_location", "event_time"])
    op.create_index("ix_events_read_point_time", "events", ["read_point", "event_time"])
    with op.batch_alter_table("event_epcs") as table:
        table.add_column(sa.Column("role", sa.String(10), nullable=False, server_default="epc"))
    op.create_index("ix_event_epcs_epc", "event_epcs", ["epc"])
    op.create_table(
        "logistic_units",
        sa.Column("sscc", sa.String(18), primary_key=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("description", sa.String(200), nullable=True),
    )
    op.create_table(
        "locations",
        sa.Column("urn", sa.String(200), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("custodian", sa.String(200), nullable=True),
    )
    op.create_table(
        "shipments",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("sscc", sa.String(18), nullable=True),
        sa.Column("origin", sa.String(200), nullable=False),
        sa.Column("destination", sa.String(200), nullable=False),
        sa.Column("carrier", sa.String(200), nullable=True),
    )
    op.create_table(
        "legs",
        sa.Column("shipment_id", sa.String(64), sa.ForeignKey("shipments.id"), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("from_location", sa.String(200), nullable=False),
        sa.Column("to_location", sa.String(200), nullable=False),
        sa.Column("vehicle", sa.String(200), nullable=True),
        sa.Column("departed_at", sa.DateTime, nullable=True),
        sa.Column("arrived_at", sa.DateTime, nullable=True),
    )


def downgrade() -> None:
    for name in ("legs", "shipments", "locations", "logistic_units"):
        op.drop_table(name)
    op.drop_index("ix_event_epcs_epc", "event_epcs")
    with op.batch_alter_table("event_epcs") as table:
        table.drop_column("role")
    op.drop_index("ix_events_read_point_time", "events")
    op.drop_index("ix_events_location_time", "events")
    with op.batch_alter_table("events") as table:
        table.drop_column("disposition")
        table.drop_column("action")
    with op.batch_alter_table("lots") as table:
        table.drop_column("production_date")
    with op.batch_alter_table("products") as table:
        for column in ("shelf_life_days", "mkt_limit_c", "excursion_budget_min"):
            table.drop_column(column)
