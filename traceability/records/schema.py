"""The records database schema (SQLAlchemy Core tables), portable SQLite ↔ PostgreSQL.

This is the schema at the newest migration (traceability/migrations); a change here needs
a new migration there, and tests/traceability/records/test_migrations.py checks they agree.

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
    sa.Column("gross_kg", sa.Float, nullable=True),  # migration 0003, for carbon allocation
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
    # Migration 0003: where it is (great-circle leg distances), its country (grid
    # intensity) and the telemetry site id of its cold-room power series.
    sa.Column("latitude", sa.Float, nullable=True),
    sa.Column("longitude", sa.Float, nullable=True),
    sa.Column("country", sa.String(2), nullable=True),
    sa.Column("site", sa.String(64), nullable=True),
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
    # Migration 0003: what the carbon calculation needs per leg (ISO 14083 / GLEC).
    sa.Column("mode", sa.String(20), nullable=True),
    sa.Column("vehicle_class", sa.String(80), nullable=True),
    sa.Column("factor_id", sa.String(128), nullable=True),
    sa.Column("temperature_controlled", sa.Boolean, nullable=True),
    sa.Column("distance_km", sa.Float, nullable=True),
    sa.Column("payload_kg", sa.Float, nullable=True),
    sa.Column("detour_factor", sa.Float, nullable=True),
)

shipment_lots = sa.Table(
    "shipment_lots",
    metadata,
    sa.Column("shipment_id", sa.String(64), sa.ForeignKey("shipments.id"), primary_key=True),
    sa.Column("gtin", sa.String(14), primary_key=True),
    sa.Column("lot", sa.String(20), primary_key=True),
    sa.Column("gross_kg", sa.Float, nullable=False),
    sa.Column("units", sa.Integer, nullable=False),
    sa.ForeignKeyConstraint(["gtin", "lot"], ["lots.gtin", "lots.lot"]),
)

stays = sa.Table(
    "stays",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("gtin", sa.String(14), nullable=False),
    sa.Column("lot", sa.String(20), nullable=False),
    sa.Column("shipment_id", sa.String(64), sa.ForeignKey("shipments.id"), nullable=True),
    sa.Column("location", sa.String(200), sa.ForeignKey("locations.urn"), nullable=False),
    sa.Column("start", sa.DateTime, nullable=False),
    sa.Column("end", sa.DateTime, nullable=False),
    sa.Column("basis", sa.String(20), nullable=False),  # pallet_positions | mass
    sa.Column("part", sa.Float, nullable=False),
    sa.Column("room", sa.Float, nullable=False),
    sa.Column("grid_factor_id", sa.String(128), nullable=True),
    sa.Column("refrigerant", sa.String(40), nullable=True),
    sa.Column("annual_leakage_kg", sa.Float, nullable=True),
    sa.ForeignKeyConstraint(["gtin", "lot"], ["lots.gtin", "lots.lot"]),
    sa.Index("ix_stays_lot", "gtin", "lot"),
)

packaging = sa.Table(
    "packaging",
    metadata,
    sa.Column("gtin", sa.String(14), primary_key=True),
    sa.Column("lot", sa.String(20), primary_key=True),
    sa.Column("material", sa.String(80), primary_key=True),
    sa.Column("mass_kg", sa.Float, nullable=False),  # per unit
    sa.Column("factor_id", sa.String(128), nullable=True),
    sa.ForeignKeyConstraint(["gtin", "lot"], ["lots.gtin", "lots.lot"]),
)

primary_factors = sa.Table(
    "primary_factors",
    metadata,
    sa.Column("id", sa.String(128), primary_key=True),
    sa.Column("body", sa.Text, nullable=False),  # the factor's JSON (carbon.factors)
)

# Migration 0004 (issue #7): what a shipment does at a hub without telemetry
# (cross-dock, cold storage, transshipment), by the GLEC hub intensity per tonne.
hub_activities = sa.Table(
    "hub_activities",
    metadata,
    sa.Column("shipment_id", sa.String(64), sa.ForeignKey("shipments.id"), primary_key=True),
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("location", sa.String(200), sa.ForeignKey("locations.urn"), nullable=False),
    sa.Column("activity", sa.String(20), nullable=False),  # cross_dock, cold_storage, …
    sa.Column("throughput_kg", sa.Float, nullable=False),
    sa.Column("hub_type", sa.String(80), nullable=True),
    sa.Column("factor_id", sa.String(128), nullable=True),
    sa.Column("start", sa.DateTime, nullable=True),
    sa.Column("end", sa.DateTime, nullable=True),
)

# Migration 0005 (issue #14): API clients and their tokens (traceability.records.clients).
# The secret is kept as its SHA-256 only; revoked clients stay, so a name is never reused.
clients = sa.Table(
    "clients",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("token_id", sa.String(16), nullable=False, unique=True),
    sa.Column("secret_sha256", sa.String(64), nullable=False),
    sa.Column("scopes", sa.String(100), nullable=False),  # comma-separated
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("revoked_at", sa.DateTime, nullable=True),
)

# Migration 0006 (issue #16): products' stability budgets (columns on ``products``).

# Migration 0007 (issue #16): alarm evaluation state (traceability.records.alarmstate).

# Migration 0008 (issue #16): incidents and their steps (traceability.records.incidents).

# Migration 0009 (issue #16): the notification outbox (traceability.records.outbox).
