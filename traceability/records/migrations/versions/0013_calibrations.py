"""Probe calibration records (issue #20): one row per probe and certificate.

``probe_calibrations`` (a cache of the signed ``probe-calibration`` ledger records).

Revision ID: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "probe_calibrations",
        sa.Column("probe", sa.String(120), primary_key=True),
        sa.Column("certificate_number", sa.String(100), primary_key=True),
        sa.Column("calibrated_on", sa.Date, nullable=False),
        sa.Column("due_on", sa.Date, nullable=False),
        sa.Column("lab", sa.String(200), nullable=False),
        sa.Column("uncertainty_c", sa.Float, nullable=False),
        sa.Column("coverage_k", sa.Float, nullable=False),
        sa.Column("accuracy_found_c", sa.Float, nullable=True),
        sa.Column("certificate_sha256", sa.String(64), nullable=True),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_probe_calibrations_due", "probe_calibrations", ["due_on"])
    op.create_index(
        "ix_probe_calibrations_probe_date", "probe_calibrations", ["probe", "calibrated_on"]
    )


def downgrade() -> None:
    op.drop_index("ix_probe_calibrations_probe_date", "probe_calibrations")
    op.drop_index("ix_probe_calibrations_due", "probe_calibrations")
    op.drop_table("probe_calibrations")
