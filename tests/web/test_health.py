"""``/healthz`` and ``/readyz`` under the real web server: readiness answers 200 or 503 with
the components, and liveness answers at once even while a readiness check hangs."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from supervision.status import ComponentState, ComponentStatus, Failure, Readiness
from traceability.records.store import RecordStore
from web.access import Access
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


async def _ask(app: Starlette, headers: dict[str, str] | None = None) -> dict[str, object]:
    # From another machine: the transport names a public client address.
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
        response = await client.get("/readyz", headers=headers or {})
    assert response.status_code == 503
    body: dict[str, object] = response.json()
    return body


def test_errors_go_only_to_this_machine_or_an_admin(tmp_path: Path) -> None:
    import anyio

    store = RecordStore.open(f"sqlite:///{tmp_path / 'records.db'}")
    admin = store.add_client("ops", ["admin"]).token
    reader = store.add_client("erp", ["read", "capture"]).token
    bad = ComponentStatus(
        name="anchoring",
        state=ComponentState.RESTARTING,
        healthy=False,
        last_error=Failure.of(RuntimeError("cannot reach postgresql://db.internal:5432")),
    )
    app = Starlette(routes=[Route("/readyz", readyz)])
    app.state.readiness = Source(bad)
    app.state.access = Access(store)
    try:
        anyone = anyio.run(_ask, app)
        assert anyone["components"] == [
            {"name": "anchoring", "ready": False, "state": "restarting"}
        ]
        assert "db.internal" not in json.dumps(anyone)
        assert "admin" in str(anyone["detail"])
        not_admin = anyio.run(_ask, app, {"Authorization": f"Bearer {reader}"})
        assert "db.internal" not in json.dumps(not_admin)
        forged = anyio.run(_ask, app, {"Authorization": "Bearer thc_0000_forged"})
        assert "db.internal" not in json.dumps(forged)
        ops = anyio.run(_ask, app, {"Authorization": f"Bearer {admin}"})
        assert "db.internal" in json.dumps(ops)
    finally:
        store.close()


def test_errors_show_to_a_caller_on_this_machine(serve: list[WebServer]) -> None:
    bad = ComponentStatus(
        name="anchoring",
        state=ComponentState.RESTARTING,
        healthy=False,
        last_error=Failure.of(RuntimeError("boom")),
    )
    body = httpx.get(f"{_url(serve, Source(bad))}/readyz", timeout=10).json()
    assert body["components"][0]["last_error"]["message"] == "boom"
