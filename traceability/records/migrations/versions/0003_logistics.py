"""Logistics for the carbon footprint and custody: location coordinates, country and
telemetry site; lot gross mass; shipment lots; leg transport details; lot stays with
their room share; packaging; the user's primary emission factors.

Revision ID: 0003
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_LEG_COLUMNS: tuple[tuple[str, Any], ...] = (
    ("mode", sa.String(20)),
    ("vehicle_class", sa.String(80)),
    ("factor_id", sa.String(128)),
    ("temperature_controlled", sa.Boolean),
    ("distance_km", sa.Float),
    ("payload_kg", sa.Float),
    ("detour_factor", sa.Float),
)
_LOCATION_COLUMNS: tuple[tuple[str, Any], ...] = (
    ("latitude", sa.Float),
    ("longitude", sa.Float),
    ("country", sa.String(2)),
    ("site", sa.String(64)),
)


def upgrade() -> None:
    with op.batch_alter_table("locations") as table:
        for name, kind in _LOCATION_COLUMNS:
            table.add_column(sa.Column(name, kind, nullable=True))
    with op.batch_alter_table("lots") as table:
        table.add_column(sa.Column("gross_kg", sa.Float, nullable=True))
    with op.batch_alter_table("legs") as table:
        for name, kind in _LEG_COLUMNS:
            table.add_column(sa.Column(name, kind, nullable=True))
    op.create_table(
        "shipment_lots",
        sa.Column("shipment_id", sa.String(64), sa.ForeignKey("shipments.id"), primary_key=True),
        sa.Column("gtin", sa.String(14), primary_key=True),
        sa.Column("lot", sa.String(20), primary_key=True),
        sa.Column("gross_kg", sa.Float, nullable=False),
        sa.Column("units", sa.Integer, nullable=False),
        sa.ForeignKeyConstraint(["gtin", "lot"], ["lots.gtin", "lots.lot"]),
    )
    op.create_table(
        "stays",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("gtin", sa.String(14), nullable=False),
        sa.Column("lot", sa.String(20), nullable=False),
        sa.Column("shipment_id", sa.String(64), sa.ForeignKey("shipments.id"), nullable=True),
        sa.Column("location", sa.String(200), sa.ForeignKey("locations.urn"), nullable=False),
        sa.Column("start", sa.DateTime, nullable=False),
        sa.Column("end", sa.DateTime, nullable=False),
        sa.Column("basis", sa.String(20), nullable=False),
        sa.Column("part", sa.Float, nullable=False),
        sa.Column("room", sa.Float, nullable=False),
        sa.Column("grid_factor_id", sa.String(128), nullable=True),
        sa.Column("refrigerant", sa.String(40), nullable=True),
        sa.Column("annual_leakage_kg", sa.Float, nullable=True),
        sa.ForeignKeyConstraint(["gtin", "lot"], ["lots.gtin", "lots.lot"]),
        sa.Index("ix_stays_lot", "gtin", "lot"),
    )
    op.create_table(
        "packaging",
        sa.Column("gtin", sa.String(14), primary_key=True),
        sa.Column("lot", sa.String(20), primary_key=True),
        sa.Column("material", sa.String(80), primary_key=True),
        sa.Column("mass_kg", sa.Float, nullable=False),
        sa.Column("factor_id", sa.String(128), nullable=True),
        sa.ForeignKeyConstraint(["gtin", "lot"], ["lots.gtin", "lots.lot"]),
    )
    op.create_table(
        "primary_factors",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("body", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for name in ("primary_factors", "packaging", "stays", "shipment_lots"):
        op.drop_table(name)
    with op.batch_alter_table("legs") as table:
        for name, _ in reversed(_LEG_COLUMNS):
            table.drop_column(name)
    with op.batch_alter_table("lots") as table:
        table.drop_column("gross_kg")
    with op.batch_alter_table("locations") as table:
        for name, _ in reversed(_LOCATION_COLUMNS):
            table.drop_column(name)
