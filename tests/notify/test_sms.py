"""The SMS channel against a real HTTP receiver: the generic JSON shape and Twilio's form."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs

import pytest

from notify.errors import BadDestination, DeliveryFailed
from notify.message import Message
from notify.sms import MAX_TEXT, SmsChannel
from tests.notify.servers import HttpReceiver

MESSAGE = Message(
    id="ntf-5ms0001",
    subject="subject",
    text="long text",
    short="[CRITICAL] Cold room 1: 9.4 °C. Lots: 09506000134352/L1. http://hub/incidents/i1",
)


def test_the_json_shape_posts_to_text_and_id(receiver: HttpReceiver) -> None:
    SmsChannel.from_url(receiver.url + "/sms?key=abc&from=TRACEHUB").send(
        MESSAGE, "+34 600 000 001"
    )
    (request,) = receiver.wait_for(1)
    assert request.path == "/sms?key=abc"  # our options are not passed on, the gateway's are
    assert request.headers["x-tracehub-delivery"] == "ntf-5ms0001"
    assert json.loads(request.body) == {
        "to": "+34600000001",
        "text": MESSAGE.short,
        "id": "ntf-5ms0001",
        "from": "TRACEHUB",
    }


def test_the_twilio_shape_posts_a_form_with_basic_auth(receiver: HttpReceiver) -> None:
    path = "/2010-04-01/Accounts/AC123/Messages.json"
    url = f"http://AC123:tok%2Fen@127.0.0.1:{receiver.port}{path}?shape=twilio&from=%2B15550001111"
    long = MESSAGE.model_copy(update={"short": "x" * 1000})
    SmsChannel.from_url(url).send(long, "+34600000001")
    (request,) = receiver.wait_for(1)
    assert request.path == path
    assert request.headers["authorization"] == "Basic " + base64.b64encode(b"AC123:tok/en").decode()
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    form = parse_qs(request.body.decode())
    assert form["To"] == ["+34600000001"]
    assert form["From"] == ["+15550001111"]
    assert form["Body"] == ["x" * MAX_TEXT]


def test_gateway_refusals_and_outages(receiver: HttpReceiver) -> None:
    receiver.statuses = [401, 502]
    channel = SmsChannel.from_url(receiver.url)
    with pytest.raises(DeliveryFailed) as refused:
        channel.send(MESSAGE, "+34600000001")
    assert refused.value.permanent
    with pytest.raises(DeliveryFailed) as outage:
        channel.send(MESSAGE, "+34600000001")
    assert not outage.value.permanent
    with pytest.raises(DeliveryFailed) as bad:
        channel.send(MESSAGE, "call me")
    assert bad.value.permanent
    assert len(receiver.requests) == 2


def test_urls_are_checked_when_built() -> None:
    with pytest.raises(BadDestination):
        SmsChannel.from_url("http://gw.example/?shape=nexmo")
    with pytest.raises(BadDestination):  # Twilio needs credentials and a sender
        SmsChannel.from_url(
            "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json?shape=twilio"
        )
    with pytest.raises(BadDestination):
        SmsChannel.from_url("mailto:x@example.com")
