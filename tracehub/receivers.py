"""Local receivers for the hub's notifications: a webhook endpoint and an SMTP server.

``tracehub demo --scenario excursion`` starts both on free loopback ports and points the
hub's alert channels at them, so a person sees each notification arrive (and the
end-to-end tests count them). Each keeps what it received, in order, and tells a
callback; ``wait_for`` awaits a condition instead of sleeping.

The webhook receiver checks the ``X-Tracehub-Signature`` HMAC with the shared secret and
answers 401 to a request that does not carry it (a receiver must refuse unsigned alarms,
or anyone on the network could raise one). Both de-duplicate nothing: a notification
delivered twice shows up twice, which is what the "sent once" tests look for.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import json
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from pydantic import BaseModel, ConfigDict

from tracehub.services import LOOPBACK, free_port

MAX_BODY = 1 << 20


class Received(BaseModel):
    """One notification as it arrived."""

    model_config = ConfigDict(frozen=True)

    channel: str  # "webhook" or "email"
    delivery: str | None  # X-Tracehub-Delivery / Message-ID: the sender's idempotency key
    to: tuple[str, ...]  # e-mail recipients; the webhook's ``recipient`` when it names one
    subject: str
    text: str
    payload: dict[str, Any] | None = None  # the webhook's JSON
    at: datetime


class Inbox:
    """What a receiver got, in order; thread-safe, awaitable."""

    def __init__(self, on_received: Callable[[Received], None] | None = None) -> None:
        self._items: list[Received] = []
        self._changed = threading.Condition()
        self._on_received = on_received

    def add(self, item: Received) -> None:
        with self._changed:
            self._items.append(item)
            self._changed.notify_all()
        if self._on_received is not None:
            self._on_received(item)

    @property
    def items(self) -> list[Received]:
        with self._changed:
            return list(self._items)

    def wait_for(self, done: Callable[[list[Received]], bool], timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: done(list(self._items)), timeout)


class WebhookReceiver:
    """An HTTP endpoint that takes signed JSON POSTs (``POST /``)."""

    def __init__(
        self,
        secret: str,
        inbox: Inbox,
        host: str = LOOPBACK,
        port: int = 0,
        signature_header: str = "X-Tracehub-Signature",
    ) -> None:
        """``signature_header``: where the ``sha256=<hex>`` HMAC comes (an EPCIS
        subscription's webhook sends it as ``GS1-Signature``)."""
        self.inbox = inbox
        self._secret = secret.encode()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY:
                    self._answer(413)
                    return
                body = self.rfile.read(length)
                if not receiver.signed(body, self.headers.get(signature_header, "")):
                    self._answer(401)
                    return
                try:
                    payload = json.loads(body)
                except ValueError:
                    self._answer(400)
                    return
                receiver.inbox.add(_webhook(payload, self.headers.get("X-Tracehub-Delivery")))
                self._answer(204)

            def _answer(self, status: int) -> None:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the inbox's callback tells what matters

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="webhook-receiver", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/"

    def signed(self, body: bytes, header: str) -> bool:
        expected = "sha256=" + hmac.new(self._secret, body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, header)

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _MailHandler:
    def __init__(self, inbox: Inbox) -> None:
        self._inbox = inbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd hook name)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        self._inbox.add(
            Received(
                channel="email",
                delivery=message.get("Message-ID"),
                to=tuple(envelope.rcpt_tos),
                subject=str(message.get("Subject", "")),
                text=body.get_content() if body is not None else "",
                at=datetime.now(UTC),
            )
        )
        return "250 Message accepted for delivery"


class MailReceiver:
    """An SMTP server (aiosmtpd) that keeps every message it is handed."""

    def __init__(self, inbox: Inbox, host: str = LOOPBACK, port: int = 0) -> None:
        self.inbox = inbox
        self._controller = Controller(_MailHandler(inbox), hostname=host, port=port or free_port())

    @property
    def url(self) -> str:
        return f"smtp://{self._controller.hostname}:{self._controller.port}"

    def start(self) -> MailReceiver:
        # aiosmtpd logs every SMTP command at INFO: the inbox's callback tells what matters.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()


def _webhook(payload: Any, delivery: str | None) -> Received:
    data = payload if isinstance(payload, dict) else {"value": payload}
    to = data.get("recipient")
    return Received(
        channel="webhook",
        delivery=delivery,
        to=(str(to),) if isinstance(to, str) else tuple(str(t) for t in to or ()),
        subject=str(data.get("subject", "")),
        text=str(data.get("text", "")),
        payload=data,
        at=datetime.now(UTC),
    )
