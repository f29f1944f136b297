"""The web server: uvicorn in a thread, and the read-only RPC bridge route.

``WebServer`` binds its socket on ``start()`` (building it does no I/O), before the
server thread runs, so the URL answers as soon as ``start()`` returns. It speaks
``web.httpprotocol`` (a deadline and a bound on each request head) and caps the
connections and tasks it serves at once (``web.limits.Limits``).

``rpc_route`` serves the embedded chain at ``POST /rpc`` for ``tracehub verify``
run in another shell (``ledger.evm.rpcbridge`` decides what may pass). Its work is
bounded here: the body (``RequestLimits``), the batch length (413), calls per client
IP (a token bucket, 429 with ``Retry-After``), and the EVM runs in a small pool of
its own threads (``web.offload``), never on the event loop.
"""

from __future__ import annotations

import errno
import logging
import math
import socket
import threading

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from web3 import Web3

from ledger.evm.rpcbridge import handle_jsonrpc, is_refusal
from web.errors import JsonRefused
from web.httpprotocol import bounded_protocol
from web.jsonbody import read_json
from web.limits import RPC_PATH, Limits, RequestLimits
from web.offload import Offload
from web.problem import Problem
from web.ratelimit import RateLimiter

log = logging.getLogger(__name__)
PARSE_ERROR = -32700


def rpc_route(w3: Web3, limits: Limits | None = None) -> Route:
    """POST /rpc: the embedded chain, read-only, for `tracehub verify` in another shell."""
    bounds = limits or Limits()
    rate = RateLimiter(bounds.rpc_rate_per_s, bounds.rpc_burst)
    pool = Offload("rpc", bounds.rpc_workers, bounds.rpc_queue)

    def answer(body: object) -> object:
        return handle_jsonrpc(w3, body, gas_cap=bounds.rpc_gas, max_batch=bounds.rpc_batch)  # type: ignore[arg-type]

    async def endpoint(request: Request) -> Response:
        try:
            return await _rpc(request)
        except Problem as refusal:  # the app /rpc is mounted in may not handle Problem
            return refusal.response()

    def limited(client: str, calls: int) -> None:
        wait = rate.take(client, calls)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise Problem(
                429,
                "too many requests",
                f"{client} may make {bounds.rpc_rate_per_s:g} calls/s ({bounds.rpc_burst} "
                f"at once); retry in {seconds} s",
                headers={"Retry-After": str(seconds)},
            )

    async def _rpc(request: Request) -> Response:
        raw = await request.body()  # bounded by RequestLimits
        client = request.client.host if request.client else "unknown"
        limited(client, 1)  # before any parsing: a flood is refused at the door
        try:
            # Off the event loop: a large body takes tens of ms to read.
            body = await pool.run(read_json, raw, bounds.json_limits)
        except JsonRefused as exc:
            error = {"code": PARSE_ERROR, "message": "parse error", "data": str(exc)}
            return JSONResponse({"jsonrpc": "2.0", "id": None, "error": error}, 400)
        calls = len(body) if isinstance(body, list) else 1
        if calls > bounds.rpc_batch:
            raise Problem(
                413,
                "batch too long",
                f"a batch of {calls} calls; the limit is {bounds.rpc_batch}: split it",
            )
        if calls > 1:
            limited(client, calls - 1)  # the rest of the batch
        reply = await pool.run(answer, body)
        refused = isinstance(reply, dict) and is_refusal(reply)
        return JSONResponse(reply, 400 if refused else 200)

    return Route(
        RPC_PATH, endpoint, methods=["POST"], middleware=[Middleware(RequestLimits, limits=bounds)]
    )


class WebServer:
    """uvicorn in a thread, on a socket bound before the thread starts."""

    def __init__(self, app: Starlette, host: str, port: int, limits: Limits | None = None) -> None:
        self._app = app
        self.host, self.port = host, port
        self.limits = limits or Limits()
        self._sock: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._sock is None:
            raise RuntimeError("the web server has no socket yet: bind() or start() it first")
        return f"http://{self.host}:{self.port}"

    def bind(self) -> None:
        """Take the listening socket (the port is known from here on)."""
        if self._sock is not None:
            return
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE or self.port == 0:
                sock.close()
                raise
            # The default port is taken (another demo, another service): the URL we
            # print is what matters, so take any free port rather than fail.
            log.warning("port %s is in use; serving on a free port instead", self.port)
            sock.bind((self.host, 0))
        sock.listen(self.limits.backlog)
        self._sock, self.port = sock, int(sock.getsockname()[1])

    def start(self) -> None:
        if self._thread is not None:
            return
        self.bind()
        config = uvicorn.Config(
            self._app,
            log_level="warning",
            lifespan="off",
            http=bounded_protocol(self.limits),
            # Beyond this many connections or tasks at once, new requests get 503 at
            # once instead of queueing behind slow ones.
            limit_concurrency=self.limits.max_concurrency,
            backlog=self.limits.backlog,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, name="web", daemon=True
        )
        self._thread.start()

    @property
    def serving(self) -> bool | None:
        """None before ``start()``; then whether uvicorn's thread still serves."""
        if self._thread is None or self._server is None:
            return None
        return self._thread.is_alive() and not self._server.should_exit

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=10)
        if self._sock is not None:
            self._sock.close()
