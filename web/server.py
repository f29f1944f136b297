"""The web server: uvicorn in a thread, and the read-only RPC bridge route.

``WebServer`` binds its socket on ``start()`` (building it does no I/O), before the
server thread runs, so the URL answers as soon as ``start()`` returns.
``rpc_route`` serves the embedded chain at ``POST /rpc`` for ``tracehub verify``
run in another shell (``ledger.evm.rpcbridge`` decides what may pass).
"""

from __future__ import annotations

import errno
import logging
import socket
import threading

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from web3 import Web3

from ledger.evm.rpcbridge import handle_jsonrpc

log = logging.getLogger(__name__)


def rpc_route(w3: Web3) -> Route:
    """POST /rpc: the embedded chain, read-only, for `tracehub verify` in another shell."""

    async def endpoint(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse(
                {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse error"}}
            )
        return JSONResponse(handle_jsonrpc(w3, body))

    return Route("/rpc", endpoint, methods=["POST"])


class WebServer:
    """uvicorn in a thread, on a socket bound before the thread starts."""

    def __init__(self, app: Starlette, host: str, port: int) -> None:
        self._app = app
        self.host, self.port = host, port
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
        sock.listen(128)
        self._sock, self.port = sock, int(sock.getsockname()[1])

    def start(self) -> None:
        if self._thread is not None:
            return
        self.bind()
        config = uvicorn.Config(self._app, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, name="web", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=10)
        if self._sock is not None:
            self._sock.close()
