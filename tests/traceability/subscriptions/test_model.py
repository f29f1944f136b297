"""What a subscriber may ask for (pure): every refusal names the field and the fix."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from traceability.subscriptions.errors import SubscriptionInvalid
from traceability.subscriptions.model import (
    check_destination,
    webhook_request,
    websocket_request,
)


def test_a_stream_webhook_is_taken_with_its_token_and_initial_record_time() -> None:
    request = webhook_request(
        {
            "dest": "https://partner.example/epcis",
            "signatureToken": "s3cret",
            "stream": True,
            "initialRecordTime": "2026-12-01T08:00:00Z",
        }
    )
    assert request.kind == "webhook"
    assert request.signature_token == "s3cret"
    assert request.initial_record_time == datetime(2026, 12, 1, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"dest": "https://p.example/", "schedule": {"hour": "1"}}, "schedule"),
        ({"dest": "https://p.example/"}, "stream"),
        ({"dest": "https://p.example/", "stream": False}, "stream"),
        ({"dest": "ftp://p.example/", "stream": True}, "dest"),
        ({"dest": "https:///nohost", "stream": True}, "dest"),
        ({"stream": True}, "dest"),
        ({"dest": "https://p.example/", "stream": True, "signatureToken": 7}, "signatureToken"),
        ({"dest": "https://p.example/", "stream": True, "reportIfEmpty": "yes"}, "reportIfEmpty"),
        (
            {"dest": "https://p.example/", "stream": True, "initialRecordTime": "2026-12-01T08:00"},
            "initialRecordTime",
        ),
        ({"dest": "https://p.example/", "stream": True, "secret": "x"}, "secret"),
        (["not", "an", "object"], "body"),
    ],
)
def test_a_request_the_repository_cannot_serve_names_its_field(body: object, field: str) -> None:
    with pytest.raises(SubscriptionInvalid) as refused:
        webhook_request(body)
    assert refused.value.field == field


def test_a_websocket_streams_resumes_and_refuses_a_schedule() -> None:
    request, resume = websocket_request({"stream": "true"})
    assert (request.kind, resume) == ("websocket", None)
    _, resume = websocket_request({"subscriptionID": "abc"})  # resuming: stream is implied
    assert resume == "abc"
    with pytest.raises(SubscriptionInvalid, match="minute: scheduled"):
        websocket_request({"minute": "5", "hour": "1"})
    with pytest.raises(SubscriptionInvalid, match="stream"):
        websocket_request({})
    with pytest.raises(SubscriptionInvalid, match="EQ_bizStep: not a subscription parameter"):
        websocket_request({"stream": "true", "EQ_bizStep": "shipping"})


def test_public_only_refuses_loopback_and_private_destinations_literal_or_resolved() -> None:
    check_destination("http://127.0.0.1:8080/hook", public_only=False)  # tests, the demo
    for url in ("http://127.0.0.1/", "http://[::1]/", "http://10.1.2.3/", "http://localhost/"):
        with pytest.raises(SubscriptionInvalid, match="dest"):
            check_destination(url, public_only=True)
    with pytest.raises(SubscriptionInvalid, match=r"resolves to\) 192\.168\.1\.5"):
        check_destination(
            "https://intranet.example/", public_only=True, resolve=lambda host: ["192.168.1.5"]
        )
    check_destination("https://partner.example/", public_only=True, resolve=lambda h: ["8.8.8.8"])


def test_metadata_and_mapped_loopback_addresses_are_not_public() -> None:
    for url in (
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata (link-local)
        "http://[::ffff:127.0.0.1]/",  # loopback, IPv4-mapped
        "http://[fd00:ec2::254]/",  # metadata over IPv6 (unique local)
        "http://100.100.100.200/",  # metadata in shared address space
        "http://0.0.0.0:8086/",
    ):
        with pytest.raises(SubscriptionInvalid, match="not a public address"):
            check_destination(url, public_only=True)
    with pytest.raises(SubscriptionInvalid, match="resolves to no address"):
        check_destination("https://nowhere.example/", public_only=True, resolve=lambda h: [])
    assert check_destination(
        "https://partner.example/", public_only=True, resolve=lambda h: ["8.8.8.8", "1.1.1.1"]
    ) == ["8.8.8.8", "1.1.1.1"]
