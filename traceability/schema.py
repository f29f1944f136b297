"""The records database schema (SQLAlchemy Core tables), portable SQLite ↔ PostgreSQL.

This is the schema at the newest migration (traceability/migrations); a change here needs
a new migration there, and tests/traceability/test_migrations.py checks they agree.

Times are naive UTC ``DateTime`` columns (SQLite has no timezone-aware type); hashes and
roots are lowercase hex text so the same SQL works on both databases.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

products = sa.Table(
    "products",
    metadata,
    sa.Column("gtin", sa.String(14), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("temp_min_c", sa.Float, nullable=True),
    sa.Column("temp_max_c", sa.Float, nullable=True),
    # Temperature profile (migration 0002): minutes out of range allowed before a lot is
    # compromised, the MKT limit, and shelf life for expiry/FEFO.
    sa.Column("excursion_budget_min", sa.Float, nullable=True),
    sa.Column("mkt_limit_c", sa.Float, nullable=True),
    sa.Column("shelf_life_days", sa.Integer, nullable=True),
)

lots = sa.Table(
    "lots",
    metadata,
    sa.Column("gtin", sa.String(14), sa.ForeignKey("products.gtin"), primary_key=True),
    sa.Column("lot", sa.String(20), primary_key=True),
    sa.Column("expiry", sa.Date, nullable=True),
    sa.Column("origin", sa.String(200), nullable=True),
    sa.Column("quantity", sa.Integer, nullable=True),
    sa.Column("production_date", sa.Date, nullable=True),
)

units = sa.Table(
    "units",
    metadata,
    sa.Column("gtin", sa.String(14), primary_key=True),
    sa.Column("serial", sa.String(20), primary_key=True),
    sa.Column("lot", sa.String(20), nullable=False),
    sa.ForeignKeyConstraint(["gtin", "lot"], ["lots.gtin", "lots.lot"]),
)

batches = sa.Table(
    "batches",
    metadata,
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

events = sa.Table(
    "events",
    metadata,
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
    sa.Column("action", sa.String(10), nullable=True),
    sa.Column("disposition", sa.String(200), nullable=True),
    sa.UniqueConstraint("batch_id", "leaf_index", name="uq_events_batch_leaf"),
    sa.Index("ix_events_location_time", "biz_location", "event_time"),
    sa.Index("ix_events_read_point_time", "read_point", "event_time"),
)

event_epcs = sa.Table(
    "event_epcs",
    metadata,
    sa.Column("event_id", sa.String(128), sa.ForeignKey("events.id"), primary_key=True),
    sa.Column("epc", sa.String(200), primary_key=True),
    sa.Column("gtin", sa.String(14), nullable=True),
    sa.Column("serial", sa.String(20), nullable=True),
    sa.Column("lot", sa.String(20), nullable=True),
    # How the event names the object: epc, parent, child, input, output, class (a
    # quantity element's EPC class). The skeleton stored plain "epc" rows only.
    sa.Column("role", sa.String(10), nullable=False, server_default="epc"),
    sa.Index("ix_event_epcs_lot", "gtin", "lot"),
    sa.Index("ix_event_epcs_epc", "epc"),
)

logistic_units = sa.Table(
    "logistic_units",
    metadata,
    sa.Column("sscc", sa.String(18), primary_key=True),
    sa.Column("kind", sa.String(40), nullable=False),  # pallet, container, case
    sa.Column("description", sa.String(200), nullable=True),
)

locations = sa.Table(
    "locations",
    metadata,
    sa.Column("urn", sa.String(200), primary_key=True),  # SGLN URN (GLN + extension)
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),  # site, cold_room, dock_door, reefer
    sa.Column("custodian", sa.String(200), nullable=True),  # party GLN or name
)

shipments = sa.Table(
    "shipments",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("sscc", sa.String(18), nullable=True),
    sa.Column("origin", sa.String(200), nullable=False),
    sa.Column("destination", sa.String(200), nullable=False),
    sa.Column("carrier", sa.String(200), nullable=True),
)

legs = sa.Table(
    "legs",
    metadata,
    sa.Column("shipment_id", sa.String(64), sa.ForeignKey("shipments.id"), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("from_location", sa.String(200), nullable=False),
    sa.Column("to_location", sa.String(200), nullable=False),
    sa.Column("vehicle", sa.String(200), nullable=True),  # the reefer's location URN
    sa.Column("departed_at", sa.DateTime, nullable=True),
    sa.Column("arrived_at", sa.DateTime, nullable=True),
)
