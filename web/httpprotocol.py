"""The HTTP/1.1 protocol the web server speaks: uvicorn's httptools protocol with a
deadline and a size bound on the request head.

uvicorn 0.54 times out idle keep-alive connections but not a request head that arrives
slowly (a slowloris sends one header line every few seconds and holds the connection
forever), nor one that never ends (httptools keeps every header byte it is given). So:

* a connection must deliver a complete request head within ``head_timeout_s`` of
  opening, or of the first byte of its next request (until then uvicorn's keep-alive
  timeout applies); otherwise it gets 408 and is closed;
* the request target may have ``max_target_bytes`` (414) and the whole head
  ``max_head_bytes`` (431), checked while it is parsed, before any ASGI task exists.

The body's deadline and size are the app's (``web.limits.RequestLimits``).
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from web.limits import Limits

_REASONS = {
    408: "the request head did not arrive in time",
    414: "the request target is too long",
    431: "the request head is too large",
}


class _HeadRefused(Exception):  # noqa: N818 - a signal out of the parser's callback
    """Raised in a parser callback to stop parsing; uvicorn then answers us."""


class BoundedHttpProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` with the head bounds of ``limits`` (see the module)."""

    limits: Limits = Limits()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_bytes = 0  # bytes received while the head is read
        self._parsed_bytes = 0  # of them, the target and headers the parser reported
        self._refusal: int | None = None
        self._head_timer: asyncio.TimerHandle | None = None
        self._reading_head = False
        self._start_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head()
        super().connection_lost(exc)

    def _start_head(self) -> None:
        if self._reading_head:
            return
        self._reading_head = True
        self._head_bytes = self._parsed_bytes = 0
        self._head_timer = self.loop.call_later(self.limits.head_timeout_s, self._head_late)

    def _stop_head(self) -> None:
        self._reading_head = False
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_late(self) -> None:
        self._head_timer = None
        if not self._reading_head or self.transport.is_closing():
            return
        if self.cycle is None or self.cycle.response_complete:
            self._refuse(408)
        else:  # a pipelined head behind a running request: just close
            self.transport.close()

    def _count(self, size: int, status: int, limit: int) -> None:
        self._parsed_bytes += size
        if self._parsed_bytes > limit:
            self._refusal = status
            raise _HeadRefused

    def data_received(self, data: bytes) -> None:
        # httptools reports a header only once it ends, and grows an unfinished value by
        # copying: one endless header would never be counted and would cost quadratic CPU
        # on the event loop. So every byte that arrives while the head is read counts.
        # Judged after the parser has seen the chunk: one read may hold a small head and
        # the start of a large body, and the head ends inside it (no longer reading it).
        if self._reading_head:
            self._head_bytes += len(data)
        super().data_received(data)
        if (
            self._reading_head
            and self._head_bytes > self.limits.max_head_bytes
            and not self.transport.is_closing()
        ):
            self._refuse(431)

    # parser callbacks ----------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._start_head()  # the next request of a kept-alive connection
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._count(len(url), 414, self.limits.max_target_bytes)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4, 431, self.limits.max_head_bytes)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._stop_head()
        super().on_headers_complete()

    # answers -------------------------------------------------------------------------

    def send_400_response(self, msg: str) -> None:
        # uvicorn answers 400 for any parser error, ours included: say which it was.
        if self._refusal is not None:
            self._refuse(self._refusal)
        else:
            super().send_400_response(msg)

    def _refuse(self, status: int) -> None:
        self._stop_head()
        reason = _REASONS[status]
        self.logger.warning("refused a request head: %s", reason)
        self.transport.write(
            b"".join(
                [
                    STATUS_LINE[status],
                    b"content-type: text/plain; charset=utf-8\r\n",
                    b"content-length: " + str(len(reason)).encode("ascii") + b"\r\n",
                    b"connection: close\r\n\r\n",
                    reason.encode("ascii"),
                ]
            )
        )
        self.transport.close()


def bounded_protocol(limits: Limits) -> type[BoundedHttpProtocol]:
    """The protocol class for ``uvicorn.Config(http=…)`` with these limits."""
    return type("BoundedHttpProtocol", (BoundedHttpProtocol,), {"limits": limits})
