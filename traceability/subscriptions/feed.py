"""``Feed``: what one WebSocket connection of a subscription is sent, and its acks.

A connection is sent the subscription's undelivered outbox rows in capture order, in
batches of at most ``batch``, with at most ``window`` sent and not yet acknowledged; the
client acknowledges the events it has (by the ``eventID`` each showed: the sender's own,
or the GS1 hash ID capture computed) and those rows are delivered.
Whatever was sent and not acknowledged when the connection ends stays undelivered, so a
client that reconnects with the subscription's id is sent it again (at-least-once; it
recognises each event by its ``eventID``). Rows are not leased: two connections of one
subscription would both be sent every row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from traceability.errors import RecordNotFound
from traceability.records.entities import StoredEvent
from traceability.records.subscriptions import SubscriptionRecord
from traceability.subscriptions.document import query_document, shown_id
from traceability.subscriptions.service import Subscriptions


class Feed:
    """One connection's cursor over its subscription's outbox (calls block: the web runs
    them off the event loop)."""

    def __init__(
        self,
        subscriptions: Subscriptions,
        subscription: SubscriptionRecord,
        *,
        batch: int = 100,
        window: int = 1000,
    ) -> None:
        self.subscriptions = subscriptions
        self.subscription = subscription
        self._batch = batch
        self._window = window
        # Sent on this connection, not acknowledged: stored (hash) id -> the eventID shown.
        self._sent: dict[str, str] = {}
        self._stored: dict[str, str] = {}  # shown eventID -> stored id

    @property
    def unacknowledged(self) -> int:
        return len(self._sent)

    def next_batch(self) -> list[StoredEvent]:
        """The next undelivered events to send (empty: none, or the window is full).
        Raises ``RecordNotFound`` once the subscription was cancelled or its query
        deleted."""
        room = min(self._batch, self._window - len(self._sent))
        store = self.subscriptions.store
        found = (
            []
            if room <= 0
            else store.subscription_undelivered(
                self.subscription.id, limit=room, skip=list(self._sent)
            )
        )
        if not found:
            current = store.subscription(self.subscription.id)
            if current is None or current.cancelled_at is not None:
                raise RecordNotFound(f"subscription {self.subscription.id} was cancelled")
        for event in found:
            shown = shown_id(event)
            self._sent[event.id] = shown
            self._stored[shown] = event.id
        return found

    def document(self, events: Sequence[StoredEvent]) -> dict[str, Any]:
        return query_document(
            events,
            query_name=self.subscription.query_name,
            created=self.subscriptions.clock(),
            subscription_id=self.subscription.id,
        )

    def acknowledge(self, event_ids: Sequence[str]) -> int:
        """Mark the events the client confirmed delivered (by the ``eventID`` it was shown,
        or the stored hash ID); how many were pending."""
        stored = [self._stored.get(i, i) for i in event_ids]
        done = self.subscriptions.store.acknowledge_subscription(
            self.subscription.id, stored, self.subscriptions.clock()
        )
        for event_id in stored:
            shown = self._sent.pop(event_id, None)
            if shown is not None:
                self._stored.pop(shown, None)
        return done
