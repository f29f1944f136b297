"""The records database schema (SQLAlchemy Core tables), portable SQLite ↔ PostgreSQL.

This is the schema at the newest migration (traceability/migrations); a change here needs
a new migration there, and tests/traceability/records/test_migrations.py checks they agree.

Times are naive UTC ``DateTime`` columns (SQLite has no timezone-aware type); hashes and
roots are lowercase hex text so the same SQL works on both databases.
"""

from __future__ import annotations

import sqlalchemy as sa

# The EPCIS repository's, the accounts' and the audit trail's tables live in their own
# modules (this one holds the rest).
from traceability.records.accounttables import account_sessions, login_events, users
from traceability.records.audittables import audit_entries, audit_signed
from traceability.records.metadata import metadata
from traceability.records.repositorytables import (
    capture_jobs,
    named_queries,
    subscription_outbox,
    subscriptions,
)

__all__ = [
    "account_sessions",
    "audit_entries",
    "audit_signed",
    "capture_jobs",
    "login_events",
    "metadata",
    "named_queries",
    "subscription_outbox",
    "subscriptions",
    "users",
]

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
    sa.Column("stability_budget", sa.Text, nullable=True),  # migration 0006
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
    sa.Column("biz_step", sa.Text, nullable=True),
    sa.Column("read_point", sa.Text, nullable=True),
    sa.Column("biz_location", sa.Text, nullable=True),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("captured_at", sa.DateTime, nullable=False),
    sa.Column("batch_id", sa.Integer, sa.ForeignKey("batches.id"), nullable=True, index=True),
    sa.Column("leaf_index", sa.Integer, nullable=True),
    sa.Column("leaf_hash", sa.String(64), nullable=True),
    sa.Column("action", sa.String(10), nullable=True),
    sa.Column("disposition", sa.Text, nullable=True),
    # Migration 0010: what capture noticed but did not refuse (a JSON list of warning
    # codes: unknown_parent, unknown_lot, unknown_location); the hub's note, not evidence.
    sa.Column("flags", sa.Text, nullable=True),
    sa.UniqueConstraint("batch_id", "leaf_index", name="uq_events_batch_leaf"),
    sa.Index("ix_events_location_time", "biz_location", "event_time"),
    sa.Index("ix_events_read_point_time", "read_point", "event_time"),
    # Migration 0010: the EPCIS query's orders and filters (web.epcisquery).
    sa.Index("ix_events_captured_at", "captured_at", "id"),
    sa.Index("ix_events_biz_step_time", "biz_step", "event_time"),
    sa.Index("ix_events_type_time", "type", "event_time"),
    sa.Index("ix_events_disposition_time", "disposition", "event_time"),
    # The default order (recordTime) under a location or bizStep filter: without them a
    # planner sorts every event of the place (20k of 1M in bench.eventquery) per page.
    sa.Index("ix_events_location_captured", "biz_location", "captured_at", "id"),
    sa.Index("ix_events_read_point_captured", "read_point", "captured_at", "id"),
    sa.Index("ix_events_biz_step_captured", "biz_step", "captured_at", "id"),
)

event_epcs = sa.Table(
    "event_epcs",
    metadata,
    sa.Column("event_id", sa.String(128), sa.ForeignKey("events.id"), primary_key=True),
    # Text (migration 0010): any URI the EPCIS schema allows; so are the events' columns
    # biz_step, read_point, biz_location and disposition.
    sa.Column("epc", sa.Text, primary_key=True),
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
    # Migration 0010: the location it is part of (a cold room's site), for the EPCIS
    # query's WD_readPoint / WD_bizLocation ("with descendants").
    sa.Column("parent", sa.Text, nullable=True),
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
# products.stability_budget: the steps as text, ``above:25:60;below:0:30`` (records.stability).

# Migration 0007 (issue #16): alarm evaluation state (traceability.records.alarmstate).
# Per (rule, place, device; "" = place-wide): the rule's state JSON and its watermark
# (newest reading processed). The alarms raised, with a reported flag per transition so
# a crash between commit and report re-reports (the sinks are idempotent by id).
alarm_series = sa.Table(
    "alarm_series",
    metadata,
    sa.Column("rule", sa.String(64), primary_key=True),
    sa.Column("location", sa.String(200), primary_key=True),
    sa.Column("device", sa.String(200), primary_key=True),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("watermark", sa.DateTime, nullable=True),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

alarms = sa.Table(
    "alarms",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("rule", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("location", sa.String(200), nullable=False),
    sa.Column("device", sa.String(200), nullable=True),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("raised_at", sa.DateTime, nullable=False),
    sa.Column("cleared_at", sa.DateTime, nullable=True),
    sa.Column("body", sa.Text, nullable=False),  # the alarm's JSON (traceability.alarms.model)
    sa.Column("raised_reported", sa.Boolean, nullable=False),
    sa.Column("cleared_reported", sa.Boolean, nullable=False),
)

# Migration 0008 (issue #16): incidents and their steps (traceability.records.incidents).
# Caches of the signed steps (ledger kind ``incident-step``): pages and verify read the
# ledger, these serve lists and the lifecycle's checks. ``incident_alarms`` maps every
# alarm that opened or joined an incident, so a re-delivered alarm finds it.
incidents = sa.Table(
    "incidents",
    metadata,
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
    sa.Column("lots", sa.Text, nullable=False),  # JSON list of "GTIN-14/lot"
    # the steps up to this seq are signed and told (a restart finishes the rest)
    sa.Column("done_seq", sa.Integer, nullable=False, server_default="0"),
    sa.Index("ix_incidents_rule_location_state", "rule", "location", "state"),
)
incident_alarms = sa.Table(
    "incident_alarms",
    metadata,
    sa.Column("alarm_id", sa.String(40), primary_key=True),
    sa.Column("incident_id", sa.String(32), sa.ForeignKey("incidents.id"), nullable=False),
)
incident_steps = sa.Table(
    "incident_steps",
    metadata,
    sa.Column("incident_id", sa.String(32), sa.ForeignKey("incidents.id"), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("step", sa.String(16), nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("body", sa.Text, nullable=False),  # the signed record's JSON
    sa.Column("record_id", sa.String(80), nullable=False, unique=True),
)

# Migration 0009 (issue #16): the notification outbox (traceability.records.outbox).
# One row per incident that notifications were scheduled for (what to re-send, and whether
# it was acknowledged or closed: no re-notification after that), and one row per message
# to one recipient over one channel. Ids are deterministic, so scheduling twice adds nothing.
notification_incidents = sa.Table(
    "notification_incidents",
    metadata,
    sa.Column("incident_id", sa.String(64), primary_key=True),
    sa.Column("site", sa.String(64), nullable=True),
    sa.Column("notice", sa.Text, nullable=False),  # the Notice's JSON
    sa.Column("opened_at", sa.DateTime, nullable=False),
    sa.Column("acknowledged_at", sa.DateTime, nullable=True),
    sa.Column("acknowledged_by", sa.String(200), nullable=True),
    sa.Column("closed_at", sa.DateTime, nullable=True),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column(
        "incident_id",
        sa.String(64),
        sa.ForeignKey("notification_incidents.incident_id"),
        nullable=False,
    ),
    sa.Column("purpose", sa.String(12), nullable=False),  # alert, acknowledged, closed
    sa.Column("step", sa.Integer, nullable=False),
    sa.Column("round", sa.Integer, nullable=False),  # 0, then 1, 2, … re-notifications
    sa.Column("last_step", sa.Boolean, nullable=False),  # sent: schedule the next round
    sa.Column("recipient", sa.String(100), nullable=False),
    sa.Column("channel", sa.String(10), nullable=False),  # webhook, email, sms
    sa.Column("address", sa.String(320), nullable=False),
    sa.Column("message", sa.Text, nullable=False),  # notify.message.Message JSON
    sa.Column("due_at", sa.DateTime, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", sa.DateTime, nullable=False),
    sa.Column("claimed_until", sa.DateTime, nullable=True),  # a sender's lease
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("sent_at", sa.DateTime, nullable=True),
    sa.Column("cancelled_at", sa.DateTime, nullable=True),  # acknowledged, closed, rate limit
    sa.Column("dead_at", sa.DateTime, nullable=True),  # permanent failure: last_error says why
    sa.Index("ix_outbox_incident", "incident_id"),
    sa.Index("ix_outbox_next_attempt", "next_attempt_at"),
    sa.Index("ix_outbox_recipient_sent", "recipient", "channel", "sent_at"),
)
