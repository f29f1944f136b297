"""The anchoring loop's feeder with the audit trail's retry path: after the events'
feeder mirrored what was anchored, every audit entry a ledger outage (or a refused key)
left unsigned is signed (``AuditTrail.sign_pending``), so the next round anchors it.

A failure to sign is logged once per distinct cause and does not postpone anchoring:
the events' batches go on; the trail's entries wait for the ledger (``tracehub audit
verify`` lists them as not yet signed).
"""

from __future__ import annotations

import logging
from typing import Protocol

from traceability.anchoring.feeder import FeedResult
from traceability.anchoring.loop import Feeder
from traceability.errors import TraceabilityError

log = logging.getLogger(__name__)


class PendingSigner(Protocol):
    """``traceability.audit.trail.AuditTrail``."""

    def sign_pending(self) -> int: ...


class AuditSigningFeeder:
    """A ``loop.Feeder``: ``feeder``'s round, then the trail's unsigned entries."""

    def __init__(self, feeder: Feeder, trail: PendingSigner) -> None:
        self._feeder = feeder
        self._trail = trail
        self._last: str | None = None

    def sync(self) -> FeedResult:
        fed = self._feeder.sync()
        try:
            signed = self._trail.sign_pending()
        except TraceabilityError as exc:
            if str(exc) != self._last:
                log.warning("audit entries not signed yet: %s", exc)
            self._last = str(exc)
        else:
            if signed:
                log.info("signed %s audit entries left unsigned", signed)
            self._last = None
        return fed
