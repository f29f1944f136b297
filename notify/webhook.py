"""The webhook channel: the message as JSON, POSTed and HMAC-signed.

The body is ``{"id", "recipient", "subject", "text", "notification": <message payload>}``
(UTF-8 JSON). Headers:

* ``X-Tracehub-Delivery: <id>``   the idempotency key (the same on a redelivery)
* ``X-Tracehub-Timestamp: <unix seconds>``   when this attempt was made
* ``X-Tracehub-Signature: sha256=<hex>``   HMAC-SHA256 of the raw body bytes with the
  shared secret (only when a secret is set); a receiver recomputes it over the bytes it
  read, before parsing, and compares with ``hmac.compare_digest``

The signature covers the body only (the interface the receivers are written against); the
body holds the id, so a replayed request is recognised by its delivery id.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable

import httpx

from notify.channel import DEFAULT_TIMEOUT_S, ChannelKind
from notify.errors import BadDestination
from notify.message import Message
from notify.transport import http_client, post

SIGNATURE_HEADER = "X-Tracehub-Signature"
DELIVERY_HEADER = "X-Tracehub-Delivery"
TIMESTAMP_HEADER = "X-Tracehub-Timestamp"


def signature(secret: str, body: bytes) -> str:
    """The ``X-Tracehub-Signature`` value of ``body``: ``sha256=<hex>``."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def body_of(message: Message, recipient: str) -> bytes:
    document = {
        "id": message.id,
        "recipient": recipient,
        "subject": message.subject,
        "text": message.text,
        "notification": message.payload,
    }
    return json.dumps(document, ensure_ascii=False, sort_keys=True).encode("utf-8")


class WebhookChannel:
    """POSTs each message to one URL; builds no connection until the first send."""

    def __init__(
        self,
        url: str,
        secret: str | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        parsed = httpx.URL(url)
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise BadDestination(
                "webhook URL: give an http:// or https:// URL with a host "
                "(TRACEHUB_ALERTS_WEBHOOK_URL)"
            )
        self._url = url
        self._what = f"webhook {parsed.scheme}://{parsed.host}"  # no path: it may hold a token
        self._secret = secret or None
        self._timeout_s = timeout_s
        self._clock = clock
        self._client: httpx.Client | None = None

    @property
    def kind(self) -> ChannelKind:
        return "webhook"

    def send(self, message: Message, address: str) -> None:
        body = body_of(message, address)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            DELIVERY_HEADER: message.id,
            TIMESTAMP_HEADER: str(int(self._clock())),
        }
        if self._secret is not None:
            headers[SIGNATURE_HEADER] = signature(self._secret, body)
        if self._client is None:
            self._client = http_client(self._timeout_s)
        post(self._client, self._url, what=self._what, content=body, headers=headers)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
