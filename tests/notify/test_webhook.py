"""The webhook channel against a real HTTP receiver: signed JSON, retryable or not."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from notify.errors import BadDestination, DeliveryFailed
from notify.message import Message
from notify.webhook import WebhookChannel, signature
from tests.notify.servers import HttpReceiver, free_port

MESSAGE = Message(
    id="ntf-0123abcd",
    subject="[CRITICAL] Cold room 1: 9.4 °C",
    text="Cold room 1: 9.4 °C, above 8.0 °C for 16 min",
    payload={"event": "incident.opened", "incident": {"lots": ["09506000134352/L1"]}},
)


def test_the_body_is_signed_with_hmac_sha256_and_carries_the_delivery_id(
    receiver: HttpReceiver,
) -> None:
    channel = WebhookChannel(receiver.url + "/hooks/tracehub", "s3cret", clock=lambda: 1700000000.5)
    channel.send(MESSAGE, "Ana Ortiz")
    channel.close()
    (request,) = receiver.wait_for(1)
    assert request.path == "/hooks/tracehub"
    assert request.headers["x-tracehub-delivery"] == "ntf-0123abcd"
    assert request.headers["x-tracehub-timestamp"] == "1700000000"
    expected = hmac.new(b"s3cret", request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-tracehub-signature"] == f"sha256={expected}"
    assert signature("other", request.body) != request.headers["x-tracehub-signature"]
    body = json.loads(request.body)
    assert body["id"] == "ntf-0123abcd"
    assert body["recipient"] == "Ana Ortiz"
    assert body["subject"].startswith("[CRITICAL] Cold room 1")
    assert body["notification"]["incident"]["lots"] == ["09506000134352/L1"]


def test_without_a_secret_there_is_no_signature_header(receiver: HttpReceiver) -> None:
    WebhookChannel(receiver.url).send(MESSAGE, "x")
    (request,) = receiver.wait_for(1)
    assert "x-tracehub-signature" not in request.headers


@pytest.mark.parametrize(
    ("status", "permanent"), [(400, True), (404, True), (429, False), (503, False)]
)
def test_4xx_is_permanent_429_and_5xx_are_retried(
    receiver: HttpReceiver, status: int, permanent: bool
) -> None:
    receiver.statuses = [status]
    with pytest.raises(DeliveryFailed) as caught:
        WebhookChannel(receiver.url).send(MESSAGE, "x")
    assert caught.value.permanent is permanent
    assert f"HTTP {status}" in str(caught.value)
    WebhookChannel(receiver.url).send(MESSAGE, "x")  # the next answer is 200


def test_a_receiver_that_is_down_or_too_slow_is_retried(receiver: HttpReceiver) -> None:
    with pytest.raises(DeliveryFailed) as down:
        WebhookChannel(f"http://127.0.0.1:{free_port()}/").send(MESSAGE, "x")
    assert not down.value.permanent
    assert "cannot connect" in str(down.value)
    receiver.hold = True
    with pytest.raises(DeliveryFailed) as slow:
        WebhookChannel(receiver.url, timeout_s=0.3).send(MESSAGE, "x")
    assert not slow.value.permanent
    assert "timed out" in str(slow.value)
    receiver.release()


def test_the_url_is_checked_when_built_and_never_shown_whole() -> None:
    with pytest.raises(BadDestination):
        WebhookChannel("ftp://example.com/x")
    channel = WebhookChannel(f"http://127.0.0.1:{free_port()}/T0KEN/secret-path")
    with pytest.raises(DeliveryFailed) as caught:
        channel.send(MESSAGE, "x")
    assert "T0KEN" not in str(caught.value)
