"""The ledger's SQL tables (SQLAlchemy Core), portable SQLite ↔ PostgreSQL.

Prefixed ``ledger_`` so they can share a database with the records without
clashing. Hashes are lowercase hex text and times naive UTC, as in the records.

* ``ledger_entries`` — every submitted leaf (its canonical entry JSON), and once
  batched, its batch and leaf index; the leaves of a batch in index order are
  all a proof needs, so proofs are derived from here, never stored twice.
* ``ledger_links``   — the hash chains: (stream, seq) → entry, one row per link.
* ``ledger_records`` — the canonical JSON of records kept by the ledger itself
  (``submit(..., keep_record=True)``): those with no other home, such as lot
  exposure summaries, carbon reports and telemetry completeness digests, so an
  evidence bundle can carry them. EPCIS events stay in the records database.
* ``ledger_batches`` — Merkle batches and their anchoring state machine
  (cut → sent → included → confirmed, or orphaned when the chain was reset),
  with the signed transaction kept so a restarted or replacement worker can
  re-broadcast it with the same nonce, and the chain's genesis hash, so a reset
  chain is told apart from this one.
* ``ledger_keys``    — public signing keys with their validity periods.
* ``ledger_leases``  — the anchoring lease with its fencing token.
* ``ledger_set_aside`` — entries that cannot be anchored or mirrored on their own (a
  leaf whose data does not parse: written around ``submit``), with the reason: kept
  out of batches so the rest goes on (``ledger.store.setaside``). Added after the first
  release: ``create_all`` adds the table to older databases at open.
"""

from __future__ import annotations

import sqlalchemy as sa

from ledger.entry import MAX_KIND_LENGTH, MAX_RECORD_ID_LENGTH, MAX_STREAM_LENGTH

metadata = sa.MetaData()

entries = sa.Table(
    "ledger_entries",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("kind", sa.String(MAX_KIND_LENGTH), nullable=False),
    sa.Column("record_id", sa.String(MAX_RECORD_ID_LENGTH), nullable=False),
    sa.Column("record_digest", sa.String(64), nullable=False),
    sa.Column("leaf_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("leaf_data", sa.Text, nullable=False),
    sa.Column("submitted_at", sa.DateTime, nullable=False),
    sa.Column("batch_id", sa.Integer, sa.ForeignKey("ledger_batches.id"), nullable=True),
    sa.Column("leaf_index", sa.Integer, nullable=True),
    sa.UniqueConstraint("kind", "record_id", name="uq_ledger_entries_record"),
    sa.UniqueConstraint("batch_id", "leaf_index", name="uq_ledger_entries_leaf"),
    sa.Index("ix_ledger_entries_batch", "batch_id", "leaf_index"),
)

links = sa.Table(
    "ledger_links",
    metadata,
    sa.Column("stream", sa.String(MAX_STREAM_LENGTH), primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True),
    sa.Column("entry_id", sa.BigInteger, sa.ForeignKey("ledger_entries.id"), nullable=False),
    sa.Column("leaf_hash", sa.String(64), nullable=False),
)

kept_records = sa.Table(
    "ledger_records",
    metadata,
    sa.Column(
        "entry_id",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        sa.ForeignKey("ledger_entries.id"),
        primary_key=True,
    ),
    sa.Column("canonical", sa.Text, nullable=False),
)

batches = sa.Table(
    "ledger_batches",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("root", sa.String(64), nullable=False, unique=True),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("metadata", sa.String(64), nullable=False),
    sa.Column("metadata_doc", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("oldest_submitted_at", sa.DateTime, nullable=False),
    sa.Column("chain_id", sa.BigInteger, nullable=True),
    sa.Column("contract", sa.String(42), nullable=True),
    sa.Column("sender", sa.String(42), nullable=True),
    sa.Column("tx_hash", sa.String(66), nullable=True),
    sa.Column("nonce", sa.BigInteger, nullable=True),
    sa.Column("raw_tx", sa.Text, nullable=True),
    sa.Column("gas_limit", sa.BigInteger, nullable=True),
    sa.Column("max_fee_per_gas", sa.BigInteger, nullable=True),
    sa.Column("max_priority_fee_per_gas", sa.BigInteger, nullable=True),
    sa.Column("sent_at", sa.DateTime, nullable=True),
    sa.Column("block_number", sa.BigInteger, nullable=True),
    sa.Column("block_hash", sa.String(66), nullable=True),
    sa.Column("block_time", sa.DateTime, nullable=True),
    sa.Column("confirmed_at", sa.DateTime, nullable=True),
    sa.Column("recovered", sa.Boolean, nullable=False, default=False),
    # Added after the first release: ``ledger.store.upgrade`` adds it to older databases.
    sa.Column("genesis_hash", sa.String(66), nullable=True),
)

keys = sa.Table(
    "ledger_keys",
    metadata,
    sa.Column("key_id", sa.String(48), primary_key=True),
    sa.Column("public_key", sa.String(64), nullable=False),
    sa.Column("owner", sa.String(200), nullable=False),
    sa.Column("valid_from", sa.DateTime, nullable=False),
    sa.Column("valid_until", sa.DateTime, nullable=True),
)

set_aside = sa.Table(
    "ledger_set_aside",
    metadata,
    sa.Column(
        "entry_id",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        sa.ForeignKey("ledger_entries.id"),
        primary_key=True,
    ),
    sa.Column("kind", sa.String(MAX_KIND_LENGTH), nullable=False),
    sa.Column("record_id", sa.String(MAX_RECORD_ID_LENGTH), nullable=False),
    sa.Column("stage", sa.String(16), nullable=False),  # "batch" or "mirror"
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("set_aside_at", sa.DateTime, nullable=False, index=True),
)

leases = sa.Table(
    "ledger_leases",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("holder", sa.String(200), nullable=False),
    sa.Column("token", sa.BigInteger, nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False),
)
