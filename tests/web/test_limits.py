"""Bounded requests against the running web server: URL length, body size (declared and
streamed) and body deadline, each answered within the issue's 1 s while /healthz
answers within 100 ms (``tests.support.hostile``); and the limits' own rules."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest
from pydantic import ValidationError

from tests.support.hostile import (
    ANSWER_WITHIN_S,
    HEALTHZ_WITHIN_S,
    answered,
    raw_exchange,
    serving,
    under_attack,
)
from tests.support.webapp import bearer
from traceability.records.store import RecordStore
from web.app import create_app
from web.limits import CAPTURE_LIMIT_EXCEEDED, Limits

FIFTY_MB = 50 * 1024 * 1024
LIMITS = Limits(head_timeout_s=0.5, body_timeout_s=0.5)


@pytest.fixture
def site(stocked: RecordStore) -> Iterator[str]:
    with serving(create_app(stocked, None, "test chain", limits=LIMITS), LIMITS) as url:
        yield url


def _head(path: str, *headers: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", *headers, "", ""]
    return "\r\n".join(lines).encode()


def test_a_declared_50_mb_body_is_refused_before_a_byte_is_read(site: str) -> None:
    def attack() -> tuple[int, float]:
        return raw_exchange(
            site,
            lambda sock: sock.sendall(
                _head(
                    "/epcis/capture",
                    "Content-Type: application/json",
                    f"Content-Length: {FIFTY_MB}",
                )
            ),
        )

    outcome = under_attack(site, attack)
    status, seconds = outcome.result
    assert status == 413, outcome.describe()
    assert seconds < ANSWER_WITHIN_S, outcome.describe()
    assert outcome.healthz_p90 < HEALTHZ_WITHIN_S, outcome.describe()


def test_a_streamed_50_mb_body_is_cut_at_the_capture_limit(site: str) -> None:
    chunk = b"x" * (256 * 1024)
    sent = [0]

    def stream(sock: socket.socket) -> None:
        sock.sendall(
            _head("/epcis/capture", "Content-Type: application/json", "Transfer-Encoding: chunked")
        )
        while sent[0] < FIFTY_MB and not answered(sock):
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent[0] += len(chunk)

    outcome = under_attack(site, lambda: raw_exchange(site, stream))
    status, seconds = outcome.result
    assert status == 413, outcome.describe()
    assert seconds < ANSWER_WITHIN_S, outcome.describe()
    assert outcome.healthz_p90 < HEALTHZ_WITHIN_S, outcome.describe()
    # cut at the limit: what the client got out is the limit plus what the loopback's
    # socket buffers held in flight (several MB), far from the 50 MB offered
    assert sent[0] < FIFTY_MB // 2


def test_a_body_sent_slowly_times_out(site: str) -> None:
    def trickle(sock: socket.socket) -> None:
        sock.sendall(
            _head("/epcis/capture", "Content-Type: application/json", "Content-Length: 1000")
        )
        for _ in range(50):  # one byte every 50 ms: 2.5 s for 50 bytes, were it let be
            if answered(sock):
                return
            sock.sendall(b" ")
            time.sleep(0.05)

    outcome = under_attack(site, lambda: raw_exchange(site, trickle))
    status, seconds = outcome.result
    assert status == 408, outcome.describe()
    assert LIMITS.body_timeout_s <= seconds < LIMITS.body_timeout_s + ANSWER_WITHIN_S
    assert outcome.healthz_p90 < HEALTHZ_WITHIN_S, outcome.describe()


def test_a_100000_segment_digital_link_is_refused(site: str) -> None:
    path = "/01/09520123456788" + "/10/L1" * 100_000

    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()

    def attack() -> tuple[int, float]:  # a raw socket: httpx refuses such URLs itself
        return raw_exchange(site, lambda sock: sock.sendall(request))

    outcome = under_attack(site, attack)
    status, seconds = outcome.result
    assert status == 414, outcome.describe()
    assert seconds < ANSWER_WITHIN_S, outcome.describe()
    assert outcome.healthz_p90 < HEALTHZ_WITHIN_S, outcome.describe()


def test_a_long_path_is_refused_with_a_problem_naming_the_limit(site: str) -> None:
    path = "/01/09520123456788/10/" + "L" * 3000  # under the head bound, over the path's
    answer = httpx.get(site + path, timeout=10)
    assert answer.status_code == 414
    assert answer.headers["content-type"] == "application/problem+json"
    assert str(LIMITS.max_path_bytes) in answer.json()["detail"]
    long_query = httpx.get(f"{site}/healthz?q={'x' * 5000}", timeout=10)
    assert long_query.status_code == 414


@pytest.mark.parametrize("path", ["/capture", "/epcis/capture"])
def test_the_capture_refusal_is_the_epcis_one(site: str, stocked: RecordStore, path: str) -> None:
    answer = httpx.post(
        f"{site}{path}",
        content=b"[" + b" " * (LIMITS.capture_body_bytes + 1) + b"]",
        headers={"Content-Type": "application/json", **bearer(stocked, "capture")},
        timeout=30,
    )
    assert answer.status_code == 413
    assert answer.json()["type"] == CAPTURE_LIMIT_EXCEEDED
    assert answer.headers["GS1-EPCIS-Capture-File-Size-Limit"] == str(LIMITS.capture_body_bytes)
    assert answer.headers["GS1-EPCIS-Capture-Limit"] == str(LIMITS.capture_events)


def test_other_routes_take_small_bodies_only(site: str) -> None:
    answer = httpx.post(f"{site}/healthz", content=b"x" * (LIMITS.body_bytes + 1), timeout=10)
    assert answer.status_code == 413
    assert "16384 bytes" in answer.json()["detail"]
    assert httpx.get(f"{site}/healthz", timeout=10).status_code == 200


def test_a_malformed_content_length_is_refused(site: str) -> None:
    status, _ = raw_exchange(
        site, lambda sock: sock.sendall(_head("/healthz", "Content-Length: +1_0"))
    )
    assert status == 400


def test_limits_are_frozen_and_validated() -> None:
    with pytest.raises(ValidationError):
        Limits(capture_events=0)
    with pytest.raises(ValidationError):
        LIMITS.capture_events = 5  # type: ignore[misc]
    assert Limits().body_limit("/epcis/capture") > Limits().body_limit("/rpc")
    assert Limits().body_limit("/rpc") > Limits().body_limit("/01/x")


def test_an_rpc_batch_longer_than_the_burst_is_refused_at_start() -> None:
    # A batch is charged as its calls; one longer than the burst could never be served.
    with pytest.raises(ValueError, match="rpc_batch"):
        Limits(rpc_batch=600, rpc_burst=500)
