"""The SMS channel: a text message through an HTTP SMS gateway.

URL: the gateway's endpoint, with two options of ours in the query (removed before the
request is sent): ``shape`` (how the request looks, below) and ``from`` (the sender id or
number, where the shape has one). User and password in the URL become HTTP basic auth.

Shapes:

* ``json`` (default): ``POST <url>`` with the JSON body ``{"to", "text", "id"}`` and the
  header ``X-Tracehub-Delivery: <id>``; a small relay of your own (or a gateway with a
  configurable JSON template) maps it to the provider.
* ``twilio``: Twilio's Programmable Messaging REST API, "create a Message":
  ``POST https://api.twilio.com/2010-04-01/Accounts/{AccountSid}/Messages.json``, a
  form-encoded body with ``To``, ``From`` and ``Body``, HTTP basic auth with the Account
  SID (or an API key SID) and its secret (https://www.twilio.com/docs/usage/your-request-to-twilio,
  https://www.twilio.com/docs/messaging/api/message-resource). Give it as
  ``https://ACxxx:TOKEN@api.twilio.com/2010-04-01/Accounts/ACxxx/Messages.json?shape=twilio&from=%2B15550001111``.
  Twilio's form has no field of ours for the id, so a redelivery after a crash may
  reach the phone twice.

Other providers differ in field names only; add a shape here when one can be checked.
"""

from __future__ import annotations

import json
from typing import Literal, get_args
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import httpx

from notify.channel import DEFAULT_TIMEOUT_S, ChannelKind
from notify.errors import BadDestination, DeliveryFailed
from notify.message import Message
from notify.transport import http_client, post
from notify.webhook import DELIVERY_HEADER

Shape = Literal["json", "twilio"]
SHAPES: tuple[Shape, ...] = get_args(Shape)
MAX_TEXT = 459  # three concatenated GSM-7 segments (153 characters each)


class SmsChannel:
    """Sends SMS through one HTTP gateway."""

    def __init__(
        self,
        url: str,
        *,
        shape: Shape = "json",
        sender: str | None = None,
        auth: tuple[str, str] | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        parsed = httpx.URL(url)
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise BadDestination(
                "SMS URL: give the gateway's http(s) URL (TRACEHUB_ALERTS_SMS_URL)"
            )
        if shape == "twilio" and (auth is None or not sender):
            raise BadDestination(
                "SMS URL shape=twilio: put the Account SID and auth token in the URL "
                "(https://SID:TOKEN@api.twilio.com/…) and the sender as from=…"
            )
        self._url, self.shape, self.sender, self._auth = url, shape, sender, auth
        self._what = f"SMS gateway {parsed.scheme}://{parsed.host}"
        self._timeout_s = timeout_s
        self._client: httpx.Client | None = None

    @classmethod
    def from_url(cls, url: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> SmsChannel:
        parts = urlsplit(url)
        ours = {"shape", "from"}
        query = parse_qsl(parts.query, keep_blank_values=True)
        options = {k: v for k, v in query if k in ours}
        shape = options.get("shape", "json")
        if shape not in SHAPES:
            raise BadDestination(f"SMS URL: shape={shape!r}; use one of {', '.join(SHAPES)}")
        auth = None
        if parts.username is not None:
            auth = (unquote(parts.username), unquote(parts.password or ""))
        netloc = parts.hostname or ""
        if ":" in netloc:
            netloc = f"[{netloc}]"
        if parts.port is not None:
            netloc += f":{parts.port}"
        rest = urlencode([(k, v) for k, v in query if k not in ours])
        endpoint = urlunsplit((parts.scheme, netloc, parts.path, rest, ""))
        return cls(
            endpoint,
            shape=shape,  # checked against SHAPES above
            sender=options.get("from") or None,
            auth=auth,
            timeout_s=timeout_s,
        )

    @property
    def kind(self) -> ChannelKind:
        return "sms"

    def send(self, message: Message, address: str) -> None:
        number = address.replace(" ", "")
        if not number.lstrip("+").isdigit():
            raise DeliveryFailed(f"SMS to {address!r}: not a phone number", permanent=True)
        text = message.sms_text[:MAX_TEXT]
        if self._client is None:
            self._client = http_client(self._timeout_s)
        what = f"{self._what} to {number}"
        if self.shape == "twilio":
            form = {"To": number, "From": self.sender or "", "Body": text}
            post(self._client, self._url, what=what, data=form, auth=self._auth)
            return
        body = {"to": number, "text": text, "id": message.id}
        if self.sender:
            body["from"] = self.sender
        post(
            self._client,
            self._url,
            what=what,
            content=json.dumps(body, ensure_ascii=False).encode("utf-8"),
            headers={"Content-Type": "application/json", DELIVERY_HEADER: message.id},
            auth=self._auth,
        )

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
