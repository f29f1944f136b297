"""``/healthz`` and ``/readyz``: liveness and readiness of the HTTP entry point.

``/healthz`` says the process serves requests, nothing more: it touches no database,
chain or telemetry store, so a slow dependency cannot make an orchestrator restart a
hub that still serves its cached pages.

``/readyz`` says whether the hub does its work: every background component (its state,
restarts and last error) and every dependency check, from the ``ReadinessSource`` the
composition root puts on ``app.state.readiness`` (``tracehub.readiness``). 200 when all
are ready, 503 otherwise, with the same JSON body either way. The checks run in a
worker thread, never on the event loop, so ``/healthz`` stays fast while they run.
Anyone (an orchestrator, a load balancer) gets each component's name and state; the
last errors and the set-aside records (which can name hosts, paths and records) go
only to a caller on the hub's own machine or holding an ``admin`` client's token.
"""

from __future__ import annotations

import ipaddress
from typing import Protocol

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from supervision.status import Readiness
from web.problem import Problem


class ReadinessSource(Protocol):
    """The hub's readiness (``tracehub.readiness.HubReadiness``)."""

    def readiness(self) -> Readiness: ...


async def healthz(_request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    source: ReadinessSource | None = getattr(request.app.state, "readiness", None)
    if source is None:
        body = {"status": "not ready", "components": [], "reason": "no readiness source wired"}
        return JSONResponse(body, status_code=503)
    report = await run_in_threadpool(source.readiness)
    detailed = _on_this_machine(request) or await _admin(request)
    return JSONResponse(
        report.to_json() if detailed else report.summary_json(),
        status_code=200 if report.ready else 503,
        headers={"Cache-Control": "no-store"},
    )


def _on_this_machine(request: Request) -> bool:
    if request.client is None:
        return False
    try:
        return ipaddress.ip_address(request.client.host).is_loopback
    except ValueError:
        return False


async def _admin(request: Request) -> bool:
    access = getattr(request.app.state, "access", None)
    if access is None or "authorization" not in request.headers:
        return False
    try:
        await access.authorise(request, "admin")
    except Problem:
        return False
    return True
