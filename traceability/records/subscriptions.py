"""Named queries, their subscriptions and the subscription outbox (EPCIS REST binding).

(Scaffold of issue #15's subscriptions slice.)
"""

from __future__ import annotations

from traceability.records.database import Database


class SubscriptionRecords(Database):
    """The ``named_queries``, ``subscriptions`` and ``subscription_outbox`` tables."""
