"""Webhook delivery: the outbox's due rows POSTed as EPCISQueryDocuments, in a supervised
thread.

Each round claims a batch of one subscription (``RecordStore.claim_webhook_batch``: up to
``batch`` rows, leased for ``lease_s``, one request per destination at a time, in capture
order), POSTs it and records the outcome: a 2xx marks the rows delivered; anything else
(an outage, a timeout, a 4xx or 5xx) holds the whole subscription back with capped
exponential backoff and the batch is sent again later. Nothing is ever dropped: the
binding's delivery is at-least-once, and a refusal today may be a receiver fixed
tomorrow (the subscription's ``GET`` shows the last error meanwhile).

The request (the binding's callback):

* body: an EPCISQueryDocument, ``queryResults`` with ``subscriptionID`` and ``queryName``;
* ``GS1-Signature: sha256=<hex>``: HMAC-SHA256 of the raw body bytes with the
  subscription's ``signatureToken`` (only when it gave one); a receiver recomputes it over
  the bytes it read, before parsing, and compares in constant time;
* ``X-Tracehub-Subscription``: the subscription id (to route before parsing).

Each event carries its ``eventID`` (the GS1 event hash ID where capture computed it): a
receiver that keeps what it has seen by it shows each event once even after a resend
(a crash between the receiver's 2xx and the mark; see ``traceability.records.subscriptions``).
A destination is checked again before each send when the site only sends to public
addresses (a name may have been re-pointed since the subscription).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
from datetime import timedelta

import httpx

from notify.errors import DeliveryFailed
from notify.transport import http_client, post
from supervision.supervisor import Component, Supervisor
from traceability.errors import TraceabilityError
from traceability.records.subscriptionoutbox import Claimed
from traceability.subscriptions.document import query_document
from traceability.subscriptions.errors import SubscriptionInvalid
from traceability.subscriptions.model import check_destination
from traceability.subscriptions.service import Subscriptions

log = logging.getLogger(__name__)
COMPONENT = "subscriptions"  # its name in the supervisor's report
SIGNATURE_HEADER = "GS1-Signature"
SUBSCRIPTION_HEADER = "X-Tracehub-Subscription"


def signature(token: str, body: bytes) -> str:
    """The ``GS1-Signature`` value of ``body``: ``sha256=<hex>``."""
    return "sha256=" + hmac.new(token.encode("utf-8"), body, hashlib.sha256).hexdigest()


class WebhookDelivery:
    """Sends due outbox rows to webhooks; ``run_once()`` is one round (tests call it)."""

    def __init__(
        self,
        subscriptions: Subscriptions,
        supervisor: Supervisor | None = None,
        poll_s: float = 1.0,
        *,
        batch: int = 100,
        lease_s: float = 30.0,
        timeout_s: float = 10.0,
        initial_backoff_s: float = 1.0,
        max_backoff_s: float = 300.0,
    ) -> None:
        """``lease_s`` must outlast one send (``timeout_s``): a batch still being sent
        when its lease ends can be claimed and sent again by another replica."""
        if lease_s <= timeout_s or initial_backoff_s <= 0 or batch < 1:
            raise ValueError("lease_s must exceed timeout_s; backoff and batch must be positive")
        self.subscriptions = subscriptions
        self._supervisor = supervisor or Supervisor()
        self._poll_s = poll_s
        self._batch = batch
        self._lease_s = lease_s
        self._timeout_s = timeout_s
        self._initial_backoff_s = initial_backoff_s
        self._max_backoff_s = max_backoff_s
        self._client: httpx.Client | None = None
        self._wake = threading.Event()
        self._component: Component | None = None

    def start(self) -> None:
        if self._component is None:
            self.subscriptions.listen(self.wake)
            self._component = self._supervisor.spawn(
                COMPONENT, self._run, thread_name="subscriptions"
            )

    def stop(self) -> None:
        if self._component is not None:
            self.subscriptions.unlisten(self.wake)
            self._component.stopping.set()
            self._wake.set()
            self._component.stop(timeout=30)
            self._component = None
        if self._client is not None:
            self._client.close()
            self._client = None

    def wake(self) -> None:
        """Look at the outbox now rather than at the next poll."""
        self._wake.set()

    def backoff_s(self, failures: int) -> float:
        """Seconds before the next try after ``failures`` failed sends in a row."""
        return float(min(self._max_backoff_s, self._initial_backoff_s * 2 ** max(failures, 0)))

    def run_once(self) -> int:
        """Send every batch due now, one claim at a time; the number of events delivered.
        (A failed batch is due later, so the round ends.)"""
        delivered = 0
        store = self.subscriptions.store
        while True:
            claimed = store.claim_webhook_batch(
                self.subscriptions.clock(), self._lease_s, self._batch
            )
            if claimed is None:
                return delivered
            delivered += self._deliver(claimed)

    def _deliver(self, claimed: Claimed) -> int:
        store, subscription = self.subscriptions.store, claimed.subscription
        body = json.dumps(
            query_document(
                claimed.events,
                query_name=subscription.query_name,
                created=self.subscriptions.clock(),
                subscription_id=subscription.id,
            ),
            ensure_ascii=False,
        ).encode("utf-8")
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            SUBSCRIPTION_HEADER: subscription.id,
        }
        if subscription.signature_token:
            headers[SIGNATURE_HEADER] = signature(subscription.signature_token, body)
        dest = subscription.dest or ""
        try:
            if self.subscriptions.public_only:
                check_destination(dest, public_only=True, resolve=self.subscriptions.resolve)
            if self._client is None:
                self._client = http_client(self._timeout_s)
            post(self._client, dest, what=_what(dest), content=body, headers=headers)
        except (DeliveryFailed, SubscriptionInvalid) as exc:
            return self._failed(claimed, str(exc))
        except Exception as exc:  # one subscription's bug must not stop the others
            log.exception("subscription %s: unexpected error", subscription.id)
            return self._failed(claimed, f"unexpected error: {exc!r}")
        done = store.mark_subscription_delivered(
            subscription.id, claimed.claim, self.subscriptions.clock()
        )
        if done < len(claimed.events):
            log.info(
                "subscription %s: %d of %d events delivered were re-claimed meanwhile",
                subscription.id,
                len(claimed.events) - done,
                len(claimed.events),
            )
        return done

    def _failed(self, claimed: Claimed, error: str) -> int:
        subscription = claimed.subscription
        wait = self.backoff_s(subscription.failures)
        retry = self.subscriptions.clock() + timedelta(seconds=wait)
        log.warning(
            "subscription %s: %d events not delivered (attempt %d), retry at %s: %s",
            subscription.id,
            len(claimed.events),
            claimed.attempts,
            retry.isoformat(),
            error,
        )
        self.subscriptions.store.mark_subscription_failed(
            subscription.id, claimed.claim, retry, error
        )
        return 0

    def _run(self, component: Component) -> None:
        while not component.stopping.is_set():
            try:
                self.run_once()
            except TraceabilityError as exc:
                log.warning("subscription delivery postponed: %s", exc)
                component.failed(exc)
            else:
                component.succeeded()
            self._wake.wait(self._poll_s)
            self._wake.clear()


def _what(url: str) -> str:
    """A destination named in errors without its path (it may hold a token)."""
    parsed = httpx.URL(url)
    return f"webhook {parsed.scheme}://{parsed.host}"
