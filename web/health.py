"""``/healthz``: the liveness answer of the HTTP entry point.

It says the process serves requests, nothing more: it touches no database, chain or
telemetry store, so a slow dependency cannot make an orchestrator restart a hub that
still serves its cached pages.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response


async def healthz(_request: Request) -> Response:
    return JSONResponse({"status": "ok"})
