"""The probe calibration records' table (migration 0013, issue #20), part of the records
schema (imported by ``traceability.records.calibrations``, so it is on the one
``metadata`` whenever the store is).

``probe_calibrations`` holds one row per probe and certificate number, never updated or
deleted through tracehub: a probe's history is its rows. The rows are a cache of the
records the site signed (``traceability.masterdata.calibration``, ledger kind
``probe-calibration``): ``tracehub calibration verify`` names any row that differs.
"""

from __future__ import annotations

import sqlalchemy as sa

from traceability.records.metadata import metadata

__all__ = ["metadata", "probe_calibrations"]

probe_calibrations = sa.Table(
    "probe_calibrations",
    metadata,
    sa.Column("probe", sa.String(120), primary_key=True),  # the device id of the readings
    sa.Column("certificate_number", sa.String(100), primary_key=True),
    sa.Column("calibrated_on", sa.Date, nullable=False),
    sa.Column("due_on", sa.Date, nullable=False),
    sa.Column("lab", sa.String(200), nullable=False),
    sa.Column("uncertainty_c", sa.Float, nullable=False),  # expanded, at coverage_k
    sa.Column("coverage_k", sa.Float, nullable=False),
    sa.Column("accuracy_found_c", sa.Float, nullable=True),
    sa.Column("certificate_sha256", sa.String(64), nullable=True),
    sa.Column("recorded_at", sa.DateTime, nullable=False),
    sa.Index("ix_probe_calibrations_due", "due_on"),
    sa.Index("ix_probe_calibrations_probe_date", "probe", "calibrated_on"),
)
