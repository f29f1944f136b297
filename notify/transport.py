"""One HTTP POST with a timeout, its outcome translated into ``DeliveryFailed``.

Shared by the webhook and the SMS gateway. Which failures are worth retrying: a
connection error, a timeout, 408, 425, 429 and 5xx (the receiver may take it later);
any other non-2xx answer is permanent (the same request would be refused again).
Redirects are not followed: a POST that is redirected would be replayed elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from notify.errors import DeliveryFailed

RETRYABLE = frozenset({408, 425, 429})


def post(
    client: httpx.Client,
    url: str,
    *,
    what: str,
    content: bytes | None = None,
    data: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    auth: tuple[str, str] | None = None,
) -> httpx.Response:
    """POST to ``url``; the response when it is 2xx, else ``DeliveryFailed``. ``what``
    names the destination in errors (never the URL: it may hold a token)."""
    kwargs: dict[str, Any] = {"headers": dict(headers or {})}
    if content is not None:
        kwargs["content"] = content
    if data is not None:
        kwargs["data"] = dict(data)
    if auth is not None:
        kwargs["auth"] = auth
    try:
        response = client.post(url, **kwargs)
    except httpx.TimeoutException as exc:
        raise DeliveryFailed(f"{what}: timed out ({exc!r})", permanent=False) from exc
    except httpx.TransportError as exc:
        raise DeliveryFailed(f"{what}: cannot connect ({exc!r})", permanent=False) from exc
    except httpx.HTTPError as exc:  # e.g. an invalid URL met only at send time
        raise DeliveryFailed(f"{what}: {exc!r}", permanent=True) from exc
    status = response.status_code
    if 200 <= status < 300:
        return response
    permanent = not (status in RETRYABLE or status >= 500)
    body = response.text[:200].strip()
    raise DeliveryFailed(
        f"{what}: HTTP {status}" + (f": {body}" if body else ""), permanent=permanent
    )


def http_client(timeout_s: float) -> httpx.Client:
    """A client with ``timeout_s`` on connect, read, write and pool waits, no redirects."""
    return httpx.Client(timeout=httpx.Timeout(timeout_s), follow_redirects=False)
