"""The EPCIS repository: capture jobs, named queries, subscriptions and their outbox,
capture's warning flags per event, the query's indexes (issue #15).

Capture takes any URI the EPCIS schema allows (up to 8,192 characters) for bizStep,
disposition, readPoint, bizLocation and the EPCs, so their columns become ``Text`` on
PostgreSQL (varchar to text is binary-coercible there: no rewrite, the indexes stay).
SQLite enforces no length, so its tables are left as they are (no copy of ``events``).

Revision ID: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


# The columns a captured URI lands in (String(200) before this migration).
_WIDENED = (
    ("events", "biz_step"),
    ("events", "read_point"),
    ("events", "biz_location"),
    ("events", "disposition"),
    ("event_epcs", "epc"),
)


def _widen(to: sa.types.TypeEngine[str]) -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for table, column in _WIDENED:
        op.alter_column(table, column, type_=to, existing_nullable=column != "epc")


def upgrade() -> None:
    _widen(sa.Text())
    with op.batch_alter_table("events") as table:
        table.add_column(sa.Column("flags", sa.Text, nullable=True))
    with op.batch_alter_table("locations") as table:
        table.add_column(sa.Column("parent", sa.Text, nullable=True))
    op.create_index("ix_events_captured_at", "events", ["captured_at", "id"])
    op.create_index("ix_events_biz_step_time", "events", ["biz_step", "event_time"])
    op.create_index("ix_events_type_time", "events", ["type", "event_time"])
    op.create_index("ix_events_disposition_time", "events", ["disposition", "event_time"])
    op.create_index("ix_events_location_captured", "events", ["biz_location", "captured_at", "id"])
    op.create_index("ix_events_read_point_captured", "events", ["read_point", "captured_at", "id"])
    op.create_index("ix_events_biz_step_captured", "events", ["biz_step", "captured_at", "id"])
    op.create_table(
        "capture_jobs",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("behaviour", sa.String(10), nullable=False),
        sa.Column("source", sa.String(200), nullable=True),
        sa.Column("media_type", sa.String(60), nullable=False),
        sa.Column("document", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime, nullable=True),
        sa.Column("claimed_until", sa.DateTime, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("event_count", sa.Integer, nullable=True),
        sa.Column("captured", sa.Integer, nullable=True),
        sa.Column("created", sa.Integer, nullable=True),
        sa.Column("errors", sa.Text, nullable=True),
        sa.Column("warnings", sa.Text, nullable=True),
    )
    op.create_index("ix_capture_jobs_state", "capture_jobs", ["state", "created_at"])
    op.create_table(
        "named_queries",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("query", sa.Text, nullable=False),
        sa.Column("owner", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column(
            "query_name", sa.String(200), sa.ForeignKey("named_queries.name"), nullable=False
        ),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("dest", sa.Text, nullable=True),
        sa.Column("signature_token", sa.Text, nullable=True),
        sa.Column("report_if_empty", sa.Boolean, nullable=False),
        sa.Column("stream", sa.Boolean, nullable=False),
        sa.Column("schedule", sa.Text, nullable=True),
        sa.Column("initial_record_time", sa.DateTime, nullable=True),
        sa.Column("owner", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("cancelled_at", sa.DateTime, nullable=True),
        sa.Column("retry_at", sa.DateTime, nullable=True),
        sa.Column("failures", sa.Integer, nullable=True),
        sa.Column("seen_at", sa.DateTime, nullable=True),
    )
    op.create_index("ix_subscriptions_query", "subscriptions", ["query_name"])
    op.create_table(
        "subscription_outbox",
        sa.Column(
            "subscription_id",
            sa.String(40),
            sa.ForeignKey("subscriptions.id"),
            primary_key=True,
        ),
        sa.Column("event_id", sa.String(128), primary_key=True),
        sa.Column("enqueued_at", sa.DateTime, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime, nullable=False),
        sa.Column("claimed_until", sa.DateTime, nullable=True),
        sa.Column("delivered_at", sa.DateTime, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
    )
    op.create_index(
        "ix_subscription_outbox_due",
        "subscription_outbox",
        ["subscription_id", "delivered_at", "next_attempt_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_subscription_outbox_due", "subscription_outbox")
    op.drop_table("subscription_outbox")
    op.drop_index("ix_subscriptions_query", "subscriptions")
    op.drop_table("subscriptions")
    op.drop_table("named_queries")
    op.drop_index("ix_capture_jobs_state", "capture_jobs")
    op.drop_table("capture_jobs")
    for name in (
        "ix_events_biz_step_captured",
        "ix_events_read_point_captured",
        "ix_events_location_captured",
        "ix_events_disposition_time",
        "ix_events_type_time",
        "ix_events_biz_step_time",
        "ix_events_captured_at",
    ):
        op.drop_index(name, "events")
    with op.batch_alter_table("events") as table:
        table.drop_column("flags")
    with op.batch_alter_table("locations") as table:
        table.drop_column("parent")
    _widen(sa.String(200))
