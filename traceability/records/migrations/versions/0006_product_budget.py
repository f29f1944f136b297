"""Products' stability budgets: allowed time outside the band per temperature step (issue #16).

Revision ID: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Text, not a JSON column: the same ``side:limit_c:minutes;…`` a CSV cell holds, so
    # SQLite and PostgreSQL store (and an operator reads) one form.
    with op.batch_alter_table("products") as table:
        table.add_column(sa.Column("stability_budget", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("products") as table:
        table.drop_column("stability_budget")
