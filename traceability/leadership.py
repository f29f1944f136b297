"""One holder at a time for a duty every replica could do: a lease in the records.

``Leadership.hold()`` takes or renews the named lease (``hub_leases``) for ``holder``
and says whether this instance holds it now; a loop calls it before each round and
skips the round when it does not. The lease lasts ``ttl_s`` past each renewal, so a
killed or frozen holder is replaced by a waiting replica within ``ttl_s``; ``release()``
at a clean stop hands it over at once. A records outage counts as not holding: a
holder cut off from the database stops acting before its lease could pass to another.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from traceability.errors import TraceabilityError

log = logging.getLogger(__name__)


class LeaseStore(Protocol):
    def hold_lease(self, name: str, holder: str, now: datetime, until: datetime) -> bool: ...

    def drop_lease(self, name: str, holder: str) -> None: ...


class Leadership:
    """The lease ``name`` for ``holder``; ``hold()`` before each round of the duty."""

    def __init__(
        self,
        store: LeaseStore,
        name: str,
        holder: str,
        ttl_s: float = 30.0,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if ttl_s <= 0:
            raise ValueError(f"ttl_s {ttl_s}: must be more than 0")
        self._store = store
        self.name = name
        self.holder = holder
        self._ttl = timedelta(seconds=ttl_s)
        self._clock = clock or (lambda: datetime.now(UTC))
        self.leading = False

    def hold(self) -> bool:
        """Take or renew the lease; True while this instance holds it."""
        now = self._clock()
        try:
            held = self._store.hold_lease(self.name, self.holder, now, now + self._ttl)
        except TraceabilityError as exc:
            held = False
            log.warning("%s: cannot renew the lease (%s); standing by", self.name, exc)
        if held != self.leading:
            log.info(
                "%s: %s %s",
                self.name,
                self.holder,
                "leads" if held else "stands by (another leads)",
            )
        self.leading = held
        return held

    def release(self) -> None:
        if not self.leading:
            return
        self.leading = False
        try:
            self._store.drop_lease(self.name, self.holder)
        except TraceabilityError as exc:  # it runs out by itself
            log.warning("%s: cannot release the lease (%s): it runs out by itself", self.name, exc)
