"""The hub's EPCIS query subscriptions, wired: named queries and subscriptions over the
records, the capture hook that fills their outbox, and the webhook delivery loop.

``subscriptions_for`` is built before the capture service (its ``on_stored`` hook goes
into ``CaptureService(on_stored=…)``, so every event the hub captures, from the gateway,
``POST /capture`` or an incident's disposition, is matched in its own transaction);
``Subscribing`` joins it with the ``WebhookDelivery`` loop (supervised, component
``subscriptions``), which ``Hub.start()`` starts and ``stop()`` stops. WebSocket
subscriptions are served by the web site over the same ``Subscriptions``. Replicas on one
records database each run a loop: the outbox's leases decide who sends which batch.

Building opens nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from supervision.supervisor import Supervisor
from traceability.records.store import RecordStore
from traceability.subscriptions.delivery import WebhookDelivery
from traceability.subscriptions.service import Subscriptions
from tracehub.settings import Settings


@dataclass(frozen=True)
class Subscribing:
    subscriptions: Subscriptions
    delivery: WebhookDelivery

    def start(self) -> None:
        self.delivery.start()

    def stop(self) -> None:
        self.delivery.stop()


def subscriptions_for(settings: Settings, store: RecordStore) -> Subscriptions:
    """The named queries and subscriptions (``TRACEHUB_SUBSCRIPTIONS_*``: public-only
    destinations, the bounds, the retention)."""
    options = settings.subscriptions
    return Subscriptions(
        store,
        public_only=options.public_only,
        max_per_client=options.max_per_client,
        max_total=options.max_total,
        retention=timedelta(days=options.retention_days),
        websocket_idle=timedelta(days=options.websocket_idle_days),
    )


def subscribing(
    settings: Settings, subscriptions: Subscriptions, supervisor: Supervisor
) -> Subscribing:
    """``subscriptions`` with their webhook delivery loop under the hub's supervisor."""
    options = settings.subscriptions
    delivery = WebhookDelivery(
        subscriptions,
        supervisor,
        poll_s=options.poll_s,
        batch=options.batch,
        timeout_s=options.timeout_s,
        lease_s=max(30.0, 3 * options.timeout_s),
        workers=options.workers,
    )
    return Subscribing(subscriptions, delivery)
