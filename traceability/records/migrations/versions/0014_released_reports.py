"""Released temperature reports (issue #20): each signed PDF, kept as released.

``released_reports`` (the file and who released it; its hash is in the ledger's
``temperature-report`` record).

Revision ID: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "released_reports",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("gtin", sa.String(14), nullable=False),
        sa.Column("lot", sa.String(20), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("released_at", sa.DateTime, nullable=False),
        sa.Column("released_by", sa.String(200), nullable=False),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("meaning", sa.String(500), nullable=False),
        sa.Column("entry", sa.String(200), nullable=True),
        sa.Column("pdf", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_released_reports_lot", "released_reports", ["gtin", "lot", "released_at"])


def downgrade() -> None:
    op.drop_index("ix_released_reports_lot", table_name="released_reports")
    op.drop_table("released_reports")
