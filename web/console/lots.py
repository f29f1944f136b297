"""The console's lot pages: stock per place and recall search (viewer and up).

* ``GET /console/lots``: per place, the lots there now in FEFO order with their expiry
  and the stability budget each has left; the lots expired or near expiry, first expiry
  first, with where they are; each linked to its consumer page (``web.console.lotsview``).
* ``GET /console/recall?place=URN&from=T&to=T``: the search form and, when asked, which
  lots were at the place at any time between the two instants. The search only reads,
  so it is a GET form (bookmarkable, no CSRF token needed). Times are UTC; a form's
  ``datetime-local`` value (no offset) is read as UTC, an ISO 8601 value with an offset
  as given. A bad field re-renders the form with a 400 and says which and why.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from traceability.expiry import DEFAULT_NEAR_EXPIRY_DAYS
from traceability.records.store import RecordStore
from web.console.gate import ConsoleGate
from web.console.lotsview import MAX_BUDGETS, LotBook, LotExposure, Recall
from web.console.render import ConsoleRenderer
from web.errors import WebError

# The window the recall form proposes before anything is asked.
DEFAULT_WINDOW = timedelta(days=1)


class _FieldError(WebError, ValueError):
    """A recall field that cannot be read: ``field`` names it, ``reason`` is the code
    the template says it with (bad_place, bad_time, bad_order)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def lot_routes(
    gate: ConsoleGate,
    renderer: ConsoleRenderer,
    store: RecordStore,
    *,
    exposure: LotExposure | None = None,
    near_expiry_days: int = DEFAULT_NEAR_EXPIRY_DAYS,
    today: Callable[[], date] | None = None,
    now: Callable[[], datetime] | None = None,
    max_budgets: int = MAX_BUDGETS,
) -> list[Route]:
    """``/console/lots`` and ``/console/recall``; ``exposure`` computes the budgets left
    (without it the page says "not computed"; at most ``max_budgets`` a page);
    ``today``/``now`` for tests."""
    book = LotBook(store, exposure, near_expiry_days, max_budgets)
    clock = now or (lambda: datetime.now(UTC))
    day = today or (lambda: clock().date())

    async def lots_page(request: Request) -> Response:
        user = await gate.require(request, "viewer")
        stock = await run_in_threadpool(book.stock, day())
        return renderer.page(
            request, "lots.html", user=user, csrf=gate.csrf_token(request), stock=stock
        )

    async def recall_page(request: Request) -> Response:
        user = await gate.require(request, "viewer")
        params = request.query_params
        places = await run_in_threadpool(book.places)
        moment = clock().astimezone(UTC).replace(second=0, microsecond=0, tzinfo=None)
        form = {
            "place": params.get("place", ""),
            "from": params.get("from", (moment - DEFAULT_WINDOW).isoformat(timespec="minutes")),
            "to": params.get("to", moment.isoformat(timespec="minutes")),
        }
        result: Recall | None = None
        problem: _FieldError | None = None
        if "place" in params:
            try:
                place, start, end = _query(form, places)
            except _FieldError as exc:
                problem = exc
            else:
                result = await run_in_threadpool(book.recall, place, start, end)
        return renderer.page(
            request,
            "recall.html",
            400 if problem is not None else 200,
            user=user,
            csrf=gate.csrf_token(request),
            places=places,
            form=form,
            result=result,
            problem=problem,
            # The language switch keeps the search (base.html appends ``lang``).
            keep_query=urlencode([(k, v) for k, v in params.multi_items() if k != "lang"]),
        )

    return [
        Route("/console/lots", lots_page, methods=["GET"]),
        Route("/console/recall", recall_page, methods=["GET"]),
    ]


def _query(form: dict[str, str], places: dict[str, str]) -> tuple[str, datetime, datetime]:
    place = form["place"].strip()
    if place not in places:
        raise _FieldError("place", "bad_place")
    start = _instant(form["from"], "from")
    end = _instant(form["to"], "to")
    if end < start:
        raise _FieldError("to", "bad_order")
    return place, start, end


def _instant(text: str, field: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise _FieldError(field, "bad_time") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
