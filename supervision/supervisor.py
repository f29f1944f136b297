"""The supervisor: each background loop in a thread of its own, restarted when it dies.

A loop is a function ``loop(component)`` that runs rounds until
``component.stopping`` is set, and says how each round went: ``component.succeeded()``
after a good one, ``component.failed(exc)`` after an error it handled itself (an
outage it waits out). Anything it does not handle ends the call; the supervisor logs
it with its traceback, marks the component ``restarting`` with that error, waits a
backoff (doubling from ``initial_backoff_s`` up to ``max_backoff_s``, back to the start
after a round succeeds) and calls the loop again. A loop that returns while nobody
asked it to stop is restarted the same way: a background loop has no business ending.

What cannot be restarted from here (uvicorn's server thread, paho's network loop,
which reconnects by itself) is *watched*: ``watch(name, probe)`` adds a component
whose status the probe tells when asked.

Every status change notifies ``wait_until``, so callers (tests, a start-up that
waits for readiness) await a state instead of sleeping.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from supervision.status import ComponentState, ComponentStatus, Failure

log = logging.getLogger(__name__)

Loop = Callable[["Component"], None]
Probe = Callable[[], ComponentStatus]
Clock = Callable[[], datetime]


class Component:
    """One supervised loop: its thread, its stop signal and what it reported."""

    def __init__(self, supervisor: Supervisor, name: str, loop: Loop, thread_name: str) -> None:
        self.name = name
        self.stopping = threading.Event()
        self._supervisor = supervisor
        self._loop = loop
        self._state = ComponentState.STARTING
        self._healthy = True
        self._restarts = 0
        self._crashes = 0  # in a row, since the last success: sets the backoff
        self._last_error: Failure | None = None
        self._last_success: datetime | None = None
        self._thread = threading.Thread(target=self._run, name=thread_name, daemon=True)

    # what the loop reports ------------------------------------------------------------

    def succeeded(self) -> None:
        """A round went well: healthy again, the backoff starts over."""
        with self._supervisor.changed:
            self._state = ComponentState.RUNNING
            self._healthy = True
            self._crashes = 0
            self._last_success = self._supervisor.clock()
            self._supervisor.changed.notify_all()

    def failed(self, error: BaseException | str) -> None:
        """A round met an error the loop handles itself (it goes on): unhealthy until
        the next success, no restart."""
        with self._supervisor.changed:
            if self._state is not ComponentState.STOPPED:
                self._state = ComponentState.RUNNING
            self._healthy = False
            self._last_error = Failure.of(error, self._supervisor.clock())
            self._supervisor.changed.notify_all()

    # what others read -----------------------------------------------------------------

    def status(self) -> ComponentStatus:
        with self._supervisor.changed:
            return ComponentStatus(
                name=self.name,
                state=self._state,
                healthy=self._healthy,
                restarts=self._restarts,
                last_error=self._last_error,
                last_success=self._last_success,
            )

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    # control --------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> bool:
        """Ask the loop to stop and wait for it; False when it did not end in time."""
        self.stopping.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("%s did not stop within %.0fs", self.name, timeout)
            return False
        return True

    def _run(self) -> None:
        supervisor = self._supervisor
        while not self.stopping.is_set():
            try:
                self._loop(self)
            except Exception as exc:  # every unexpected error: the point of supervision
                log.exception("%s crashed", self.name)
                error: BaseException | str = exc
            else:
                if self.stopping.is_set():
                    break
                error = "the loop returned without being asked to stop"
                log.error("%s: %s", self.name, error)
            delay = self._crashed(error)
            log.warning("%s restarts in %.2fs", self.name, delay)
            if self.stopping.wait(delay):
                break
        with supervisor.changed:
            self._state = ComponentState.STOPPED
            supervisor.changed.notify_all()

    def _crashed(self, error: BaseException | str) -> float:
        supervisor = self._supervisor
        with supervisor.changed:
            delay = min(
                supervisor.initial_backoff_s * 2.0 ** min(self._crashes, 32),
                supervisor.max_backoff_s,
            )
            self._crashes += 1
            self._restarts += 1
            self._state = ComponentState.RESTARTING
            self._healthy = False
            self._last_error = Failure.of(error, supervisor.clock())
            supervisor.changed.notify_all()
        return delay


class Supervisor:
    """Runs and watches a process's background components (thread-safe)."""

    def __init__(
        self,
        *,
        initial_backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        clock: Clock | None = None,
    ) -> None:
        if initial_backoff_s <= 0 or max_backoff_s < initial_backoff_s:
            raise ValueError("backoff: 0 < initial_backoff_s <= max_backoff_s")
        self.initial_backoff_s = initial_backoff_s
        self.max_backoff_s = max_backoff_s
        self.clock: Clock = clock or (lambda: datetime.now(UTC))
        self.changed = threading.Condition()
        self._components: dict[str, Component] = {}
        self._probes: dict[str, Probe] = {}

    def spawn(self, name: str, loop: Loop, *, thread_name: str | None = None) -> Component:
        """Start ``loop`` supervised under ``name`` (a stopped component of that name
        is replaced: a part started again after a stop)."""
        with self.changed:
            current = self._components.get(name)
            if current is not None and current.alive:
                raise ValueError(f"{name} is already running")
            component = Component(self, name, loop, thread_name or name)
            self._components[name] = component
            self.changed.notify_all()
        component.start()
        return component

    def watch(self, name: str, probe: Probe) -> None:
        """Report ``probe()`` as component ``name`` (something run elsewhere)."""
        with self.changed:
            self._probes[name] = probe

    def unwatch(self, name: str) -> None:
        with self.changed:
            self._probes.pop(name, None)

    def statuses(self) -> tuple[ComponentStatus, ...]:
        """Every component, supervised ones first, in the order they were added."""
        with self.changed:
            components = list(self._components.values())
            probes = list(self._probes.items())
        found = [c.status() for c in components]
        for name, probe in probes:
            try:
                found.append(probe().model_copy(update={"name": name, "supervised": False}))
            except Exception as exc:  # a probe that fails says so, it does not raise
                found.append(
                    ComponentStatus(
                        name=name,
                        state=ComponentState.STOPPED,
                        healthy=False,
                        supervised=False,
                        last_error=Failure.of(exc, self.clock()),
                    )
                )
        return tuple(found)

    def status(self, name: str) -> ComponentStatus | None:
        return next((s for s in self.statuses() if s.name == name), None)

    def wait_until(
        self, predicate: Callable[[Mapping[str, ComponentStatus]], bool], timeout: float
    ) -> bool:
        """Wait until ``predicate(statuses by name)`` holds (supervised components are
        re-read on each change; watched ones are not notified: poll those)."""
        with self.changed:
            return self.changed.wait_for(
                lambda: predicate({s.name: s for s in self._supervised()}), timeout
            )

    def _supervised(self) -> list[ComponentStatus]:
        # Called with ``changed`` held (a re-entrant lock): the statuses cannot move.
        return [c.status() for c in self._components.values()]

    def stop(self, timeout: float = 30.0) -> None:
        """Stop every supervised component (each is given ``timeout``)."""
        with self.changed:
            components = list(self._components.values())
        for component in components:
            component.stopping.set()
        for component in components:
            component.stop(timeout)
