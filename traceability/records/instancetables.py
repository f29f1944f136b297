"""The tables of running hub processes (migration 0015, issue #18), on the records
``metadata`` whenever ``traceability.records.instances`` is imported.

``hub_instances``: one row per running ``tracehub run`` process, its roles, version and
health, refreshed by its heartbeat; ``tracehub status`` lists them from here, so every
replica is seen from any machine that reaches the records database.

``hub_leases``: one row per singleton duty (the alarm rules' evaluation), held by one
instance until its lease runs out; replicas of the same role wait behind it and take
over when the holder stops renewing (killed, frozen, cut off).
"""

from __future__ import annotations

import sqlalchemy as sa

from traceability.records.metadata import metadata

__all__ = ["hub_instances", "hub_leases", "metadata"]

hub_instances = sa.Table(
    "hub_instances",
    metadata,
    sa.Column("id", sa.String(120), primary_key=True),
    sa.Column("roles", sa.String(200), nullable=False),  # comma-separated, sorted
    sa.Column("version", sa.String(40), nullable=False),
    sa.Column("host", sa.String(200), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("beat_at", sa.DateTime, nullable=False),
    sa.Column("healthy", sa.Boolean, nullable=False),
    sa.Column("detail", sa.Text, nullable=False),  # JSON: components not healthy, URLs
)

hub_leases = sa.Table(
    "hub_leases",
    metadata,
    sa.Column("name", sa.String(80), primary_key=True),
    sa.Column("holder", sa.String(120), nullable=False),
    sa.Column("until", sa.DateTime, nullable=False),
)
