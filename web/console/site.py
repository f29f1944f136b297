"""The console as one route of the site: every ``/console…`` request goes to the console's
own app, behind the same ``RequestLimits`` as the rest of the site (URL length, body size
and deadline), without the path being rewritten (its pages name ``/console/…`` paths).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import URLPath
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import ASGIApp, Receive, Scope, Send

from web.limits import Limits, RequestLimits

PREFIX = "/console"


class _Prefixed(BaseRoute):
    """Matches ``PREFIX`` and everything below it; hands the request on unchanged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path = scope.get("path", "")
        if scope["type"] in ("http", "websocket") and (
            path == PREFIX or path.startswith(PREFIX + "/")
        ):
            return Match.FULL, {}
        return Match.NONE, {}

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def console_route(routes: Sequence[BaseRoute], limits: Limits) -> BaseRoute:
    """The console's ``routes`` as one bounded route of the site."""
    app = Starlette(routes=list(routes), middleware=[Middleware(RequestLimits, limits=limits)])
    return _Prefixed(app)
