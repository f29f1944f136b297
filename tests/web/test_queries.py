"""``/queries…`` over the real app (Starlette test client, real SQLite records): named
queries, webhook subscriptions delivered to a real receiver, WebSocket subscriptions
with acks and resumption, the binding's problem types, and who may do what."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from starlette.websockets import WebSocketDisconnect

from tests.support.events import COLD_ROOM, object_event
from tests.support.webapp import bearer, make_client
from traceability.records.store import RecordStore
from traceability.subscriptions.delivery import WebhookDelivery
from traceability.subscriptions.service import Subscriptions
from tracehub.receivers import Inbox, WebhookReceiver
from web.app import create_app

if TYPE_CHECKING:
    from starlette.testclient import TestClient

pytestmark = pytest.mark.filterwarnings(
    "ignore:Using `httpx` with `starlette.testclient` is deprecated"
)
TOKEN = "partner-hmac-key"
ARRIVALS = {"name": "arrivals", "query": {"EQ_bizStep": ["arriving"]}}


class Site:
    def __init__(self, store: RecordStore, client: TestClient) -> None:
        self.store = store
        self.client = client
        self.subscriber = bearer(store, "subscribe", "read", "capture", name="partner")
        self.rival = bearer(store, "subscribe", name="rival")
        self.reader = bearer(store, "read", name="reader")

    def capture(self, *events: dict[str, Any]) -> None:
        document = {
            "@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],
            "type": "EPCISDocument",
            "schemaVersion": "2.0",
            "creationDate": "2026-11-22T10:00:00Z",
            "epcisBody": {"eventList": list(events)},
        }
        answer = self.client.post("/capture", json=document, headers=self.subscriber)
        assert answer.status_code in (201, 202), answer.text
        job = self.client.get(answer.headers["Location"], headers=self.subscriber).json()
        assert job.get("success", True), job


@pytest.fixture
def subs(tmp_path: Path) -> Iterator[Subscriptions]:
    store = RecordStore.open(f"sqlite:///{tmp_path / 'records.db'}")
    yield Subscriptions(store, public_only=False)  # loopback receivers
    store.close()


@pytest.fixture
def site(subs: Subscriptions) -> Iterator[Site]:
    with make_client(create_app(subs.store, None, "embedded EVM", subscriptions=subs)) as client:
        yield Site(subs.store, client)


@pytest.fixture
def receiver() -> Iterator[tuple[Inbox, WebhookReceiver]]:
    got = Inbox()
    webhook = WebhookReceiver(TOKEN, got, signature_header="GS1-Signature").start()
    yield got, webhook
    webhook.stop()


def _denied(client: TestClient, url: str, headers: dict[str, str]) -> int:
    """The HTTP status a refused WebSocket handshake was answered with."""
    from starlette.testclient import WebSocketDenialResponse

    try:
        with client.websocket_connect(url, headers=headers):
            pass
    except WebSocketDenialResponse as denied:
        return int(denied.status_code)
    raise AssertionError(f"{url}: the handshake was accepted")


def _event_ids(document: dict[str, Any]) -> list[str]:
    return [e["eventID"] for e in document["epcisBody"]["queryResults"]["resultsBody"]["eventList"]]


def test_a_named_query_is_created_listed_run_and_deleted(site: Site) -> None:
    c, who = site.client, site.subscriber
    created = c.post("/queries", json=ARRIVALS, headers=who)
    assert created.status_code == 201, created.text
    assert created.headers["Location"] == "/queries/arrivals"
    assert created.headers["GS1-EPCIS-Version"] == "2.0.0"
    again = c.post("/queries", json=ARRIVALS, headers=who)
    assert again.status_code == 409
    assert again.json()["type"] == "epcisException:ResourceAlreadyExistsException"
    for name in ("b-query", "c-query"):
        assert c.post("/queries", json={"name": name, "query": {}}, headers=who).status_code == 201
    first = c.get("/queries?perPage=2", headers=who)
    assert [q["name"] for q in first.json()] == ["arrivals", "b-query"]
    rest = c.get(first.links["next"]["url"], headers=who)
    assert [q["name"] for q in rest.json()] == ["c-query"]
    assert "next" not in rest.links
    assert c.get("/queries/arrivals", headers=who).json() == ARRIVALS

    site.capture(object_event(serial="1001"), object_event(serial="1002") | {"bizStep": "shipping"})
    site.capture(object_event(serial="1003", read_point=COLD_ROOM))
    page = c.get("/queries/arrivals/events?perPage=1", headers=who)
    assert page.status_code == 200, page.text
    assert page.json()["epcisBody"]["queryResults"]["queryName"] == "arrivals"
    ids = _event_ids(page.json())
    while "next" in page.links:
        page = c.get(page.links["next"]["url"], headers=who)
        ids += _event_ids(page.json())
    assert len(ids) == len(set(ids)) == 2  # the two arrivals, each once

    assert c.delete("/queries/arrivals", headers=who).status_code == 204
    gone = c.get("/queries/arrivals", headers=who)
    assert gone.status_code == 404
    assert gone.json()["type"] == "epcisException:NoSuchNameException"


def test_a_bad_query_names_its_parameter_and_named_queries_need_the_subscribe_scope(
    site: Site,
) -> None:
    c = site.client
    bad = c.post(
        "/queries", json={"name": "x", "query": {"EQ_colour": ["red"]}}, headers=site.subscriber
    )
    assert bad.status_code == 400
    assert bad.json()["type"] == "epcisException:QueryParameterException"
    assert "EQ_colour" in bad.json()["detail"]
    assert c.post("/queries", json=ARRIVALS).status_code == 401
    refused = c.post("/queries", json=ARRIVALS, headers=site.reader)
    assert refused.status_code == 403
    assert "subscribe" in refused.json()["detail"]
    assert c.get("/queries/nothing/events", headers=site.subscriber).status_code == 404
    c.post("/queries", json=ARRIVALS, headers=site.subscriber)
    # Reads too: which lots a partner follows is not for every reader.
    for path in ("/queries", "/queries/arrivals", "/queries/arrivals/events"):
        read_only = c.get(path, headers=site.reader)
        assert read_only.status_code == 403, path
        assert "subscribe" in read_only.json()["detail"]
    forged = c.get("/queries/arrivals/events?nextPageToken=forged", headers=site.subscriber)
    assert forged.status_code == 400
    assert "nextPageToken" in forged.json()["detail"]
    unknown = c.get("/queries/x/events?stream=true", headers=site.subscriber)
    assert unknown.status_code == 400
    assert "WebSocket" in unknown.json()["detail"]


def test_a_webhook_subscription_is_delivered_signed_and_shown_to_its_owner_only(
    site: Site, subs: Subscriptions, receiver: tuple[Inbox, WebhookReceiver]
) -> None:
    got, webhook = receiver
    c, who = site.client, site.subscriber
    c.post("/queries", json=ARRIVALS, headers=who)
    scheduled = c.post(
        "/queries/arrivals/subscriptions",
        json={"dest": webhook.url, "schedule": {"hour": "1", "minute": "5"}},
        headers=who,
    )
    assert scheduled.status_code == 400
    assert scheduled.json()["type"] == "epcisException:SubscriptionControlsException"
    made = c.post(
        "/queries/arrivals/subscriptions",
        json={"dest": webhook.url, "signatureToken": TOKEN, "stream": True},
        headers=who,
    )
    assert made.status_code == 201, made.text
    sid = made.json()["subscriptionID"]
    assert made.headers["Location"] == f"/queries/arrivals/subscriptions/{sid}"
    assert "signatureToken" not in made.json()
    assert made.json()["dest"] == webhook.url

    site.capture(object_event(serial="1001"), object_event(serial="1002") | {"bizStep": "shipping"})
    assert WebhookDelivery(subs).run_once() == 1
    (item,) = got.items
    assert item.payload is not None
    assert item.payload["epcisBody"]["queryResults"]["subscriptionID"] == sid
    shown = c.get(f"/queries/arrivals/subscriptions/{sid}", headers=who).json()
    assert shown["pendingEvents"] == 0
    assert "lastNotifiedAt" in shown
    assert [
        s["subscriptionID"] for s in c.get("/queries/arrivals/subscriptions", headers=who).json()
    ] == [sid]

    assert c.get("/queries/arrivals/subscriptions", headers=site.rival).json() == []
    assert c.get(f"/queries/arrivals/subscriptions/{sid}", headers=site.rival).status_code == 404
    assert c.delete(f"/queries/arrivals/subscriptions/{sid}", headers=site.rival).status_code == 404
    assert c.delete(f"/queries/arrivals/subscriptions/{sid}", headers=who).status_code == 204
    assert c.get(f"/queries/arrivals/subscriptions/{sid}", headers=who).status_code == 404


def test_a_websocket_is_sent_what_matches_and_resumes_with_what_it_did_not_ack(
    site: Site,
) -> None:
    c, who = site.client, site.subscriber
    c.post("/queries", json=ARRIVALS, headers=who)
    with c.websocket_connect("/queries/arrivals/events?stream=true", headers=who) as ws:
        hello = ws.receive_json()
        assert hello["type"] == "subscription"
        assert hello["resumed"] is False
        sid = hello["subscriptionID"]
        site.capture(object_event(serial="1001"), object_event(serial="1002"))
        first = _event_ids(ws.receive_json())
        assert len(first) == 2
        ws.send_text(json.dumps({"ack": first[:1]}))  # keeps one, loses the other
        site.capture(object_event(serial="1003") | {"bizStep": "shipping"})  # not a match
        site.capture(object_event(serial="1004"))
        (third,) = _event_ids(ws.receive_json())
    resume = f"/queries/arrivals/events?subscriptionID={sid}"
    with c.websocket_connect(resume, headers=who) as ws:
        assert ws.receive_json()["resumed"] is True
        again = _event_ids(ws.receive_json())
        assert again == [first[1], third]  # not acknowledged: sent again, in capture order
        ws.send_text(json.dumps({"ack": again}))
        site.capture(object_event(serial="1005"))
        (fifth,) = _event_ids(ws.receive_json())
        ws.send_text(json.dumps({"ack": [fifth]}))
        ws.send_text(json.dumps({"ack": []}))  # a no-op ack: the previous one was taken
    rows = site.store.subscription_outbox_rows(sid)
    assert len(rows) == 4
    assert all(r["delivered_at"] is not None for r in rows)


def test_a_websocket_needs_a_subscribe_token_and_closes_when_cancelled(site: Site) -> None:
    c, who = site.client, site.subscriber
    c.post("/queries", json=ARRIVALS, headers=who)
    assert _denied(c, "/queries/arrivals/events?stream=true", {}) == 401
    assert _denied(c, "/queries/arrivals/events?stream=true", site.reader) == 403
    assert _denied(c, "/queries/arrivals/events?minute=5", who) == 400
    assert _denied(c, "/queries/nothing/events?stream=true", who) == 404
    with c.websocket_connect("/queries/arrivals/events?stream=true", headers=who) as ws:
        sid = ws.receive_json()["subscriptionID"]
        assert c.delete(f"/queries/arrivals/subscriptions/{sid}", headers=who).status_code == 204
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 4410
    with c.websocket_connect("/queries/arrivals/events?stream=true", headers=who) as ws:
        ws.receive_json()
        ws.send_text("hello")
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 1008


def test_a_websocket_acks_an_event_by_the_event_id_its_sender_gave(site: Site) -> None:
    c, who = site.client, site.subscriber
    c.post("/queries", json=ARRIVALS, headers=who)
    own = "urn:uuid:0f5c3e1a-7a61-4d3b-9a55-1b2f9d1e6c01"
    with c.websocket_connect("/queries/arrivals/events?stream=true", headers=who) as ws:
        sid = ws.receive_json()["subscriptionID"]
        site.capture(object_event(serial="1001") | {"eventID": own})
        assert _event_ids(ws.receive_json()) == [own]  # as GET /events shows it
        ws.send_text(json.dumps({"ack": [own]}))
        site.capture(object_event(serial="1002"))
        (second,) = _event_ids(ws.receive_json())  # the ack was read before this was sent
    rows = {r["event_id"]: r["delivered_at"] for r in site.store.subscription_outbox_rows(sid)}
    assert own not in rows  # stored by its hash ID
    assert sorted(v is not None for v in rows.values()) == [False, True]
    assert rows[second] is None


def test_a_site_that_sends_only_to_public_addresses_refuses_a_loopback_webhook(
    subs: Subscriptions,
) -> None:
    guarded = Subscriptions(subs.store, public_only=True)
    app = create_app(subs.store, None, "embedded EVM", subscriptions=guarded)
    who = bearer(subs.store, "subscribe")
    with make_client(app) as c:
        c.post("/queries", json=ARRIVALS, headers=who)
        refused = c.post(
            "/queries/arrivals/subscriptions",
            json={"dest": "http://127.0.0.1:8080/hook", "stream": True},
            headers=who,
        )
    assert refused.status_code == 400
    assert refused.json()["type"] == "epcisException:ValidationException"
    assert refused.json()["detail"].startswith("dest: ")
    assert "TRACEHUB_SUBSCRIPTIONS_PUBLIC_ONLY" in refused.json()["detail"]


def test_initial_record_time_backfills_a_webhook_subscription(
    site: Site, subs: Subscriptions, receiver: tuple[Inbox, WebhookReceiver]
) -> None:
    got, webhook = receiver
    c, who = site.client, site.subscriber
    c.post("/queries", json=ARRIVALS, headers=who)
    site.capture(object_event(serial="1001"), object_event(serial="1002"))
    made = c.post(
        "/queries/arrivals/subscriptions",
        json={
            "dest": webhook.url,
            "signatureToken": TOKEN,
            "stream": True,
            "initialRecordTime": "2026-01-01T00:00:00Z",
        },
        headers=who,
    )
    assert made.status_code == 201, made.text
    assert made.json()["initialRecordTime"] == "2026-01-01T00:00:00.000Z"
    assert WebhookDelivery(subs).run_once() == 2
    assert len(_event_ids(got.items[0].payload or {})) == 2


def test_a_named_query_is_deleted_only_by_its_owner_or_an_admin(site: Site) -> None:
    c, who = site.client, site.subscriber
    assert c.post("/queries", json=ARRIVALS, headers=who).status_code == 201
    mine = c.post(
        "/queries/arrivals/subscriptions",
        json={"dest": "http://127.0.0.1:9/hook", "stream": True},
        headers=who,
    )
    assert mine.status_code == 201, mine.text
    refused = c.delete("/queries/arrivals", headers=site.rival)
    assert refused.status_code == 404  # as for another client's subscription
    assert refused.json()["type"] == "epcisException:NoSuchNameException"
    sid = mine.json()["subscriptionID"]
    assert c.get(f"/queries/arrivals/subscriptions/{sid}", headers=who).status_code == 200

    theirs = c.post(
        "/queries/arrivals/subscriptions",
        json={"dest": "http://127.0.0.1:9/other", "stream": True},
        headers=site.rival,
    )
    assert theirs.status_code == 201, theirs.text
    in_use = c.delete("/queries/arrivals", headers=who)
    assert in_use.status_code == 409
    assert "active subscriptions of other clients" in in_use.json()["detail"]
    admin = bearer(site.store, "admin", "subscribe", name="ops")
    assert c.delete("/queries/arrivals", headers=admin).status_code == 204
    assert c.get("/queries/arrivals", headers=who).status_code == 404


def test_a_client_beyond_its_bound_on_subscriptions_gets_409_naming_it(
    subs: Subscriptions,
) -> None:
    bounded = Subscriptions(subs.store, public_only=False, max_per_client=1)
    app = create_app(subs.store, None, "embedded EVM", subscriptions=bounded)
    who = bearer(subs.store, "subscribe")
    hook = {"dest": "http://127.0.0.1:9/hook", "stream": True}
    with make_client(app) as c:
        c.post("/queries", json=ARRIVALS, headers=who)
        assert c.post("/queries/arrivals/subscriptions", json=hook, headers=who).status_code == 201
        over = c.post("/queries/arrivals/subscriptions", json=hook, headers=who)
        assert over.status_code == 409
        assert over.json()["type"] == "epcisException:SubscriptionControlsException"
        assert "TRACEHUB_SUBSCRIPTIONS_MAX_PER_CLIENT" in over.json()["detail"]
        assert _denied(c, "/queries/arrivals/events?stream=true", who) == 409


def test_by_default_a_site_refuses_internal_webhook_destinations(subs: Subscriptions) -> None:
    app = create_app(subs.store, None, "embedded EVM")  # its own default Subscriptions
    who = bearer(subs.store, "subscribe")
    with make_client(app) as c:
        c.post("/queries", json=ARRIVALS, headers=who)
        for dest in (
            "http://127.0.0.1:8086/write",
            "http://169.254.169.254/latest/meta-data/",
            "http://10.0.0.5/",
            "http://localhost:5432/",
        ):
            refused = c.post(
                "/queries/arrivals/subscriptions", json={"dest": dest, "stream": True}, headers=who
            )
            assert refused.status_code == 400, dest
            assert refused.json()["detail"].startswith("dest: ")


def test_the_receivers_answer_is_never_shown_to_the_subscriber(
    site: Site, subs: Subscriptions
) -> None:
    class Internal(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = b'{"secret":"db-password=hunter2"}'
            self.send_response(403)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Internal)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    c, who = site.client, site.subscriber
    try:
        c.post("/queries", json=ARRIVALS, headers=who)
        sub = c.post(
            "/queries/arrivals/subscriptions",
            json={"dest": f"http://127.0.0.1:{server.server_port}/admin", "stream": True},
            headers=who,
        )
        site.capture(object_event(serial="1001"))
        assert WebhookDelivery(subs).run_once() == 0
        shown = c.get(
            f"/queries/arrivals/subscriptions/{sub.json()['subscriptionID']}", headers=who
        ).json()
    finally:
        server.shutdown()
        server.server_close()
    assert shown["lastError"] == "webhook http://127.0.0.1: HTTP 403 Forbidden"
    assert "hunter2" not in json.dumps(shown)


def test_a_websocket_client_is_recorded_as_there_until_it_goes_away(subs: Subscriptions) -> None:
    """What the idle cancel (``Subscriptions.sweep``) goes by: the last time its client
    connected or left, not when the subscription was made."""
    moments = [datetime(2026, 12, 1, 8, tzinfo=UTC)]
    timed = Subscriptions(subs.store, public_only=False, clock=lambda: moments[-1])
    app = create_app(subs.store, None, "embedded EVM", subscriptions=timed)
    who = bearer(subs.store, "subscribe")
    with make_client(app) as c:
        c.post("/queries", json=ARRIVALS, headers=who)
        with c.websocket_connect("/queries/arrivals/events?stream=true", headers=who) as ws:
            sid = ws.receive_json()["subscriptionID"]
            moments.append(moments[0] + timedelta(days=3))  # it stays connected 3 days
        record = subs.store.subscription(sid)
        assert record is not None
        assert record.created_at == moments[0]
        assert record.seen_at == moments[-1]
        moments.append(moments[0] + timedelta(days=9))  # away 6 days: not yet idle
        assert timed.sweep() == (0, 0)
        moments.append(moments[0] + timedelta(days=11))
        assert timed.sweep() == (0, 1)
        assert _denied(c, f"/queries/arrivals/events?subscriptionID={sid}", who) == 404
