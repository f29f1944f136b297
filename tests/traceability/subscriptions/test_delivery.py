"""Webhook delivery to a real HTTP receiver (``tracehub.receivers.WebhookReceiver``, which
checks the ``GS1-Signature`` HMAC): signed EPCISQueryDocuments in capture order, batches,
the destination's backoff after a refusal or an outage, the supervised loop woken by a
capture; one deadline per send, a dripping receiver delaying only itself; a destination
re-checked at send time; the receiver's answer never shown to the subscriber."""

from __future__ import annotations

import hashlib
import hmac
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from tests.support.events import object_event
from traceability.capture import CaptureService
from traceability.records.store import RecordStore
from traceability.subscriptions.delivery import WebhookDelivery, signature
from traceability.subscriptions.model import SubscriptionRequest
from traceability.subscriptions.service import Subscriptions
from tracehub.receivers import Inbox, Received, WebhookReceiver
from tracehub.services import free_port

TOKEN = "partner-hmac-key"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 8, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, WebhookReceiver]]:
    got = Inbox()
    receiver = WebhookReceiver(TOKEN, got, signature_header="GS1-Signature").start()
    yield got, receiver
    receiver.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def subs(tmp_path: Path, clock: Clock) -> Iterator[Subscriptions]:
    store = RecordStore.open(f"sqlite:///{tmp_path / 'records.db'}")
    subscriptions = Subscriptions(store, public_only=False, clock=clock)
    subscriptions.create_query({"name": "arrivals", "query": {"EQ_bizStep": ["arriving"]}}, None)
    yield subscriptions
    store.close()


def _ids(item: Received) -> list[str]:
    assert item.payload is not None
    results = item.payload["epcisBody"]["queryResults"]
    return [e["eventID"] for e in results["resultsBody"]["eventList"]]


def _capture(subs: Subscriptions, *serials: str) -> list[str]:
    capture = CaptureService(subs.store, on_stored=subs.on_stored)
    return [capture.capture(object_event(serial=s)).event_id for s in serials]


def test_matching_events_are_posted_signed_in_capture_order_and_marked_delivered(
    subs: Subscriptions, inbox: tuple[Inbox, WebhookReceiver]
) -> None:
    got, receiver = inbox
    sub = subs.subscribe(
        "arrivals",
        SubscriptionRequest(kind="webhook", dest=receiver.url, signature_token=TOKEN),
        "partner",
    )
    events = _capture(subs, "1001", "1002", "1003", "1004", "1005")
    delivery = WebhookDelivery(subs, batch=2)
    assert delivery.run_once() == 5
    items = got.items
    assert [len(_ids(i)) for i in items] == [2, 2, 1]  # batches of 2, one at a time
    assert [e for i in items for e in _ids(i)] == sorted(events, key=events.index)
    results = items[0].payload["epcisBody"]["queryResults"]  # type: ignore[index]
    assert (results["subscriptionID"], results["queryName"]) == (sub.id, "arrivals")
    assert items[0].payload["type"] == "EPCISQueryDocument"  # type: ignore[index]
    assert delivery.run_once() == 0  # nothing twice
    counts = subs.store.subscription_counts(sub.id)
    assert (counts.pending, counts.delivered) == (0, 5)


def test_the_signature_is_the_hmac_sha256_of_the_body_bytes() -> None:
    expected = hmac.new(b"key", b"{}", hashlib.sha256).hexdigest()
    assert signature("key", b"{}") == f"sha256={expected}"


def test_a_refusal_holds_the_whole_destination_back_then_it_is_sent_again(
    subs: Subscriptions, inbox: tuple[Inbox, WebhookReceiver], clock: Clock
) -> None:
    got, receiver = inbox
    sub = subs.subscribe(
        "arrivals",
        SubscriptionRequest(kind="webhook", dest=receiver.url, signature_token="wrong key"),
        None,
    )
    _capture(subs, "1001")
    delivery = WebhookDelivery(subs, initial_backoff_s=10)
    assert delivery.run_once() == 0  # the receiver answers 401 to a bad signature
    _capture(subs, "1002")  # enqueued while the destination is held back
    assert delivery.run_once() == 0
    assert got.items == []
    counts = subs.store.subscription_counts(sub.id)
    assert counts.pending == 2
    assert counts.last_error is not None
    assert "HTTP 401" in counts.last_error
    clock.now += timedelta(seconds=10)
    assert delivery.run_once() == 0  # refused again: the backoff doubles
    record = subs.store.subscription(sub.id)
    assert record is not None
    assert record.failures == 2
    assert record.retry_at == clock.now + timedelta(seconds=20)


def test_an_outage_is_retried_until_the_receiver_is_back(subs: Subscriptions, clock: Clock) -> None:
    port = free_port()
    sub = subs.subscribe(
        "arrivals",
        SubscriptionRequest(
            kind="webhook", dest=f"http://127.0.0.1:{port}/", signature_token=TOKEN
        ),
        None,
    )
    (event,) = _capture(subs, "1001")
    delivery = WebhookDelivery(subs, initial_backoff_s=1, timeout_s=2, lease_s=5)
    assert delivery.run_once() == 0  # nobody listens yet
    got = Inbox()
    receiver = WebhookReceiver(TOKEN, got, port=port, signature_header="GS1-Signature").start()
    try:
        clock.now += timedelta(seconds=1)
        assert delivery.run_once() == 1
        assert [_ids(i) for i in got.items] == [[event]]
        assert subs.store.subscription_counts(sub.id).pending == 0
    finally:
        receiver.stop()
        delivery.stop()


def test_the_running_loop_is_woken_by_a_capture(
    tmp_path: Path, inbox: tuple[Inbox, WebhookReceiver]
) -> None:
    got, receiver = inbox
    store = RecordStore.open(f"sqlite:///{tmp_path / 'live.db'}")
    subs = Subscriptions(store, public_only=False)  # the real clock: the loop runs on its own
    subs.create_query({"name": "all", "query": {}}, None)
    subs.subscribe(
        "all", SubscriptionRequest(kind="webhook", dest=receiver.url, signature_token=TOKEN), None
    )
    delivery = WebhookDelivery(subs, poll_s=600)  # only a wake-up can make it look in time
    delivery.start()
    try:
        (event,) = _capture(subs, "1001")
        assert got.wait_for(lambda items: bool(items), 10)
        assert _ids(got.items[0]) == [event]
    finally:
        delivery.stop()
        store.close()


class Dripping:
    """A receiver that answers 200 and then its body one byte a second (for ``drip_s``):
    never silent for a whole read timeout, so only a deadline for the whole answer cuts
    it off. ``finished`` is set once it has sent its last byte (or was cut off)."""

    def __init__(self, drip_s: int) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/hook"
        self.accepted = threading.Event()
        self.finished = threading.Event()
        self.cut_off = False
        self._drip_s = drip_s
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        with self.listener:
            conn, _ = self.listener.accept()
        with conn:
            self.accepted.set()
            conn.recv(65536)
            try:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % self._drip_s)
                for _ in range(self._drip_s):
                    time.sleep(1)
                    conn.sendall(b"x")
            except OSError:
                self.cut_off = True  # the hub hung up
            self.finished.set()


def test_a_dripping_receiver_is_cut_off_at_the_deadline_and_holds_no_other_destination(
    subs: Subscriptions, inbox: tuple[Inbox, WebhookReceiver]
) -> None:
    got, receiver = inbox
    slow = Dripping(drip_s=30)
    dripped = subs.subscribe("arrivals", SubscriptionRequest(kind="webhook", dest=slow.url), "a")
    prompt = subs.subscribe(
        "arrivals",
        SubscriptionRequest(kind="webhook", dest=receiver.url, signature_token=TOKEN),
        "b",
    )
    (event,) = _capture(subs, "1001")
    delivery = WebhookDelivery(subs, timeout_s=2, lease_s=5)
    started = time.monotonic()
    try:
        assert delivery.run_once() == 1  # the prompt one; the dripping one failed
        took = time.monotonic() - started
    finally:
        delivery.stop()
    assert slow.accepted.is_set()
    assert [_ids(i) for i in got.items] == [[event]]
    assert took < 10, f"the round took {took:.1f} s: the deadline is the whole answer"
    counts = subs.store.subscription_counts(dripped.id)
    assert counts.pending == 1
    assert counts.last_error is not None
    assert "no complete answer within 2 s" in counts.last_error
    assert subs.store.subscription_counts(prompt.id).pending == 0
    assert slow.finished.wait(10)
    assert slow.cut_off


def test_the_prompt_destination_is_served_while_another_still_drips(
    subs: Subscriptions, inbox: tuple[Inbox, WebhookReceiver]
) -> None:
    got, receiver = inbox
    slow = Dripping(drip_s=30)
    subs.subscribe("arrivals", SubscriptionRequest(kind="webhook", dest=slow.url), "a")
    (event,) = _capture(subs, "1001")
    delivery = WebhookDelivery(subs, poll_s=1, timeout_s=8, lease_s=20)
    rounds = threading.Thread(target=delivery.run_once)
    rounds.start()
    try:
        assert slow.accepted.wait(10)  # the one delivery thread of old would be held here
        subs.subscribe(
            "arrivals",
            SubscriptionRequest(
                kind="webhook",
                dest=receiver.url,
                signature_token=TOKEN,
                initial_record_time=datetime(2026, 1, 1, tzinfo=UTC),
            ),
            "b",
        )
        # The same round claims the new subscription at its next poll (1 s).
        assert got.wait_for(lambda items: bool(items), 6)
        assert not slow.finished.is_set()  # delivered while the other still drips
        assert [_ids(i) for i in got.items] == [[event]]
    finally:
        rounds.join(20)
        delivery.stop()


def test_a_destination_re_pointed_to_an_internal_address_is_refused_at_send_time(
    subs: Subscriptions, inbox: tuple[Inbox, WebhookReceiver]
) -> None:
    got, receiver = inbox
    answers = {"partner.example": ["8.8.8.8"]}
    guarded = Subscriptions(subs.store, resolve=lambda host: answers[host], clock=subs.clock)
    port = receiver.url.rsplit(":", 1)[1].split("/")[0]
    sub = guarded.subscribe(
        "arrivals",
        SubscriptionRequest(kind="webhook", dest=f"http://partner.example:{port}/"),
        "partner",
    )  # public when subscribed
    _capture(guarded, "1001")
    answers["partner.example"] = ["127.0.0.1"]  # then the name is re-pointed inside
    assert WebhookDelivery(guarded, timeout_s=2, lease_s=5).run_once() == 0
    assert got.items == []
    counts = subs.store.subscription_counts(sub.id)
    assert counts.pending == 1
    assert counts.last_error is not None
    assert "127.0.0.1, not a public address" in counts.last_error


class Pinned(BaseHTTPRequestHandler):
    hosts: ClassVar[list[str]] = []  # the Host header of each request

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        Pinned.hosts.append(self.headers.get("Host", ""))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_a_public_only_send_connects_to_the_address_it_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The send goes to the address the check returned (not a second lookup of the name,
    which could be re-pointed in between), with the URL's own ``Host``."""
    import traceability.subscriptions.delivery as delivery_module

    server = ThreadingHTTPServer(("127.0.0.1", 0), Pinned)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    checked: list[str] = []

    def check(url: str, **_: object) -> list[str]:
        checked.append(url)
        return ["127.0.0.1"]  # as if public: the point is where the request goes

    monkeypatch.setattr(delivery_module, "check_destination", check)
    try:
        status = delivery_module.send(
            f"http://hub-partner.invalid:{port}/hook",  # .invalid never resolves
            b"{}",
            {"Content-Type": "application/json"},
            timeout_s=5,
            public_only=True,
            resolve=lambda host: [],
        )
    finally:
        server.shutdown()
        server.server_close()
    assert status == 204
    assert checked == [f"http://hub-partner.invalid:{port}/hook"]
    assert Pinned.hosts == [f"hub-partner.invalid:{port}"]
