"""The hub's readiness: its supervised loops, and whether what they depend on answers.

``HubReadiness.readiness()`` is what ``/readyz`` serves (``web.health``) and ``tracehub
status`` shows: every component of the supervisor (anchoring, the gateway's drain,
sealer and health loops, its MQTT and OPC UA connections, the web server) and three
dependency checks, each a cheap query run with a deadline so a hung database or node
makes the answer "not ready", never a hung answer:

* ``records``  the records database answers a one-row query
* ``ledger``   the ledger database answers (how many leaves wait for a batch)
* ``chain``    the node answers its block height

plus the entries the ledger set aside (``ledger.store.setaside``): listed, counted,
and not a reason to be unready (the pipeline goes on without them).
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
from collections.abc import Callable
from typing import Any

from ledger.store.sqlstore import LedgerStore
from supervision.status import ComponentState, ComponentStatus, Failure, Readiness, SetAside
from supervision.supervisor import Supervisor
from traceability.records.store import RecordStore
from tracehub.chain import Chain
from web.server import WebServer

DEADLINE_S = 2.0  # for all the dependency checks together
REUSE_S = 1.0  # a dependency check's answer serves the /readyz calls of the next second
SHOWN_SET_ASIDE = 10
_MESSAGE_MAX = 300  # an error message is shown, not a whole traceback or document

Check = Callable[[], str]  # returns a detail; raises when the dependency fails


class HubReadiness:
    """Readiness of one hub (``web.health.ReadinessSource``)."""

    def __init__(
        self,
        supervisor: Supervisor,
        store: RecordStore,
        ledger: LedgerStore,
        chain: Chain,
        deadline_s: float = DEADLINE_S,
    ) -> None:
        self._supervisor = supervisor
        self._ledger = ledger
        self._deadline_s = deadline_s
        self._checks: dict[str, Check] = {
            "records": lambda: _records(store),
            "ledger": lambda: f"{ledger.pending().count} leaves wait for a batch",
            "chain": lambda: f"block {chain.anchorer.head()} on {chain.name}",
        }
        # Threads of their own: a check stuck past the deadline holds a worker, not /readyz.
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=len(self._checks) + 1, thread_name_prefix="readiness"
        )
        # /readyz is public: a flood of it (or a hung database) must not queue checks without
        # bound. A check still running is waited on again, not submitted again, and a
        # finished one is reused for REUSE_S; the supervisor's statuses are always fresh.
        self._lock = threading.Lock()
        self._runs: dict[str, tuple[float, concurrent.futures.Future[Any]]] = {}

    def _run(self, name: str, check: Callable[[], Any]) -> concurrent.futures.Future[Any]:
        now = time.monotonic()
        with self._lock:
            known = self._runs.get(name)
            if known is not None and (not known[1].done() or now - known[0] < REUSE_S):
                return known[1]
            future = self._pool.submit(check)
            self._runs[name] = (now, future)
            return future

    def readiness(self) -> Readiness:
        started = time.monotonic()
        futures = {name: self._run(name, check) for name, check in self._checks.items()}
        aside = self._run("set aside", self._set_aside)
        components = list(self._supervisor.statuses())
        for name, future in futures.items():
            left = max(0.0, self._deadline_s - (time.monotonic() - started))
            components.append(_outcome(name, future, left, self._deadline_s))
        try:
            count, newest = aside.result(max(0.0, self._deadline_s - (time.monotonic() - started)))
        except Exception:  # the ledger check above already says why
            count, newest = 0, ()
        return Readiness(components=tuple(components), set_aside_count=count, set_aside=newest)

    def _set_aside(self) -> tuple[int, tuple[SetAside, ...]]:
        records = self._ledger.set_aside_records(SHOWN_SET_ASIDE)
        count = len(records) if len(records) < SHOWN_SET_ASIDE else self._ledger.set_aside_count()
        return count, tuple(
            SetAside(
                pipeline=f"ledger ({r.stage})",
                record=f"{r.kind} {r.record_id}",
                reason=r.reason[:_MESSAGE_MAX],
                at=r.set_aside_at,
            )
            for r in records
        )

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def web_status(web: WebServer) -> ComponentStatus:
    """The web server as a watched component: uvicorn's thread is not restarted in
    place (its socket and app are bound to it), so a dead one is reported, not hidden."""
    serving = web.serving
    if serving is None:
        return ComponentStatus(name="web", state=ComponentState.STOPPED, detail="not started")
    if serving:
        return ComponentStatus(name="web", state=ComponentState.RUNNING, detail=web.url)
    return ComponentStatus(
        name="web",
        state=ComponentState.STOPPED,
        healthy=False,
        last_error=Failure.of("the web server thread has ended; restart the hub"),
    )


def _records(store: RecordStore) -> str:
    store.pending_events(limit=1)
    return "answers"


def _outcome(
    name: str, future: concurrent.futures.Future[str], left_s: float, deadline_s: float
) -> ComponentStatus:
    try:
        detail = future.result(timeout=left_s)
    except concurrent.futures.TimeoutError:
        error = Failure.of(f"no answer within {deadline_s:.1f}s")
    except Exception as exc:
        error = Failure.of(exc)
        error = error.model_copy(update={"message": error.message[:_MESSAGE_MAX]})
    else:
        return ComponentStatus(
            name=name, state=ComponentState.RUNNING, supervised=False, detail=detail
        )
    return ComponentStatus(
        name=name,
        state=ComponentState.RUNNING,
        healthy=False,
        supervised=False,
        last_error=error,
    )
