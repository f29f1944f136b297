"""What a subscriber asks for, checked (pure): a webhook's body or a WebSocket's URL
parameters become one frozen ``SubscriptionRequest``; ``check_destination`` says whether
the hub may POST to a webhook URL.

Scheduled subscriptions (``schedule``, or ``second``/``minute``/... on a WebSocket) are
refused with a 400 naming the field: this repository streams (``stream: true``) and
backfills from ``initialRecordTime``; a schedule is not run.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import AwareDatetime, BaseModel, ConfigDict

from traceability.subscriptions.errors import SubscriptionInvalid

SubscriptionKind = Literal["webhook", "websocket"]
# The binding's subscription body (AbstractQuerySubscription + Stream/Schedule).
WEBHOOK_FIELDS = (
    "dest",
    "signatureToken",
    "reportIfEmpty",
    "stream",
    "schedule",
    "initialRecordTime",
)
SCHEDULE_FIELDS = ("second", "minute", "hour", "dayOfMonth", "month", "dayOfWeek")
# A WebSocket's URL parameters; ``subscriptionID`` (ours) resumes a subscription.
WEBSOCKET_PARAMS = (
    "stream",
    "reportIfEmpty",
    "initialRecordTime",
    "subscriptionID",
    *SCHEDULE_FIELDS,
)
MAX_DEST = 2000
MAX_TOKEN = 500
NO_SCHEDULE = (
    "scheduled subscriptions are not run by this repository; subscribe with "
    '"stream": true (and "initialRecordTime" for the events captured since then)'
)


class SubscriptionRequest(BaseModel):
    """A checked subscription request."""

    model_config = ConfigDict(frozen=True)

    kind: SubscriptionKind
    dest: str | None = None
    signature_token: str | None = None
    report_if_empty: bool = False
    stream: bool = True
    initial_record_time: AwareDatetime | None = None


def webhook_request(body: object) -> SubscriptionRequest:
    """The request of a ``POST /queries/{name}/subscriptions`` body (JSON, parsed)."""
    if not isinstance(body, Mapping):
        raise SubscriptionInvalid("body", "send a JSON object with dest and stream: true")
    for key in body:
        if key not in WEBHOOK_FIELDS:
            raise SubscriptionInvalid(
                str(key), f"not a subscription field; the binding has {', '.join(WEBHOOK_FIELDS)}"
            )
    if body.get("schedule") is not None:
        raise SubscriptionInvalid("schedule", NO_SCHEDULE)
    dest = body.get("dest")
    if not isinstance(dest, str) or not dest:
        raise SubscriptionInvalid("dest", "give the webhook URL (http:// or https://)")
    _url(dest)
    token = body.get("signatureToken")
    if token is not None and (not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN):
        raise SubscriptionInvalid(
            "signatureToken", f"give a string of 1 to {MAX_TOKEN} characters (the HMAC key)"
        )
    return SubscriptionRequest(
        kind="webhook",
        dest=dest,
        signature_token=token,
        report_if_empty=_flag(body.get("reportIfEmpty", False), "reportIfEmpty"),
        stream=_stream(body.get("stream")),
        initial_record_time=_moment(body.get("initialRecordTime")),
    )


def websocket_request(params: Mapping[str, str]) -> tuple[SubscriptionRequest, str | None]:
    """The request of a WebSocket's URL parameters, and the ``subscriptionID`` it resumes."""
    for key in params:
        if key not in WEBSOCKET_PARAMS:
            raise SubscriptionInvalid(
                key, f"not a subscription parameter; use {', '.join(WEBSOCKET_PARAMS)}"
            )
    for key in SCHEDULE_FIELDS:
        if key in params:
            raise SubscriptionInvalid(key, NO_SCHEDULE)
    resume = params.get("subscriptionID") or None
    stream = params.get("stream")
    request = SubscriptionRequest(
        kind="websocket",
        report_if_empty=_flag(_boolean(params.get("reportIfEmpty", "false")), "reportIfEmpty"),
        # Resuming needs no stream=true again: the subscription already streams.
        stream=True if resume is not None and stream is None else _stream(_boolean(stream)),
        initial_record_time=_moment(params.get("initialRecordTime")),
    )
    return request, resume


def check_destination(
    url: str, *, public_only: bool, resolve: Callable[[str], Iterable[str]] | None = None
) -> list[str]:
    """Raise ``SubscriptionInvalid("dest")`` for a URL the hub must not POST to: not
    http(s), or (``public_only``) a loopback, private, link-local, metadata or reserved
    address, literally or as ``resolve(host)`` gives it (the caller's DNS lookup). The
    public addresses checked (empty unless ``public_only``): a sender connects to one
    of them, not to whatever the name resolves to a moment later."""
    host = _url(url)
    if not public_only:
        return []
    if host == "localhost" or host.endswith(".localhost"):
        raise SubscriptionInvalid("dest", f"{host} is this machine; give a public address")
    try:
        addresses: list[str] = [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        addresses = list(resolve(host)) if resolve is not None else []
    if not addresses:
        raise SubscriptionInvalid("dest", f"{host} resolves to no address")
    for address in addresses:
        check_address(host, address)
    return addresses


def check_address(host: str, address: str) -> None:
    """Raise ``SubscriptionInvalid("dest")`` unless ``address`` (of ``host``) is public."""
    ip = ipaddress.ip_address(address.split("%")[0])
    mapped = getattr(ip, "ipv4_mapped", None)  # ::ffff:127.0.0.1 is 127.0.0.1
    if not ip.is_global or (mapped is not None and not mapped.is_global):
        raise SubscriptionInvalid(
            "dest",
            f"{host} is (or resolves to) {address}, not a public address; this site "
            "only sends to public addresses (TRACEHUB_SUBSCRIPTIONS_PUBLIC_ONLY)",
        )


def _url(url: str) -> str:
    """The host of a webhook URL, lower case; refuses anything else."""
    if len(url) > MAX_DEST:
        raise SubscriptionInvalid("dest", f"the URL has {len(url)} characters; at most {MAX_DEST}")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a port out of range
    except ValueError as exc:
        raise SubscriptionInvalid("dest", f"{url!r} is not a URL: {exc}") from exc
    if parts.scheme not in ("http", "https") or not host:
        raise SubscriptionInvalid("dest", "give an http:// or https:// URL with a host")
    return host.lower()


def _flag(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise SubscriptionInvalid(field, "give true or false")
    return value


def _boolean(value: str | None) -> bool | None:
    if value is None:
        return None
    lowered = value.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    return value  # type: ignore[return-value]  # _flag/_stream name it


def _stream(value: Any) -> bool:
    if value is True:
        return True
    raise SubscriptionInvalid(
        "stream", 'give "stream": true (the binding\'s stream subscription); ' + NO_SCHEDULE
    )


def _moment(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise SubscriptionInvalid("initialRecordTime", "give an RFC 3339 date-time")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise SubscriptionInvalid(
            "initialRecordTime", f"{value!r} is not a date-time such as 2026-12-01T08:00:00Z"
        ) from exc
    if moment.tzinfo is None:
        raise SubscriptionInvalid("initialRecordTime", f"{value!r}: give its offset (Z, +01:00)")
    return moment
