"""How a console page answers a refusal: a ``Problem`` raised by an endpoint (or by the
gate) becomes an HTML page in the user's language with its status (403 a role the
page needs, 404, 409 a step the lifecycle refuses now …) and its detail; a redirect
(``require``'s 303 to the login form) is passed on as a redirect.

``ConsolePages.route(path, endpoint, methods)`` wraps an endpoint so; ``wrap`` does the
same to a route another module built (the lots, devices and health pages).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from web.console.gate import ConsoleGate, SessionUser
from web.console.render import ConsoleRenderer
from web.problem import Problem

log = logging.getLogger(__name__)
Endpoint = Callable[[Request], Awaitable[Response]]
# The heading of the error page per status (the detail says the rest).
_HEADINGS = {400: "bad", 403: "forbidden", 404: "missing", 409: "conflict", 415: "bad"}


class ConsolePages:
    def __init__(self, gate: ConsoleGate, renderer: ConsoleRenderer) -> None:
        self.gate = gate
        self.renderer = renderer

    def route(self, path: str, endpoint: Endpoint, methods: list[str] | None = None) -> Route:
        return Route(path, self.guard(endpoint), methods=methods or ["GET"])

    def wrap(self, route: BaseRoute) -> BaseRoute:
        """``route`` answering its refusals as console pages (a function endpoint's)."""
        if not isinstance(route, Route) or not callable(route.endpoint):
            return route
        endpoint = route.endpoint
        return Route(
            route.path,
            self.guard(endpoint),
            methods=sorted(route.methods - {"HEAD"}) if route.methods else None,
            name=route.name,
        )

    def guard(self, endpoint: Callable[[Request], object]) -> Endpoint:
        async def guarded(request: Request) -> Response:
            try:
                answer = endpoint(request)
                result = await answer if isinstance(answer, Awaitable) else answer
            except Problem as problem:
                return await self.refused(request, problem)
            if not isinstance(result, Response):
                raise TypeError(f"{request.url.path}: the endpoint answered no Response")
            return result

        return guarded

    async def refused(self, request: Request, problem: Problem) -> Response:
        if 300 <= problem.status < 400 and "Location" in problem.headers:
            return RedirectResponse(problem.headers["Location"], problem.status)
        user, csrf = await self.session(request)
        heading = _HEADINGS.get(problem.status, "unavailable" if problem.status >= 500 else "bad")
        response = self.renderer.page(
            request,
            "error.html",
            problem.status,
            user=user,
            csrf=csrf,
            heading=heading,
            title=problem.title,
            detail=problem.detail,
            back=_back(request),
        )
        for name, value in problem.headers.items():
            response.headers.setdefault(name, value)
        return response

    async def session(self, request: Request) -> tuple[SessionUser | None, str]:
        """The user and CSRF token for a page's header (none when there is no session, or
        when the accounts cannot say: the error page is shown all the same)."""
        try:
            user = await self.gate.user(request)
        except Problem:
            return None, ""
        return user, (self.gate.csrf_token(request) if user is not None else "")


def _back(request: Request) -> str:
    """Where the error page links back to: the page above (the incident a form of it was
    posted from, the list an unknown incident was looked for in)."""
    path = request.url.path.rstrip("/")
    return path.rsplit("/", 1)[0] if path.count("/") > 2 else "/console"
