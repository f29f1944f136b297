"""Real receivers for the notification tests: an SMTP server (aiosmtpd) and an HTTP
receiver (stdlib ``http.server`` in a thread) that records every request.

Both listen on a free loopback port and keep what they received, with an event so a
test awaits a delivery instead of sleeping.
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from pydantic import BaseModel, ConfigDict


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Received(BaseModel):
    """One HTTP request as the receiver read it."""

    model_config = ConfigDict(frozen=True)

    path: str
    headers: dict[str, str]
    body: bytes


class HttpReceiver:
    """Answers each POST with the next status of ``statuses`` (then 200 for ever);
    ``hold`` makes it wait (until ``release()``) before answering: a timeout."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.statuses: list[int] = []
        self.hold = False
        self._released = threading.Event()
        self._arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                hold = receiver.hold
                with receiver._arrived:
                    receiver.requests.append(
                        Received(
                            path=self.path,
                            headers={k.lower(): v for k, v in self.headers.items()},
                            body=body,
                        )
                    )
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver._arrived.notify_all()
                if hold:  # arrived, but the answer waits: the sender times out or is killed
                    receiver._released.wait(10)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}' if status < 300 else b'{"error": "no"}')

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> HttpReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._released.set()
        self.server.shutdown()
        self.server.server_close()

    def release(self) -> None:
        self._released.set()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.requests) >= count, timeout)
            return list(self.requests)


class _Collect:
    def __init__(self, server: SmtpServer) -> None:
        self._server = server

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        reply = self._server.refuse.get(address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        content = envelope.original_content or b""
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        with self._server.arrived:
            self._server.messages.append((tuple(envelope.rcpt_tos), parsed))
            self._server.arrived.notify_all()
        return "250 Message accepted"


class SmtpServer:
    """aiosmtpd on a free loopback port; ``refuse`` maps an address to the reply its RCPT
    gets (e.g. ``"550 no such user"``); ``users`` turns on AUTH (no TLS: loopback only)."""

    def __init__(self, users: dict[str, str] | None = None) -> None:
        self.messages: list[tuple[tuple[str, ...], EmailMessage]] = []
        self.refuse: dict[str, str] = {}
        self.arrived = threading.Condition()
        self.port = free_port()
        kwargs: dict[str, Any] = {}
        if users is not None:
            kwargs.update(
                auth_require_tls=False,
                authenticator=lambda server, session, envelope, mechanism, data: AuthResult(
                    success=isinstance(data, LoginPassword)
                    and users.get(data.login.decode()) == data.password.decode(),
                    handled=False,  # aiosmtpd answers 535 itself
                ),
                auth_required=False,  # offered, not required: aiosmtpd warns about AUTH without TLS
            )
        self._controller = Controller(
            _Collect(self), hostname="127.0.0.1", port=self.port, **kwargs
        )

    def __enter__(self) -> SmtpServer:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()

    def url(self, query: str = "", userinfo: str = "") -> str:
        return f"smtp://{userinfo}127.0.0.1:{self.port}" + (f"?{query}" if query else "")

    def wait_for(
        self, count: int, timeout: float = 10.0
    ) -> list[tuple[tuple[str, ...], EmailMessage]]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.messages) >= count, timeout)
            return list(self.messages)


def smtp_server(users: dict[str, str] | None = None) -> Iterator[SmtpServer]:
    with SmtpServer(users) as server:
        yield server


def http_receiver() -> Iterator[HttpReceiver]:
    with HttpReceiver() as receiver:
        yield receiver
