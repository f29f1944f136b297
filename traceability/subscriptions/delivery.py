"""Webhook delivery: the outbox's due rows POSTed as EPCISQueryDocuments, in a supervised
thread.

Each round claims batches, each of one subscription (``RecordStore.claim_webhook_batch``:
up to ``batch`` rows, leased for ``lease_s``, one request per destination at a time, in
capture order), and sends up to ``workers`` of them at once, so that a slow or dead
destination delays only itself. Each send has ONE deadline, ``timeout_s``, for all of it:
the DNS lookup, the connection, the request and the whole answer (a receiver that drips
its answer a byte at a time is cut off there, not kept for as long as it likes); the
lease outlasts it. The outcome: a 2xx marks the rows delivered; anything else (an outage,
a timeout, a 4xx or 5xx) holds the whole subscription back with capped exponential
backoff and the batch is sent again later. Nothing is ever dropped: the binding's
delivery is at-least-once, and a refusal today may be a receiver fixed tomorrow (the
subscription's ``GET`` shows the last error meanwhile: the status code and a generic
reason only, never what the receiver answered, which stays in the server log).

The request (the binding's callback):

* body: an EPCISQueryDocument, ``queryResults`` with ``subscriptionID`` and ``queryName``;
* ``GS1-Signature: sha256=<hex>``: HMAC-SHA256 of the raw body bytes with the
  subscription's ``signatureToken`` (only when it gave one); a receiver recomputes it over
  the bytes it read, before parsing, and compares in constant time;
* ``X-Tracehub-Subscription``: the subscription id (to route before parsing).

Each event carries its ``eventID`` (the GS1 event hash ID where capture computed it): a
receiver that keeps what it has seen by it shows each event once even after a resend
(a crash between the receiver's 2xx and the mark; see ``traceability.records.subscriptions``).
When the site sends to public addresses only, the destination is resolved and checked
again before each send, and the request goes to the address checked (the ``Host`` header
and TLS server name stay the URL's): a name re-pointed to an internal address since the
subscription, or between the check and the connection, is refused.

The loop also runs ``Subscriptions.sweep`` every ``sweep_s`` (old delivered rows, idle
WebSocket subscriptions).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import timedelta
from functools import partial
from http import HTTPStatus

import anyio
import anyio.to_thread
import httpx

from notify.errors import DeliveryFailed
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
        workers: int = 8,
        sweep_s: float = 600.0,
    ) -> None:
        """``lease_s`` must outlast one send (``timeout_s``, its whole deadline): a batch
        still being sent when its lease ends can be claimed and sent again by another
        replica. ``workers``: destinations sent to at once."""
        if lease_s <= timeout_s or initial_backoff_s <= 0 or batch < 1 or workers < 1:
            raise ValueError(
                "lease_s must exceed timeout_s; backoff, batch and workers must be positive"
            )
        self.subscriptions = subscriptions
        self._supervisor = supervisor or Supervisor()
        self._poll_s = poll_s
        self._batch = batch
        self._lease_s = lease_s
        self._timeout_s = timeout_s
        self._initial_backoff_s = initial_backoff_s
        self._max_backoff_s = max_backoff_s
        self._workers = workers
        self._sweep_s = sweep_s
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
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
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)  # each send ends by its deadline

    def wake(self) -> None:
        """Look at the outbox now rather than at the next poll."""
        self._wake.set()

    def backoff_s(self, failures: int) -> float:
        """Seconds before the next try after ``failures`` failed sends in a row."""
        return float(min(self._max_backoff_s, self._initial_backoff_s * 2 ** max(failures, 0)))

    def run_once(self) -> int:
        """Send every batch due now, up to ``workers`` destinations at once; the number of
        events delivered. (A failed batch is due later, so the round ends.)"""
        delivered = 0
        store = self.subscriptions.store
        pool = self._executor()
        running: set[Future[int]] = set()
        try:
            while True:
                while len(running) < self._workers:
                    claimed = store.claim_webhook_batch(
                        self.subscriptions.clock(), self._lease_s, self._batch
                    )
                    if claimed is None:
                        break
                    running.add(pool.submit(self._deliver, claimed))
                if not running:
                    return delivered
                # A finished send frees a worker (and may leave its next batch due); while
                # a slow one runs, what became due meanwhile is claimed every poll.
                done, running = wait(running, timeout=self._poll_s, return_when=FIRST_COMPLETED)
                delivered += sum(future.result() for future in done)
        finally:
            wait(running)  # none outlives the round: each ends by its deadline

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="webhook")
            return self._pool

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
            send(
                dest,
                body,
                headers,
                timeout_s=self._timeout_s,
                public_only=self.subscriptions.public_only,
                resolve=self.subscriptions.resolve,
            )
        except (DeliveryFailed, SubscriptionInvalid) as exc:
            return self._failed(claimed, str(exc))
        except Exception:  # one subscription's bug must not stop the others
            log.exception("subscription %s: unexpected error", subscription.id)
            return self._failed(claimed, "unexpected error in the hub (see its log)")
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
        swept = time.monotonic()
        while not component.stopping.is_set():
            try:
                self.run_once()
                if time.monotonic() - swept >= self._sweep_s:
                    swept = time.monotonic()
                    pruned, cancelled = self.subscriptions.sweep()
                    if pruned or cancelled:
                        log.info(
                            "subscriptions: %d delivered rows pruned, %d idle WebSocket "
                            "subscriptions cancelled",
                            pruned,
                            cancelled,
                        )
            except TraceabilityError as exc:
                log.warning("subscription delivery postponed: %s", exc)
                component.failed(exc)
            else:
                component.succeeded()
            self._wake.wait(self._poll_s)
            self._wake.clear()


def send(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    timeout_s: float,
    public_only: bool,
    resolve: Callable[[str], Iterable[str]],
) -> int:
    """POST ``body`` to ``url`` within ``timeout_s`` in all (module docstring); the 2xx
    status, else ``DeliveryFailed`` (or ``SubscriptionInvalid`` for a destination no
    longer public) naming the status or the failure, never the receiver's words."""
    what = _what(url)
    try:
        return anyio.run(_post, url, body, dict(headers), timeout_s, public_only, resolve)
    except TimeoutError as exc:
        raise DeliveryFailed(
            f"{what}: no complete answer within {timeout_s:g} s", permanent=False
        ) from exc
    except httpx.TransportError as exc:
        log.info("%s: %r", what, exc)  # the detail stays in the server log
        raise DeliveryFailed(
            f"{what}: the connection failed ({type(exc).__name__})", permanent=False
        ) from exc
    except httpx.HTTPError as exc:  # e.g. an invalid URL met only at send time
        log.info("%s: %r", what, exc)
        raise DeliveryFailed(f"{what}: cannot send ({type(exc).__name__})", permanent=True) from exc


async def _post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    timeout_s: float,
    public_only: bool,
    resolve: Callable[[str], Iterable[str]],
) -> int:
    with anyio.fail_after(timeout_s):
        target, extensions = httpx.URL(url), {}
        if public_only:
            checked = await anyio.to_thread.run_sync(
                partial(check_destination, url, public_only=True, resolve=resolve),
                abandon_on_cancel=True,
            )
            # Connect to the address checked, not to a fresh lookup of the name.
            headers["Host"] = target.netloc.decode("ascii")
            if target.scheme == "https":
                extensions["sni_hostname"] = target.host
            target = target.copy_with(host=checked[0])
        async with (
            httpx.AsyncClient(timeout=timeout_s, follow_redirects=False) as client,
            client.stream(
                "POST", target, content=body, headers=headers, extensions=extensions
            ) as response,
        ):
            async for _ in response.aiter_raw():  # the whole answer, within the deadline
                pass
            status = response.status_code
    if 200 <= status < 300:
        return status
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:  # a code outside the registry
        reason = ""
    raise DeliveryFailed(
        f"{_what(url)}: HTTP {status} {reason}".rstrip(),
        permanent=not (status in (408, 425, 429) or status >= 500),
    )


def _what(url: str) -> str:
    """A destination named in errors without its path (it may hold a token)."""
    parsed = httpx.URL(url)
    return f"webhook {parsed.scheme}://{parsed.host}"
