"""The bounded HTTP protocol over real sockets: a slowloris on the request head gets
408 at the deadline while /healthz keeps answering, an endless head 431, an endless
request target 414; ordinary and kept-alive requests are untouched."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from tests.support.hostile import (
    ANSWER_WITHIN_S,
    HEALTHZ_WITHIN_S,
    answered,
    raw_exchange,
    serving,
    under_attack,
)
from web.health import healthz
from web.limits import Limits

LIMITS = Limits(head_timeout_s=0.5)


async def _echo_length(request: Request) -> PlainTextResponse:
    return PlainTextResponse(str(len(await request.body())))


@pytest.fixture
def site() -> Iterator[str]:
    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/", lambda _r: PlainTextResponse("hello")),
            Route("/echo", _echo_length, methods=["POST"]),
        ]
    )
    with serving(app, LIMITS) as url:
        yield url


def test_a_slowloris_on_the_head_gets_408_at_the_deadline(site: str) -> None:
    def slowloris(sock: socket.socket) -> None:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        for n in range(100):  # a header line every 50 ms, never the blank line
            if answered(sock):
                return
            sock.sendall(b"X-Slow-%d: 1\r\n" % n)
            time.sleep(0.05)

    outcome = under_attack(site, lambda: raw_exchange(site, slowloris))
    status, seconds = outcome.result
    assert status == 408, outcome.describe()
    assert LIMITS.head_timeout_s <= seconds < LIMITS.head_timeout_s + ANSWER_WITHIN_S
    assert outcome.healthz_p90 < HEALTHZ_WITHIN_S, outcome.describe()


def test_a_connection_that_sends_nothing_is_closed_at_the_deadline(site: str) -> None:
    status, seconds = raw_exchange(site, lambda _sock: None)
    assert status == 408
    assert seconds < LIMITS.head_timeout_s + ANSWER_WITHIN_S


def test_an_endless_head_gets_431(site: str) -> None:
    def flood(sock: socket.socket) -> None:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        for n in range(10_000):
            if answered(sock):
                return
            sock.sendall(b"X-Flood-%d: %s\r\n" % (n, b"y" * 1000))

    status, seconds = raw_exchange(site, flood)
    assert status == 431
    assert seconds < ANSWER_WITHIN_S


def test_one_endless_header_value_gets_431(site: str) -> None:
    # httptools reports a header only when it ends and grows its value by copying: one
    # that never ends is counted by the bytes received, not by the parser.
    def flood(sock: socket.socket) -> None:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Endless: ")
        for _ in range(50_000):  # 50 MB if nothing stopped it
            if answered(sock):
                return
            sock.sendall(b"y" * 1000)

    outcome = under_attack(site, lambda: raw_exchange(site, flood))
    status, seconds = outcome.result
    assert status == 431, outcome.describe()
    assert seconds < ANSWER_WITHIN_S
    assert outcome.healthz_p90 < HEALTHZ_WITHIN_S, outcome.describe()


def test_a_small_head_with_a_large_body_in_one_write_passes(site: str) -> None:
    body = b"x" * (3 * LIMITS.max_head_bytes)  # one read holds the head and more than a head
    head = (
        b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body)
    )
    with socket.create_connection(site.removeprefix("http://").split(":")) as sock:  # type: ignore[arg-type]
        sock.settimeout(10)
        sock.sendall(head + body)
        reply = b""
        while chunk := sock.recv(4096):  # to the end: the server closes
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 200"), reply[:200]
    assert reply.endswith(b"%d" % len(body))


def test_an_endless_request_target_gets_414(site: str) -> None:
    def flood(sock: socket.socket) -> None:
        sock.sendall(b"GET /")
        for _ in range(10_000):
            if answered(sock):
                return
            sock.sendall(b"a" * 1000)

    status, seconds = raw_exchange(site, flood)
    assert status == 414
    assert seconds < ANSWER_WITHIN_S


def test_ordinary_and_kept_alive_requests_pass(site: str) -> None:
    with httpx.Client(timeout=5) as client:
        for _ in range(3):
            assert client.get(f"{site}/").text == "hello"
    # A kept-alive connection idle past the head deadline, then a whole request at once:
    # the deadline counts from the request's first byte, not from the last response.
    host, port = site.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        request = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        sock.sendall(request)
        assert _response(sock).startswith(b"HTTP/1.1 200")
        time.sleep(LIMITS.head_timeout_s + 0.2)  # uvicorn's keep-alive timeout is 5 s
        sock.sendall(request)
        assert _response(sock).startswith(b"HTTP/1.1 200")  # the same connection


def _response(sock: socket.socket) -> bytes:
    """One whole response of the hello route (its body ends it)."""
    data = b""
    while not data.endswith(b"hello"):
        more = sock.recv(4096)
        assert more, f"closed after {data!r}"
        data += more
    return data
