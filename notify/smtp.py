"""The e-mail channel: one message over SMTP, with a Message-ID derived from its id.

URL: ``smtp://[user:pass@]host[:port][?from=addr&starttls=1]`` (port 25 by default;
``starttls=1`` upgrades the connection before logging in) or ``smtps://…`` (TLS from the
first byte, port 465 by default). User and password are percent-decoded. ``from``
defaults to ``tracehub@localhost``: set it to an address your relay accepts.

The ``Message-ID`` is ``<{id}@tracehub>``, the same on every attempt, so a mail store or
a person's client can tell a redelivered message from a new one; the id also goes in an
``X-Tracehub-Delivery`` header. One connection per message: alarms are rare, and a
connection held open between them would only go stale.

Outcomes: a 5xx reply (recipient or sender refused, authentication failed) is permanent;
a 4xx reply, a refused or dropped connection and a timeout are worth retrying.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import parse_qs, unquote, urlsplit

from notify.channel import DEFAULT_TIMEOUT_S, ChannelKind
from notify.errors import BadDestination, DeliveryFailed
from notify.message import Message

DEFAULT_FROM = "tracehub@localhost"
_TRUE = ("1", "true", "yes", "on")


def message_id(delivery_id: str) -> str:
    return f"<{delivery_id}@tracehub>"


class SmtpChannel:
    """Sends e-mail through one SMTP server."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        implicit_tls: bool = False,
        starttls: bool = False,
        username: str | None = None,
        password: str | None = None,
        sender: str = DEFAULT_FROM,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        if not host:
            raise BadDestination("SMTP URL: give a host, e.g. smtp://mail.example.com:587")
        if "@" not in sender:
            raise BadDestination(f"SMTP URL: from={sender!r} is not an e-mail address")
        self.host, self.port = host, port
        self._implicit_tls, self._starttls = implicit_tls, starttls
        self._username, self._password = username, password
        self.sender = sender
        self._timeout_s = timeout_s
        self._tls = tls_context

    @classmethod
    def from_url(cls, url: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> SmtpChannel:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise BadDestination(
                "SMTP URL: use smtp://[user:pass@]host[:port][?from=addr&starttls=1] "
                "or smtps://… (TRACEHUB_ALERTS_SMTP_URL)"
            )
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        unknown = set(query) - {"from", "starttls"}
        if unknown:
            raise BadDestination(
                f"SMTP URL: unknown option(s) {sorted(unknown)}; use from, starttls"
            )
        try:
            port = parts.port
        except ValueError as exc:
            raise BadDestination(f"SMTP URL: bad port ({exc})") from exc
        implicit = parts.scheme == "smtps"
        return cls(
            parts.hostname or "",
            port or (465 if implicit else 25),
            implicit_tls=implicit,
            starttls=query.get("starttls", "0").lower() in _TRUE,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            sender=query.get("from", DEFAULT_FROM),
            timeout_s=timeout_s,
        )

    @property
    def kind(self) -> ChannelKind:
        return "email"

    def email(self, message: Message, to: str) -> EmailMessage:
        """The e-mail ``send`` hands to the server."""
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = to
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(localtime=False, usegmt=True)
        mail["Message-ID"] = message_id(message.id)
        mail["X-Tracehub-Delivery"] = message.id
        mail.set_content(message.text)
        return mail

    def send(self, message: Message, address: str) -> None:
        if "@" not in address or any(c in address for c in "\r\n<>,"):
            raise DeliveryFailed(f"e-mail to {address!r}: not one address", permanent=True)
        mail = self.email(message, address)
        what = f"e-mail to {address} via {self.host}:{self.port}"
        try:
            with self._connect() as server:
                if self._starttls:
                    server.starttls(context=self._tls or ssl.create_default_context())
                if self._username is not None:
                    server.login(self._username, self._password or "")
                server.send_message(mail, from_addr=self.sender, to_addrs=[address])
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            permanent = all(code >= 500 for code in codes)
            raise DeliveryFailed(
                f"{what}: recipient refused {exc.recipients}", permanent=permanent
            ) from exc
        except smtplib.SMTPResponseException as exc:  # sender refused, data, auth …
            detail = (
                exc.smtp_error.decode("utf-8", "replace")
                if isinstance(exc.smtp_error, bytes)
                else str(exc.smtp_error)
            )
            raise DeliveryFailed(
                f"{what}: {exc.smtp_code} {detail}", permanent=exc.smtp_code >= 500
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:  # e.g. STARTTLS or AUTH not offered
            raise DeliveryFailed(f"{what}: {exc}", permanent=True) from exc
        except (smtplib.SMTPException, OSError) as exc:  # refused, dropped, timed out, TLS
            raise DeliveryFailed(f"{what}: {exc!r}", permanent=False) from exc

    def _connect(self) -> smtplib.SMTP:
        if self._implicit_tls:
            return smtplib.SMTP_SSL(
                self.host,
                self.port,
                timeout=self._timeout_s,
                context=self._tls or ssl.create_default_context(),
            )
        return smtplib.SMTP(self.host, self.port, timeout=self._timeout_s)

    def close(self) -> None:
        """Nothing held between messages."""
