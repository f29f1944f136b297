"""The console's HTML: Jinja templates under ``web/templates/console`` in the request's
language, with the signed-in user and the session's CSRF token in every page.

``ConsoleRenderer.page(request, name, status, user=..., csrf=..., **context)`` answers
an ``HTMLResponse`` (never cached: a console page is one user's). The language comes
from ``?lang=``, else the ``lang`` cookie the switch sets, else Accept-Language
(``web.i18n.negotiate``). Console pages share the consumer pages' filters.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from web.console.gate import SessionUser
from web.i18n import LANGUAGES, catalog, negotiate
from web.renderer import TEMPLATES, celsius, day, minutes, script_json, when

LANG_COOKIE = "tracehub_lang"


def language_of(request: Request) -> str:
    """The request's console language (see the module docstring)."""
    return negotiate(
        request.headers.get("accept-language"),
        request.query_params.get("lang") or request.cookies.get(LANG_COOKIE),
    )


class ConsoleRenderer:
    def __init__(self) -> None:
        self._env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._env.filters.update(
            c=celsius, minutes=minutes, when=when, day=day, script_json=script_json
        )

    def html(
        self,
        request: Request,
        name: str,
        *,
        user: SessionUser | None = None,
        csrf: str = "",
        **context: Any,
    ) -> str:
        """Template ``console/<name>`` rendered for ``request``."""
        lang = language_of(request)
        return self._env.get_template(f"console/{name}").render(
            t=catalog(lang).t,
            lang=lang,
            languages=LANGUAGES,
            path=request.url.path,
            user=user,
            csrf=csrf,
            **context,
        )

    def page(
        self,
        request: Request,
        name: str,
        status: int = 200,
        *,
        user: SessionUser | None = None,
        csrf: str = "",
        **context: Any,
    ) -> HTMLResponse:
        """The page as a response; ``?lang=`` is remembered in a cookie."""
        response = HTMLResponse(
            self.html(request, name, user=user, csrf=csrf, **context),
            status,
            headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"},
        )
        requested = request.query_params.get("lang")
        if requested in LANGUAGES:
            response.set_cookie(
                LANG_COOKIE, requested, max_age=365 * 86400, path="/console", samesite="strict"
            )
        return response
