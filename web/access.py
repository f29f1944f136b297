"""Who may call what: bearer tokens of API clients, scopes per route, the Host check.

Every write and every non-public read names its client: ``Authorization: Bearer
thc_<id>_<secret>``, a token issued by ``tracehub clients add NAME --scope …`` and
resolved by the records (``traceability.records.clients``: looked up by id, the
secret's hash compared in constant time). ``Access.protect(route, scope)`` wraps a
route of the table in ``web.app``:

* no token, or not ``Bearer`` → 401 ``credentials required``, saying what to send;
* a token nobody was issued → 401 ``unknown token``; a revoked one → 401 ``token
  revoked`` (with ``WWW-Authenticate: Bearer``, RFC 6750, on every 401);
* a client without the route's scope → 403 ``scope required``, naming the scope.

The authenticated client is left on the request (``client_of``), so the capture
endpoint signs the client's name into the event's capture receipt. ``read`` routes
pass untouched when the site opts into public reads (``TRACEHUB_WEB_PUBLIC_READ``,
the demo). The token lookup is a database read, so it runs off the event loop.

``HostCheck`` (ASGI middleware) refuses a ``Host`` header that is neither the public
URL's host nor a loopback name with 400: a page on another site whose name was
re-pointed at this hub (DNS rebinding) cannot reach the API through the visitor's
browser. Without a configured public URL every host is allowed (documented).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable, Mapping
from typing import Protocol
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from traceability.errors import StoreUnavailable
from traceability.records.clients import Client, parse_token
from traceability.records.clients import Scope as ClientScope
from web.problem import Problem

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
_CHALLENGE = 'Bearer realm="tracehub"'
_ISSUE = "tracehub clients add NAME --scope {scope}"
_HOST = re.compile(
    r"(?:(?P<name>[A-Za-z0-9.-]{1,253})|\[(?P<ipv6>[0-9A-Fa-f:.]{2,45})\])(?::\d{1,5})?"
)


class ClientDirectory(Protocol):
    """Resolves a bearer token (``RecordStore`` fits: ``ClientRecords.authenticate``)."""

    def authenticate(self, token: str) -> Client | None: ...


def client_of(request: Request) -> Client | None:
    """The client ``Access`` authenticated for this request (None: an open route)."""
    found = getattr(request.state, "client", None)
    return found if isinstance(found, Client) else None


def source_of(request: Request) -> str | None:
    """What a capture receipt names as the sender: the authenticated client's name."""
    client = client_of(request)
    return None if client is None else client.name


class Access:
    """Scopes per route over a ``ClientDirectory``."""

    def __init__(self, directory: ClientDirectory, *, public_read: bool = False) -> None:
        self._directory = directory
        self.public_read = public_read

    async def authorise(self, request: HTTPConnection, scope: ClientScope) -> Client:
        """The request's client if it holds ``scope``; else the 401/403 ``Problem``."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise _unauthorised(
                "credentials required",
                f"Authorization: send 'Bearer <token>' with a token that has the {scope!r} "
                f"scope (the site's operator issues one: {_ISSUE.format(scope=scope)})",
                None,
            )
        # A malformed token needs no database read to be refused.
        try:
            client = (
                None
                if parse_token(token) is None
                else await run_in_threadpool(self._directory.authenticate, token)
            )
        except StoreUnavailable as exc:
            raise Problem(503, "records unavailable", f"clients cannot be checked: {exc}") from exc
        if client is None:
            raise _unauthorised(
                "unknown token",
                "Authorization: this bearer token was not issued by this site (or was "
                "mistyped); send the token `tracehub clients add` printed",
                "invalid_token",
            )
        if client.revoked:
            raise _unauthorised(
                "token revoked",
                f"Authorization: the token of client {client.name} was revoked; ask the "
                "site's operator for a new one",
                "invalid_token",
            )
        if not client.allows(scope):
            held = ", ".join(client.scopes)
            raise Problem(
                403,
                "scope required",
                f"client {client.name} lacks the {scope!r} scope (it holds: {held}); "
                f"the site's operator issues a client with it: {_ISSUE.format(scope=scope)}",
                headers={
                    "WWW-Authenticate": f'{_CHALLENGE}, error="insufficient_scope", scope="{scope}"'
                },
            )
        request.state.client = client
        return client

    async def authorise_socket(self, websocket: WebSocket, scope: ClientScope) -> Client:
        """``authorise`` for a WebSocket handshake: the same ``Authorization`` header and
        refusals (the caller sends the ``Problem`` as the handshake's HTTP answer)."""
        return await self.authorise(websocket, scope)

    def protect(
        self,
        route: Route,
        scope: ClientScope | Mapping[str, ClientScope],
        *,
        problem_type: str | None = None,
    ) -> Route:
        """``route`` answering only clients with ``scope`` (``read``: everyone when the
        site's reads are public). A mapping gives each method its own scope (``GET``
        ``read``, ``POST`` ``subscribe``); a method it does not name is refused with 405
        by the route itself, ``OPTIONS`` (discovery) and ``HEAD`` take the ``GET`` scope.
        ``problem_type`` types the 401/403 answers (the EPCIS binding's routes answer
        ``epcisException:SecurityException``)."""
        per_method = {"*": scope} if isinstance(scope, str) else dict(scope)
        if all(s == "read" for s in per_method.values()) and self.public_read:
            return route
        inner = route.endpoint

        async def endpoint(request: Request) -> Response:
            method = request.method
            if method in ("OPTIONS", "HEAD") and method not in per_method:
                method = "GET"
            needed = per_method.get(method, per_method.get("*"))
            if needed is None:
                raise Problem(405, "method not allowed", f"{request.method} is not served here")
            if not (needed == "read" and self.public_read):
                try:
                    await self.authorise(request, needed)
                except Problem as refusal:
                    if problem_type is not None and refusal.status in (401, 403):
                        refusal.type = problem_type
                    raise
            if inspect.iscoroutinefunction(inner):
                response: Response = await inner(request)
            else:
                response = await run_in_threadpool(inner, request)
            return response

        return Route(
            route.path, endpoint, methods=sorted(route.methods or ["GET"]), name=route.name
        )


def _unauthorised(title: str, detail: str, error: str | None) -> Problem:
    challenge = _CHALLENGE if error is None else f'{_CHALLENGE}, error="{error}"'
    return Problem(401, title, detail, headers={"WWW-Authenticate": challenge})


def allowed_hosts(public_url: str | None) -> tuple[str, ...] | None:
    """The host names ``HostCheck`` lets through (None: any; no public URL configured)."""
    if not public_url:
        return None
    host = urlsplit(public_url).hostname
    if not host:
        raise ValueError(
            f"TRACEHUB_WEB_PUBLIC_URL {public_url!r}: give an absolute URL such as "
            "https://trace.example.com"
        )
    return tuple(dict.fromkeys([host.lower(), *LOOPBACK_HOSTS]))


class HostCheck:
    """ASGI middleware: 400 (problem+json) for a ``Host`` outside ``hosts``."""

    def __init__(self, app: ASGIApp, hosts: Iterable[str] | None) -> None:
        self._app = app
        self._hosts = None if hosts is None else frozenset(h.lower() for h in hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._hosts is None or scope["type"] not in ("http", "websocket"):
            await self._app(scope, receive, send)
            return
        given = Headers(scope=scope).get("host")
        if given is not None and _hostname(given) in self._hosts:
            await self._app(scope, receive, send)
            return
        response = Problem(
            400,
            "wrong host",
            f"Host: {given!r} is not this site; send the host of its public URL "
            f"({', '.join(sorted(self._hosts))})",
        ).response()
        await response(scope, receive, send)


def _hostname(header: str) -> str | None:
    """The host of a ``Host`` header, lower case, without port or IPv6 brackets (None:
    not a plain ``host[:port]``, e.g. with user info, a path or spaces)."""
    match = _HOST.fullmatch(header)
    if match is None:
        return None
    return (match["name"] or match["ipv6"]).lower()


JSON_TYPES = ("application/json", "application/ld+json")


def require_json(request: Request) -> None:
    """415 unless the body is declared JSON (``application/json`` or ``application/ld+json``,
    optionally ``; charset=utf-8``): what a browser sends cross-site without asking first
    (``text/plain``, forms) is never taken as a write, even with credentials."""
    declared = request.headers.get("content-type", "")
    media, *params = (part.strip().lower() for part in declared.split(";"))
    extra = [p for p in params if p.replace(" ", "") not in ("charset=utf-8", 'charset="utf-8"')]
    if media in JSON_TYPES and not extra:
        return
    raise Problem(
        415,
        "unsupported media type",
        f"Content-Type: {declared or 'none'!r} is not accepted; send the EPCISDocument as "
        "'application/json' or 'application/ld+json' (UTF-8)",
        headers={"Accept-Post": ", ".join(JSON_TYPES)},
    )
