"""The notification outbox: each message to send, to whom, when; sent, failed or cancelled."""

from __future__ import annotations

from traceability.records.database import Database


class OutboxRecords(Database):
    """The notification outbox."""
