"""`tracehub run` SIGKILLed between captures (issue #15): a webhook receiver and a
WebSocket client subscribed to one named query get every matching event, and none twice.

The hub runs as a child process. A partner stores the query "arrivals" and subscribes to
it twice: a webhook (HMAC-signed, checked by the receiver) and a WebSocket that
acknowledges what it keeps. Then, by ``POST /capture``:

1. batch A is captured and delivered to both; the hub is killed;
2. restarted, batch B is captured while the webhook receiver is down and the WebSocket
   client is away (both pending in the outbox); the hub is killed again;
3. restarted, the receiver is back on its port and the client reconnects with its
   subscription id; batch C is captured.

Each subscriber must end with exactly the arrivals of A, B and C, each once (the
shipping events in every batch match nothing).
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.support.events import object_event
from tests.support.site import Site, until
from traceability.records.store import RecordStore
from tracehub.receivers import Inbox, WebhookReceiver
from tracehub.services import InfluxDB, Mosquitto, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

TOKEN = "e2e-subscriber-hmac"
QUERY = {"name": "arrivals", "query": {"EQ_bizStep": ["arriving"]}}


class SocketClient:
    """A WebSocket subscriber in a thread: keeps each event's id, then acknowledges it."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token
        self.subscription: str | None = None
        self.received: list[str] = []
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._ws: Any = None

    def start(self) -> None:
        """Connect (resuming once it has a subscription) and read in a thread."""
        resuming = self.subscription is not None
        query = f"?subscriptionID={self.subscription}" if resuming else "?stream=true"
        hello: dict[str, Any] = {}
        ready = threading.Event()

        def run() -> None:
            try:
                with connect(
                    f"{self.url}{query}",
                    additional_headers={"Authorization": f"Bearer {self.token}"},
                    open_timeout=30,
                ) as ws:
                    self._ws = ws
                    hello.update(json.loads(ws.recv(timeout=30)))
                    ready.set()
                    self._read(ws)
            except (ConnectionClosed, OSError, TimeoutError):
                pass  # the hub died, or we closed
            finally:
                ready.set()

        self._thread = threading.Thread(target=run, name="ws-subscriber", daemon=True)
        self._thread.start()
        assert ready.wait(40)
        assert hello.get("resumed") is resuming, hello
        self.subscription = hello["subscriptionID"]

    def _read(self, ws: Any) -> None:
        while True:
            document = json.loads(ws.recv())
            ids = [e["eventID"] for e in _events(document)]
            with self._changed:
                self.received.extend(ids)
                self._changed.notify_all()
            ws.send(json.dumps({"ack": ids}))

    def wait_for(self, count: int, timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: len(self.received) >= count, timeout)

    def stop(self) -> None:
        if self._ws is not None:
            self._ws.close()
            self._ws = None
        if self._thread is not None:
            self._thread.join(timeout=10)


def _events(document: dict[str, Any]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = document["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    return events


@pytest.fixture
def site(tmp_path: Path, mosquitto: Mosquitto, influxdb: InfluxDB) -> Iterator[Site]:
    state = tmp_path / "state"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "COLUMNS": "300",
        "TRACEHUB_STATE_DIR": str(state),
        "TRACEHUB_SITE": "subscriptions",
        "TRACEHUB_WEB_PORT": str(free_port()),
        "TRACEHUB_MQTT_PORT": str(mosquitto.port),
        "TRACEHUB_MQTT_SECURITY": "plain",
        "TRACEHUB_MQTT_CLIENT_ID": f"gw-{uuid.uuid4().hex[:8]}",
        "TRACEHUB_INFLUX_URL": influxdb.url,
        "TRACEHUB_INFLUX_DATABASE": f"subs_{uuid.uuid4().hex[:8]}",
        "TRACEHUB_CHAIN_ANCHOR_INTERVAL_S": "0.5",
        "TRACEHUB_SUBSCRIPTIONS_POLL_S": "0.5",
        "TRACEHUB_SUBSCRIPTIONS_PUBLIC_ONLY": "false",  # the receiver is on loopback
    }
    running = Site(state, env)
    yield running
    if running.proc is not None:
        running.proc.terminate()
        running.proc.wait(timeout=60)
        assert running.proc.stdout is not None
        running.proc.stdout.close()


def _records(site: Site) -> RecordStore:
    return RecordStore.open(f"sqlite:///{site.state / 'records.db'}")


def _capture(site: Site, token: str, batch: str) -> set[str]:
    """Three arrivals and a shipment; the arrivals' event ids, once the job succeeded."""
    events = [
        object_event(serial=f"{batch}{i}", time=f"2026-11-22T10:0{i}:00.000Z") for i in range(3)
    ]
    events.append(object_event(serial=f"{batch}9") | {"bizStep": "shipping"})
    document = {
        "@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-11-22T10:00:00.000Z",
        "epcisBody": {"eventList": events},
    }
    auth = {"Authorization": f"Bearer {token}"}
    answer = httpx.post(f"{site.url}/capture", json=document, headers=auth, timeout=30)
    assert answer.status_code == 202, answer.text
    job_url = f"{site.url}{answer.headers['Location']}"
    finished: dict[str, Any] = {}

    def done() -> bool:
        finished.update(httpx.get(job_url, headers=auth, timeout=10).json())
        return not finished.get("running", True)

    assert until(done, 60), finished
    assert finished["success"], finished
    arrivals = {e["epcList"][0] for e in events[:3]}
    store = _records(site)
    try:
        return {
            e.id for e in store.query_events(limit=10_000) if e.document()["epcList"][0] in arrivals
        }
    finally:
        store.close()


def _pending(site: Site, subscription: str) -> int:
    store = _records(site)
    try:
        return store.subscription_counts(subscription).pending
    finally:
        store.close()


def test_a_sigkilled_hub_loses_no_subscribed_event_and_delivers_none_twice(
    site: Site,
) -> None:
    site.start()
    store = _records(site)
    try:
        token = store.add_client("partner", ["capture", "subscribe", "read"]).token
    finally:
        store.close()
    auth = {"Authorization": f"Bearer {token}"}
    inbox = Inbox()
    port = free_port()
    webhook = WebhookReceiver(TOKEN, inbox, port=port, signature_header="GS1-Signature").start()
    socket = SocketClient(f"{site.url.replace('http', 'ws', 1)}/queries/arrivals/events", token)
    try:
        assert httpx.post(f"{site.url}/queries", json=QUERY, headers=auth).status_code == 201
        made = httpx.post(
            f"{site.url}/queries/arrivals/subscriptions",
            json={"dest": webhook.url, "signatureToken": TOKEN, "stream": True},
            headers=auth,
        )
        assert made.status_code == 201, made.text
        hook = made.json()["subscriptionID"]
        socket.start()
        stream = socket.subscription
        assert stream is not None

        # 1. Delivered to both, then the hub dies.
        wanted = _capture(site, token, "1")
        assert until(lambda: _pending(site, hook) == 0 and _pending(site, stream) == 0)
        site.kill()
        socket.stop()  # its connection died with the hub
        webhook.stop()

        # 2. Captured while both subscribers are away; the hub dies with them pending.
        site.start()
        wanted |= _capture(site, token, "2")
        assert _pending(site, stream) == 3
        assert _pending(site, hook) == 3
        site.kill()

        # 3. Both back; one more batch.
        site.start()
        webhook = WebhookReceiver(TOKEN, inbox, port=port, signature_header="GS1-Signature")
        webhook.start()
        socket.start()  # resumes its subscription
        wanted |= _capture(site, token, "3")
        assert len(wanted) == 9
        assert socket.wait_for(9, 60), socket.received
        assert inbox.wait_for(
            lambda items: sum(len(_events(i.payload or {})) for i in items) >= 9, 90
        ), inbox.items
        assert until(lambda: _pending(site, hook) == 0 and _pending(site, stream) == 0)
    finally:
        socket.stop()
        webhook.stop()

    by_webhook = Counter(e["eventID"] for item in inbox.items for e in _events(item.payload or {}))
    assert set(by_webhook) == wanted  # nothing lost, no shipping event
    assert [i for i, n in by_webhook.items() if n > 1] == []  # nothing twice
    by_socket = Counter(socket.received)
    assert set(by_socket) == wanted
    assert [i for i, n in by_socket.items() if n > 1] == []
    for item in inbox.items:
        assert item.payload is not None
        assert item.payload["epcisBody"]["queryResults"]["subscriptionID"] == hook
