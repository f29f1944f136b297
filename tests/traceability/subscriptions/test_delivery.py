"""Webhook delivery to a real HTTP receiver (``tracehub.receivers.WebhookReceiver``, which
checks the ``GS1-Signature`` HMAC): signed EPCISQueryDocuments in capture order, batches,
the destination's backoff after a refusal or an outage, the supervised loop woken by a
capture."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

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
    subscriptions = Subscriptions(store, clock=clock)
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
    subs = Subscriptions(store)  # the real clock: the loop runs on its own
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
