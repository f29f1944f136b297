"""The EPCIS repository's tables (migration 0010, issue #15), part of the records schema
(``traceability.records.schema`` re-exports them: import them from there).
"""

from __future__ import annotations

import sqlalchemy as sa

from traceability.records.metadata import metadata

# Migration 0010 (issue #15): the EPCIS repository. Capture jobs of the REST binding
# (``POST /capture`` answers with one; the document is kept until it is processed, so a
# restart resumes it), named queries, their subscriptions and the subscription outbox
# (one row per event matched for a subscription, written in the capture transaction:
# at-least-once delivery, once per event id per subscription).
capture_jobs = sa.Table(
    "capture_jobs",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("state", sa.String(10), nullable=False),  # running, success, failure
    sa.Column("behaviour", sa.String(10), nullable=False),  # rollback, proceed
    sa.Column("source", sa.String(200), nullable=True),  # the authenticated client
    sa.Column("media_type", sa.String(60), nullable=False),  # JSON-LD or XML
    sa.Column("document", sa.Text, nullable=True),  # until processed, then cleared
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime, nullable=True),
    sa.Column("claimed_until", sa.DateTime, nullable=True),  # a worker's lease
    # Claims so far (migration 0010): a job claimed too often without finishing (its
    # capture killed the process, or the records refused it) is failed, not retried.
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("event_count", sa.Integer, nullable=True),
    sa.Column("captured", sa.Integer, nullable=True),
    sa.Column("created", sa.Integer, nullable=True),
    sa.Column("errors", sa.Text, nullable=True),  # JSON list of {index, field, reason}
    sa.Column("warnings", sa.Text, nullable=True),  # JSON list of {index, field, code, reason}
    sa.Index("ix_capture_jobs_state", "state", "created_at"),
)

named_queries = sa.Table(
    "named_queries",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("query", sa.Text, nullable=False),  # the query-schema.json "query" object
    sa.Column("owner", sa.String(200), nullable=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

subscriptions = sa.Table(
    "subscriptions",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("query_name", sa.String(200), sa.ForeignKey("named_queries.name"), nullable=False),
    sa.Column("kind", sa.String(10), nullable=False),  # webhook, websocket
    sa.Column("dest", sa.Text, nullable=True),  # the webhook URL
    sa.Column("signature_token", sa.Text, nullable=True),  # HMAC key of the signature header
    sa.Column("report_if_empty", sa.Boolean, nullable=False),
    sa.Column("stream", sa.Boolean, nullable=False),
    sa.Column("schedule", sa.Text, nullable=True),  # query-schedule.json, JSON
    sa.Column("initial_record_time", sa.DateTime, nullable=True),
    sa.Column("owner", sa.String(200), nullable=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("cancelled_at", sa.DateTime, nullable=True),
    # A webhook's backoff, for the whole destination: rows enqueued while it is down wait
    # with the others (traceability.records.subscriptions).
    sa.Column("retry_at", sa.DateTime, nullable=True),
    sa.Column("failures", sa.Integer, nullable=True),  # failed sends in a row (None: 0)
    # A WebSocket client's last connection or ack: one away for long is cancelled.
    sa.Column("seen_at", sa.DateTime, nullable=True),
    sa.Index("ix_subscriptions_query", "query_name"),
)

subscription_outbox = sa.Table(
    "subscription_outbox",
    metadata,
    sa.Column(
        "subscription_id", sa.String(40), sa.ForeignKey("subscriptions.id"), primary_key=True
    ),
    sa.Column("event_id", sa.String(128), primary_key=True),
    sa.Column("enqueued_at", sa.DateTime, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", sa.DateTime, nullable=False),
    sa.Column("claimed_until", sa.DateTime, nullable=True),
    sa.Column("delivered_at", sa.DateTime, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Index("ix_subscription_outbox_due", "subscription_id", "delivered_at", "next_attempt_at"),
)
