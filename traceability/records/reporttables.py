"""The released temperature reports' table (migration 0014, issue #20), on the records
``metadata`` whenever ``traceability.records.releasedreports`` is imported.

``released_reports`` keeps each released PDF as it was signed, byte for byte: the
ledger's ``temperature-report`` record holds its SHA-256, so a copy handed to an
inspector is checked against the anchored hash, and an edit of a kept file is caught
the same way. Rows are never updated except to note the ledger entry once it is signed.
"""

from __future__ import annotations

import sqlalchemy as sa

from traceability.records.metadata import metadata

__all__ = ["metadata", "released_reports"]

released_reports = sa.Table(
    "released_reports",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("gtin", sa.String(14), nullable=False),
    sa.Column("lot", sa.String(20), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("released_at", sa.DateTime, nullable=False),
    sa.Column("released_by", sa.String(200), nullable=False),
    sa.Column("role", sa.String(40), nullable=False),
    sa.Column("meaning", sa.String(500), nullable=False),
    sa.Column("entry", sa.String(200), nullable=True),  # the ledger record id; None: unsigned
    sa.Column("pdf", sa.LargeBinary, nullable=False),
    sa.Index("ix_released_reports_lot", "gtin", "lot", "released_at"),
)
