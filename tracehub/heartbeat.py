"""Each running hub process tells the records database it is alive, with its roles,
version and health, so ``tracehub status`` lists every instance of a deployment from
any machine that reaches the records (issue #18).

A supervised loop (component ``heartbeat``) writes the instance's row every
``interval_s``: healthy when every other component of its supervisor is ready, with the
names of those that are not. ``stop()`` removes the row (a clean stop); a killed
process leaves it behind, and its age says so ("last seen 2 min ago").
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Protocol

from supervision.supervisor import Component, Supervisor
from traceability.errors import TraceabilityError
from traceability.records.instances import InstanceBeat

log = logging.getLogger(__name__)
COMPONENT = "heartbeat"
INTERVAL_S = 5.0
STALE_AFTER_S = 3 * INTERVAL_S  # `tracehub status`: silent this long, it is not running


class BeatStore(Protocol):
    def beat(self, beat: InstanceBeat) -> None: ...

    def forget_instance(self, instance: str) -> None: ...


def instance_id() -> str:
    """Unique per process, readable: ``host:pid:random``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def hub_version() -> str:
    try:
        return version("tracehub")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


class Heartbeat:
    """The instance's row in ``hub_instances``, written every ``interval_s``."""

    def __init__(
        self,
        store: BeatStore,
        supervisor: Supervisor,
        instance: str,
        roles: tuple[str, ...],
        detail: Callable[[], Mapping[str, Any]] = dict,
        interval_s: float = INTERVAL_S,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._store = store
        self._supervisor = supervisor
        self.instance = instance
        self._roles = roles
        self._detail = detail
        self._interval = interval_s
        self._clock = clock or (lambda: datetime.now(UTC))
        self._started = self._clock()
        self._component: Component | None = None

    def beat_once(self) -> InstanceBeat:
        waiting = [
            s.name for s in self._supervisor.statuses() if s.name != COMPONENT and not s.ready
        ]
        beat = InstanceBeat(
            id=self.instance,
            roles=self._roles,
            version=hub_version(),
            host=socket.gethostname(),
            pid=os.getpid(),
            started_at=self._started,
            beat_at=self._clock(),
            healthy=not waiting,
            detail={**self._detail(), "not_ready": waiting},
        )
        self._store.beat(beat)
        return beat

    def start(self) -> None:
        if self._component is None:
            self._component = self._supervisor.spawn(COMPONENT, self._run)

    def _run(self, component: Component) -> None:
        while not component.stopping.is_set():
            try:
                self.beat_once()
            except TraceabilityError as exc:  # the records are down: say so, try again
                component.failed(exc)
                log.warning("heartbeat not written: %s", exc)
            else:
                component.succeeded()
            component.stopping.wait(self._interval)

    def stop(self) -> None:
        if self._component is not None:
            self._component.stop(timeout=10)
            self._component = None
        try:
            self._store.forget_instance(self.instance)
        except TraceabilityError as exc:  # the row ages out; status says "last seen"
            log.warning("could not remove this instance's heartbeat: %s", exc)
