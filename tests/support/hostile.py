"""Attacks on a running web server, as a client on the network would make them, and
the liveness they leave: each runs in a thread while ``/healthz`` is polled."""

from __future__ import annotations

import contextlib
import socket
import statistics
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar

import httpx
from starlette.applications import Starlette

from web.limits import Limits
from web.server import WebServer

T = TypeVar("T")
# The numbers: an attack is answered within 1 s, /healthz within 100 ms while
# it runs. A loaded 2-core CI machine stalls now and then, so liveness is the 90th
# percentile of the polls (one stall of the test's own thread is not the server's).
ANSWER_WITHIN_S = 1.0
HEALTHZ_WITHIN_S = 0.1


@contextmanager
def serving(app: Starlette, limits: Limits | None = None) -> Iterator[str]:
    """``app`` under the real web server (uvicorn, bounded protocol) on a free port."""
    server = WebServer(app, "127.0.0.1", 0, limits=limits)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@dataclass(frozen=True)
class Outcome(Generic[T]):
    result: T
    seconds: float  # how long the attack took to be answered
    healthz: list[float]  # latencies of the /healthz polls made meanwhile

    @property
    def healthz_p90(self) -> float:
        ordered = sorted(self.healthz)
        return ordered[max(0, round(0.9 * len(ordered)) - 1)]

    def describe(self) -> str:
        median = statistics.median(self.healthz)
        return (
            f"answered in {self.seconds:.3f} s; /healthz ×{len(self.healthz)}: "
            f"median {median * 1000:.1f} ms, p90 {self.healthz_p90 * 1000:.1f} ms, "
            f"max {max(self.healthz) * 1000:.1f} ms"
        )


def under_attack(url: str, attack: Callable[[], T], min_polls: int = 5) -> Outcome[T]:
    """Run ``attack`` in a thread; poll ``url``/healthz until it is answered (at least
    ``min_polls`` times, the first while it runs)."""
    latencies: list[float] = []
    with httpx.Client(timeout=5) as client, ThreadPoolExecutor(1) as pool:
        client.get(f"{url}/healthz")  # connection made before the clock starts
        start = time.perf_counter()
        future = pool.submit(attack)
        done_at: float | None = None
        while done_at is None or len(latencies) < min_polls:
            began = time.perf_counter()
            answer = client.get(f"{url}/healthz")
            latencies.append(time.perf_counter() - began)
            assert answer.status_code == 200, answer.text
            if done_at is None and future.done():
                done_at = time.perf_counter()
            time.sleep(0.005)  # a poll every ~5 ms: many samples, no busy loop
        result = future.result()
    # The attack's own time, measured in its thread, is in its result when it matters;
    # this bound is from submission to when the poller saw it done.
    return Outcome(result, done_at - start, latencies)


def raw_exchange(
    url: str, chunks: Callable[[socket.socket], None], timeout: float = 10.0
) -> tuple[int, float]:
    """Open a socket, let ``chunks`` write (slowly, hugely) until the server answers or
    closes; return the status (0: closed without one) and the seconds it took."""
    host, port = url.removeprefix("http://").split(":")
    start = time.perf_counter()
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        # the server may answer and close while we are still sending
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            chunks(sock)
        status = read_status(sock)
    return status, time.perf_counter() - start


def read_status(sock: socket.socket) -> int:
    data = b""
    try:
        while b"\r\n" not in data:
            more = sock.recv(4096)
            if not more:
                break
            data += more
    except (ConnectionResetError, TimeoutError):
        pass
    line = data.split(b"\r\n", 1)[0].split()
    return int(line[1]) if len(line) > 1 and line[1].isdigit() else 0


def answered(sock: socket.socket) -> bool:
    """Whether the server has sent something (or closed) on ``sock`` yet."""
    sock.setblocking(False)
    try:
        return sock.recv(1, socket.MSG_PEEK) is not None
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        sock.setblocking(True)
