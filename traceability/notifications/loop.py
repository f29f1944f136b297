"""The delivery loop: send what the outbox has due, in a supervised thread.

Each round claims one due row at a time, just before sending it (a lease that covers
that one send, ``traceability.records.outbox``), then: the rate limit (``max_per_hour``
alerts of one incident to one recipient over one channel, in any 60 minutes: over it, the
row is deferred to when the window allows, so a flapping incident cannot page someone
every minute while alerts of other incidents still go out), the send, and the outcome:
sent (with the next reminder when it was a last-step alert), retried later with capped
exponential backoff (an outage, a timeout, a 429/5xx), or kept dead with the reason (a
permanent refusal, or ``max_attempts`` used up). One message failing, even with an
unexpected error, does not stop the others. A row cancelled (acknowledged) between its
claim and its send has its send not recorded; its recipient still gets the note.

Supervised like ``traceability.anchoring.loop`` (``supervision.Supervisor``, component
``notifications``): a records outage is reported as the component's last error and
waited out; the rows it had leased are claimed again when their lease runs out.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from notify.errors import DeliveryFailed
from notify.message import Message
from supervision.supervisor import Component, Supervisor
from traceability.errors import TraceabilityError
from traceability.notifications.service import Notifications
from traceability.records.outbox import OutboxEntry

log = logging.getLogger(__name__)
COMPONENT = "notifications"  # its name in the supervisor's report
HOUR = timedelta(hours=1)


class DeliveryLoop:
    """Sends due notifications; ``run_once()`` is one round (tests call it directly)."""

    def __init__(
        self,
        notifications: Notifications,
        supervisor: Supervisor | None = None,
        poll_s: float = 1.0,
        *,
        lease_s: float = 30.0,
        max_attempts: int = 50,
        initial_backoff_s: float = 5.0,
        max_backoff_s: float = 300.0,
    ) -> None:
        """``lease_s`` must outlast one send (each row is claimed just before its send,
        and every channel times out after ~10 s): a message still being sent when its
        lease ends can be claimed and sent again by another sender, with the same id."""
        if initial_backoff_s <= 0 or lease_s <= 0:
            raise ValueError("lease_s and initial_backoff_s must be positive")
        self.notifications = notifications
        self._supervisor = supervisor or Supervisor()
        self._poll_s = poll_s
        self._lease_s = lease_s
        self._max_attempts = max_attempts
        self._initial_backoff_s = initial_backoff_s
        self._max_backoff_s = max_backoff_s
        self._wake = threading.Event()
        self._component: Component | None = None

    def start(self) -> None:
        if self._component is None:
            self._component = self._supervisor.spawn(
                COMPONENT, self._run, thread_name="notify-loop"
            )

    def stop(self) -> None:
        if self._component is not None:
            self._component.stopping.set()
            self._wake.set()
            self._component.stop(timeout=30)
            self._component = None

    def wake(self) -> None:
        """Look at the outbox now rather than at the next poll."""
        self._wake.set()

    def run_once(self) -> int:
        """Send every message due when the round began, one claim at a time; the number
        sent. (A retry or a deferral is always later than that, so the round ends.)"""
        sent = 0
        store = self.notifications.store
        began = self.notifications.clock()
        while True:
            claimed = store.claim_due(self.notifications.clock(), self._lease_s, due_by=began)
            if not claimed:
                return sent
            sent += self._deliver(claimed[0])

    def backoff_s(self, attempts: int) -> float:
        """Seconds before attempt ``attempts + 1``: doubling, capped."""
        return float(min(self._max_backoff_s, self._initial_backoff_s * 2 ** max(attempts - 1, 0)))

    def _deliver(self, entry: OutboxEntry) -> int:
        store = self.notifications.store
        now = self.notifications.clock()
        claim = self._claim(entry)
        channel = self.notifications.channels.get(entry.channel)
        if channel is None:
            store.mark_failed(
                entry.id, claim, now, f"the {entry.channel} channel is not configured", None
            )
            return 0
        allowed = self._allowed_at(entry, now)
        if allowed is not None:
            limit = self.notifications.policy.max_per_hour
            reason = (
                f"rate limit: {limit} {entry.channel} messages of this incident to "
                f"{entry.recipient} in the last hour; deferred to {allowed.isoformat()}"
            )
            log.warning("notification %s: %s", entry.id, reason)
            store.defer(entry.id, claim, allowed, reason)
            return 0
        try:
            channel.send(Message.model_validate_json(entry.message), entry.address)
        except DeliveryFailed as exc:
            self._failed(entry, now, str(exc), permanent=exc.permanent)
            return 0
        except Exception as exc:  # a bug in one channel must not stop the others
            log.exception("notification %s: unexpected error", entry.id)
            self._failed(entry, now, f"unexpected error: {exc!r}", permanent=False)
            return 0
        sent_at = self.notifications.clock()
        # The window in which a crash resends (same id): keep it to this commit.
        if not store.mark_sent(entry.id, claim, sent_at, self._reminder(entry, sent_at)):
            log.info(
                "notification %s was sent, but it was cancelled or re-claimed meanwhile",
                entry.id,
            )
            return 0
        return 1

    def _allowed_at(self, entry: OutboxEntry, now: datetime) -> datetime | None:
        """None: send it now; else the moment the rate limit allows it (always > now).
        Only alerts count and are limited: the end notes are one per incident."""
        if entry.purpose != "alert":
            return None
        limit = self.notifications.policy.max_per_hour
        store = self.notifications.store
        sent = store.alerts_sent(entry.incident_id, entry.recipient, entry.channel, now - HOUR)
        if len(sent) < limit:
            return None
        return sent[len(sent) - limit] + HOUR  # when that one leaves the window

    @staticmethod
    def _claim(entry: OutboxEntry) -> datetime:
        if entry.claimed_until is None:
            raise ValueError(f"notification {entry.id} was not claimed")
        return entry.claimed_until

    def _reminder(self, entry: OutboxEntry, sent_at: datetime) -> OutboxEntry | None:
        try:
            return self.notifications.reminder(entry, sent_at)
        except TraceabilityError:
            raise
        except Exception:  # never let a reminder's wording lose the mark that it was sent
            log.exception("notification %s: cannot build its reminder", entry.id)
            return None

    def _failed(self, entry: OutboxEntry, now: datetime, error: str, *, permanent: bool) -> None:
        store = self.notifications.store
        if permanent or entry.attempts >= self._max_attempts:
            why = "permanent" if permanent else f"gave up after {entry.attempts} attempts"
            log.error("notification %s to %s dead (%s): %s", entry.id, entry.recipient, why, error)
            store.mark_failed(entry.id, self._claim(entry), now, error, retry_at=None)
            return
        retry = now + timedelta(seconds=self.backoff_s(entry.attempts))
        log.warning(
            "notification %s to %s failed (attempt %d), retry at %s: %s",
            entry.id,
            entry.recipient,
            entry.attempts,
            retry.isoformat(),
            error,
        )
        store.mark_failed(entry.id, self._claim(entry), now, error, retry_at=retry)

    def _run(self, component: Component) -> None:
        while not component.stopping.is_set():
            try:
                self.run_once()
            except TraceabilityError as exc:
                log.warning("notifications postponed: %s", exc)
                component.failed(exc)
            else:
                component.succeeded()
            self._wake.wait(self._poll_s)
            self._wake.clear()
