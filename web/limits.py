"""Bounded work per request: every limit of the HTTP surface, and the middleware that
applies the ones a request meets before any endpoint runs.

``Limits`` holds them all (frozen, validated): URL sizes, body sizes per route, how long
a client may take to send its head and its body, events per capture, the ``/rpc``
bridge's batch, gas and rate, the worker pools of CPU-heavy work. Who applies what:

* ``web.httpprotocol`` (uvicorn's HTTP protocol): the request head's size and deadline,
  so a slowloris on headers is cut (408) without an ASGI task ever starting;
* ``RequestLimits`` (this module, pure ASGI): path and query length (414), the body,
  refused by its ``Content-Length`` before a byte is read or counted while it streams
  and cut at the route's limit (413), and its deadline (408); the endpoint then gets the
  whole body at once, so no endpoint reads an unbounded or endless stream;
* ``web.capture`` (events per document, running jobs per client), ``web.server``
  (``/rpc`` batch, rate, gas), ``web.jsonbody`` (numbers, strings, depth),
  ``web.offload`` (threads).

Refusals are RFC 9457 problem details (``web.problem``) naming the limit and the fix,
sent with ``Connection: close`` so an oversized body is not read to its end.
"""

from __future__ import annotations

import math

import anyio
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger.evm.rpcbridge import DEFAULT_GAS_CAP, DEFAULT_MAX_BATCH
from web.jsonbody import JsonLimits
from web.problem import Problem

CAPTURE_PATH = "/capture"
# The binding's capture route and tracehub's older alias of it (web.capture).
CAPTURE_PATHS = frozenset({CAPTURE_PATH, "/epcis/capture"})
RPC_PATH = "/rpc"
# The console's master-data import (web.console.masterimport): a file, then its rows again
# in the confirming form (form-encoded: up to three bytes a byte).
IMPORT_PATHS = frozenset({"/console/import", "/console/import/confirm"})
CAPTURE_LIMIT_EXCEEDED = "epcisException:CaptureLimitExceededException"
KIB = 1024


class Limits(BaseModel):
    """Every bound of the HTTP surface; the defaults are what the hub runs with."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # The request head (web.httpprotocol): all of it, and how long it may take.
    max_head_bytes: int = Field(default=32 * KIB, ge=1 * KIB)
    max_target_bytes: int = Field(default=8 * KIB, ge=256)  # request line's URL
    head_timeout_s: float = Field(default=10.0, gt=0)
    # URLs (RequestLimits): a Digital Link path is ~60 bytes; 2 KiB is the classic bound.
    max_path_bytes: int = Field(default=2 * KIB, ge=64)
    max_query_bytes: int = Field(default=4 * KIB, ge=64)
    # Bodies (RequestLimits): capture documents are large, /rpc calls small, the rest
    # (pages, queries, downloads) take none worth the name.
    capture_body_bytes: int = Field(default=8 * KIB * KIB, ge=1 * KIB)
    rpc_body_bytes: int = Field(default=256 * KIB, ge=1 * KIB)
    import_body_bytes: int = Field(default=1024 * KIB, ge=1 * KIB)
    body_bytes: int = Field(default=16 * KIB, ge=0)
    body_timeout_s: float = Field(default=30.0, gt=0)
    # Capture (web.capture): events per document, advertised as GS1-EPCIS-Capture-Limit.
    capture_events: int = Field(default=1000, ge=1)
    capture_workers: int = Field(default=2, ge=1)
    capture_queue: int = Field(default=16, ge=0)
    # Jobs one client may have running (stored, not yet captured) at once (web.capture:
    # 429 beyond): a flood of 8 MiB documents would otherwise fill the records' disk.
    capture_running: int = Field(default=16, ge=1)
    # The /rpc bridge (web.server, ledger.evm.rpcbridge).
    rpc_batch: int = Field(default=DEFAULT_MAX_BATCH, ge=1)
    rpc_gas: int = Field(default=DEFAULT_GAS_CAP, ge=21_000)
    rpc_rate_per_s: float = Field(default=50.0, gt=0)  # calls per client IP, sustained
    rpc_burst: int = Field(default=500, ge=1)  # calls per client IP at once
    rpc_workers: int = Field(default=2, ge=1)
    rpc_queue: int = Field(default=16, ge=0)
    # The server (web.server): connections and tasks at once, and the accept queue.
    max_concurrency: int = Field(default=256, ge=1)
    backlog: int = Field(default=128, ge=1)
    json_limits: JsonLimits = JsonLimits()

    @model_validator(mode="after")
    def _batch_fits_the_burst(self) -> Limits:
        # A batch is charged as its calls: one longer than the burst could never be served.
        if self.rpc_batch > self.rpc_burst:
            raise ValueError(
                f"rpc_batch ({self.rpc_batch}) must not exceed rpc_burst ({self.rpc_burst})"
            )
        return self

    def body_limit(self, path: str) -> int:
        if path in CAPTURE_PATHS:
            return self.capture_body_bytes
        if path == RPC_PATH:
            return self.rpc_body_bytes
        if path in IMPORT_PATHS:
            return self.import_body_bytes
        return self.body_bytes

    def capture_headers(self) -> dict[str, str]:
        """The EPCIS REST binding's advertisement of the capture limits."""
        return {
            "GS1-EPCIS-Capture-Limit": str(self.capture_events),
            "GS1-EPCIS-Capture-File-Size-Limit": str(self.capture_body_bytes),
        }


class RequestLimits:
    """Pure ASGI middleware: URL length, body size and body deadline (module docstring)."""

    def __init__(self, app: ASGIApp, limits: Limits | None = None) -> None:
        self.app = app
        self.limits = limits or Limits()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            body = await self._admit(scope, receive)
        except Problem as refusal:
            refusal.headers.setdefault("Connection", "close")
            await refusal.response()(scope, receive, send)
            return
        if body is None:  # the client went away while sending
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # from here on only http.disconnect

        await self.app(scope, replay, send)

    async def _admit(self, scope: Scope, receive: Receive) -> bytes | None:
        limits = self.limits
        path = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
        if len(path) > limits.max_path_bytes:
            raise Problem(
                414,
                "URL too long",
                f"the path has {len(path)} bytes; the limit is {limits.max_path_bytes}: "
                "a Digital Link names one key and its qualifiers",
            )
        query = scope.get("query_string", b"")
        if len(query) > limits.max_query_bytes:
            raise Problem(
                414,
                "URL too long",
                f"the query has {len(query)} bytes; the limit is {limits.max_query_bytes}",
            )
        limit = limits.body_limit(scope["path"])
        declared = _content_length(Headers(scope=scope))
        if declared is not None and declared > limit:
            raise _too_large(scope["path"], limits, f"Content-Length {declared}")
        return await self._read(scope, receive, limit)

    async def _read(self, scope: Scope, receive: Receive, limit: int) -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        timeout = self.limits.body_timeout_s
        with anyio.move_on_after(timeout) as deadline:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return None
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    raise _too_large(scope["path"], self.limits, f"more than {limit} bytes")
                chunks.append(chunk)
                if not message.get("more_body", False):
                    return b"".join(chunks)
        assert deadline.cancelled_caught
        raise Problem(
            408,
            "request body too slow",
            f"the body did not arrive within {_seconds(timeout)} s ({size} bytes came); "
            "send it at once, or in smaller documents",
        )


def _too_large(path: str, limits: Limits, what: str) -> Problem:
    limit = limits.body_limit(path)
    if path in CAPTURE_PATHS:
        return Problem(
            413,
            "Capture Payload too large",
            f"{what}: a capture document may have {limit} bytes and "
            f"{limits.capture_events} events; split it into smaller documents",
            headers=limits.capture_headers(),
            type=CAPTURE_LIMIT_EXCEEDED,
        )
    return Problem(413, "request body too large", f"{what}: the limit of {path} is {limit} bytes")


def _content_length(headers: Headers) -> int | None:
    value = headers.get("content-length")
    if value is None:
        return None
    value = value.strip()
    # Digits only (int() would take "+1_0"); h11/httptools have refused worse already.
    if not value.isascii() or not value.isdigit() or len(value) > 19:
        raise Problem(400, "bad Content-Length", f"{value[:40]!r} is not a byte count")
    return int(value)


def _seconds(value: float) -> str:
    return str(int(value)) if math.isclose(value, round(value)) else f"{value:g}"
