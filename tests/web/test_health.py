"""``/healthz`` and ``/readyz`` under the real web server: readiness answers 200 or 503 with
the components, and liveness answers at once even while a readiness check hangs."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from supervision.status import ComponentState, ComponentStatus, Failure, Readiness
from web.health import healthz, readyz
from web.server import WebServer


class Source:
    def __init__(self, *components: ComponentStatus) -> None:
        self.components = components
        self.entered = threading.Event()
        self.release = threading.Event()
        self.release.set()

    def readiness(self) -> Readiness:
        self.entered.set()
        self.release.wait(30)
        return Readiness(components=self.components)


def _server(source: Source | None) -> WebServer:
    app = Starlette(routes=[Route("/healthz", healthz), Route("/readyz", readyz)])
    app.state.readiness = source
    return WebServer(app, "127.0.0.1", 0)


@pytest.fixture
def serve() -> Iterator[list[WebServer]]:
    started: list[WebServer] = []
    yield started
    for server in started:
        server.stop()


def _url(serve: list[WebServer], source: Source | None) -> str:
    server = _server(source)
    server.start()
    serve.append(server)
    return server.url


def test_ready_is_200_and_not_ready_is_503_with_the_error(serve: list[WebServer]) -> None:
    good = ComponentStatus(name="anchoring", state=ComponentState.RUNNING)
    url = _url(serve, Source(good))
    response = httpx.get(f"{url}/readyz", timeout=10)
    assert response.status_code == 200
    assert response.json()["components"][0]["name"] == "anchoring"
    bad = ComponentStatus(
        name="anchoring",
        state=ComponentState.RESTARTING,
        healthy=False,
        restarts=2,
        last_error=Failure.of(RuntimeError("boom")),
    )
    url = _url(serve, Source(good.model_copy(update={"name": "web"}), bad))
    response = httpx.get(f"{url}/readyz", timeout=10)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    assert body["components"][1]["last_error"]["message"] == "boom"


def test_without_a_source_it_is_not_ready(serve: list[WebServer]) -> None:
    response = httpx.get(f"{_url(serve, None)}/readyz", timeout=10)
    assert response.status_code == 503
    assert response.json()["reason"] == "no readiness source wired"


def test_healthz_answers_while_a_readiness_check_hangs(serve: list[WebServer]) -> None:
    source = Source(ComponentStatus(name="chain", state=ComponentState.RUNNING))
    source.release.clear()  # the check hangs (a dead node) until released
    url = _url(serve, source)
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(httpx.get, f"{url}/readyz", timeout=30)
        assert source.entered.wait(10)
        started = time.perf_counter()
        health = httpx.get(f"{url}/healthz", timeout=10)
        took = time.perf_counter() - started
        source.release.set()
        assert pending.result().status_code == 200
    assert health.status_code == 200
    assert took < 0.5  # the check runs off the event loop
