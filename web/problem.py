"""RFC 9457 problem details: the one shape of every error answer of the JSON endpoints.

An endpoint that cannot answer raises ``Problem(status, title, detail)``; ``create_app``
registers ``handle_problem`` for it, which writes ``application/problem+json``::

    {"type":"about:blank","title":"bad GTIN","detail":"GTIN 123: has 3 digits"}

``title`` is the kind of problem, short and the same for every occurrence; ``detail``
names the field (or resource) and the fix. ``type`` stays ``about:blank`` because the
status and title say all a client needs and no problem-type pages are published, except
where a standard names the type (EPCIS: ``epcisException:CaptureLimitExceededException``).
Third-party and traceability errors are translated where they are caught, with
``raise Problem(...) from exc``, because the same error means a different problem in
different places (a malformed GTIN is a "bad GTIN" in a path, a "bad query parameter"
in a query).

The consumer pages do not answer this way: a shopper with a bad code gets an HTML page
in their language (``web.pages``).
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

PROBLEM_TYPE = "application/problem+json"


class Problem(Exception):  # noqa: N818 - an HTTP answer, named as RFC 9457 names it
    """An error answer: HTTP ``status``, ``title``, ``detail`` and extra ``headers``."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        type: str = "about:blank",
    ) -> None:
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail
        self.headers = dict(headers or {})
        # A standard's problem type where it names one (EPCIS: epcisException:…).
        self.type = type

    def response(self) -> JSONResponse:
        return JSONResponse(
            {"type": self.type, "title": self.title, "detail": self.detail},
            self.status,
            headers=self.headers,
            media_type=PROBLEM_TYPE,
        )


async def handle_problem(_request: Request, exc: Exception) -> Response:
    """The exception handler for ``Problem`` (Starlette's handler signature)."""
    if not isinstance(exc, Problem):  # registered for Problem only; anything else is a bug
        raise exc
    return exc.response()
