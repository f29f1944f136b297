"""The walking skeleton's schema: products, lots, units, batches, events, event_epcs.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "products",
        sa.Column("gtin", sa.String(14), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("temp_min_c", sa.Float, nullable=True),
        sa.Column("temp_max_c", sa.Float, nullable=True),
    )
    op.create_table(
        "lots",
        sa.Column("gtin", sa.String(14), sa.ForeignKey("products.gtin"), primary_key=True),
        sa.Column("lot", sa.String(20), primary_key=True),
        sa.Column("expiry", sa.Date, nullable=True),
        sa.Column("origin", sa.String(200), nullable=True),
        sa.Column("quantity", sa.Integer, nullable=True),
    )
    op.create_table(
        "units",
        sa.Column("gtin", sa.String(14), primary_key=True),
        sa.Column("serial", sa.String(20), primary_key=True),
        sa.Column("lot", sa.String(20), nullable=False),
        sa.ForeignKeyConstraint(["gtin", "lot"], ["lots.gtin", "lots.lot"]),
    )
    op.create_table(
        "batches",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("root", sa.String(64), nullable=False, unique=True),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("metadata", sa.Text, nullable=False),
        sa.Column("chain_id", sa.BigInteger, nullable=False),
        sa.Column("contract", sa.String(42), nullable=False),
        sa.Column("tx_hash", sa.String(66), nullable=False),
        sa.Column("block_number", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("event_time", sa.DateTime, nullable=False, index=True),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("biz_step", sa.String(200), nullable=True),
        sa.Column("read_point", sa.String(200), nullable=True),
        sa.Column("biz_location", sa.String(200), nullable=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("captured_at", sa.DateTime, nullable=False),
        sa.Column("batch_id", sa.Integer, sa.ForeignKey("batches.id"), nullable=True, index=True),
        sa.Column("leaf_index", sa.Integer, nullable=True),
        sa.Column("leaf_hash", sa.String(64), nullable=True),
        sa.UniqueConstraint("batch_id", "leaf_index", name="uq_events_batch_leaf"),
    )
    op.create_table(
        "event_epcs",
        sa.Column("event_id", sa.String(128), sa.ForeignKey("events.id"), primary_key=True),
        sa.Column("epc", sa.String(200), primary_key=True),
        sa.Column("gtin", sa.String(14), nullable=True),
        sa.Column("serial", sa.String(20), nullable=True),
        sa.Column("lot", sa.String(20), nullable=True),
        sa.Index("ix_event_epcs_lot", "gtin", "lot"),
    )


def downgrade() -> None:
    for table in ("event_epcs", "events", "batches", "units", "lots", "products"):
        op.drop_table(table)
