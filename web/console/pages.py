"""The console's route table: ``console_routes(...)`` gives every ``/console`` route.

* ``/console`` — the overview (viewer): sites → places with their temperature, sparkline
  against the band, status, door and active incidents (``board``); live through
  ``/console/stream`` (``stream``) and ``/static/console.js``, refreshed by a meta tag
  where scripts do not run (and by the script when the stream is refused). Those
  reloads ask for ``/console?auto=1``, which the gate only ``peek``s at: a reload nobody
  asked for is no use of the session, so an unattended screen still logs off when idle.
* ``/console/incidents…`` — the incidents and their steps (``incidentpages``), served
  when given an ``IncidentService``.
* the gate's own routes (login, logout) and ``extra_routes`` (the lots, devices and
  health pages), wrapped so their refusals are console pages too (a logout with a bad
  CSRF token: 403, not a crash); last a
  catch-all that answers an unknown ``/console/…`` page with the console's 404.

A ``Problem`` on a console page is an HTML page with its status; the gate's 303 to the
login form stays a redirect (``answers``). Building the routes does no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from traceability.coldchain.doors import DoorReader
from traceability.coldchain.exposure import TemperatureSeries
from traceability.errors import StoreUnavailable
from traceability.incidents.service import IncidentService
from web.console.answers import ConsolePages
from web.console.board import Board, BoardSettings, LatestReadings, PlaceSource
from web.console.gate import ConsoleGate, allows
from web.console.incidentpages import IncidentPages, SignedHook, StepHook
from web.console.render import ConsoleRenderer, language_of
from web.console.stream import LiveStream
from web.console.tiles import PANEL_SIZE, Fragments, sparks_of
from web.problem import Problem

STREAM_PATH = "/console/stream"
AUTO_RELOAD = "/console?auto=1"  # the page reloading itself, not someone using it


def console_routes(
    gate: ConsoleGate,
    renderer: ConsoleRenderer,
    places: PlaceSource,
    incidents: IncidentService | None,
    temperatures: LatestReadings,
    *,
    series: TemperatureSeries | None = None,
    doors: DoorReader | None = None,
    settings: BoardSettings | None = None,
    now: Callable[[], datetime] | None = None,
    on_signed: SignedHook | None = None,
    on_step: StepHook | None = None,
    grafana: str | None = None,
    extra_routes: Sequence[BaseRoute] = (),
) -> list[BaseRoute]:
    """Every ``/console`` route (module docstring). Ports: ``places`` the locations and the
    products at them (``RecordPlaces``), ``temperatures`` the newest reading per place,
    ``series`` the sparklines' buckets, ``doors`` the door signal (each InfluxDB in the
    hub; without ``series`` or ``doors`` the tiles leave them out). ``on_signed(signature,
    action, subject)`` is told of every e-signature the console took (the audit trail);
    ``on_step(gtin, lot)`` of every lot an incident step was taken on (the page cache).
    ``grafana``: the URL of the site's matching Grafana dashboard, linked from the
    overview ("Open in Grafana"); None: no link."""
    board = Board(
        places,
        temperatures,
        series=series,
        doors=doors,
        incidents=incidents,
        settings=settings,
        now=now,
    )
    pages = ConsolePages(gate, renderer)
    fragments = Fragments(renderer, board.settings)
    live = LiveStream(gate, board, fragments, incidents=incidents is not None)

    async def overview(request: Request) -> Response:
        user = await gate.peek(request) if request.query_params.get("auto") else None
        if user is None or not allows(user.role, "viewer"):
            user = await gate.require(request, "viewer")
        try:
            snapshot = await board.snapshot()
        except StoreUnavailable as exc:
            raise Problem(
                503, "records unavailable", f"{exc}; try again", headers={"Retry-After": "5"}
            ) from exc
        return renderer.page(
            request,
            "overview.html",
            user=user,
            csrf=gate.csrf_token(request),
            snapshot=snapshot,
            sparks=sparks_of(snapshot.places, snapshot.at, board.settings, language_of(request)),
            active=snapshot.incidents[:PANEL_SIZE],
            active_total=len(snapshot.incidents),
            incidents_served=incidents is not None,
            stream=STREAM_PATH,
            reload=AUTO_RELOAD,
            grafana=grafana,
            refresh_s=max(30, int(board.settings.poll_s * 6)),
        )

    async def unknown(request: Request) -> Response:
        await gate.require(request, "viewer")
        if not request.path_params["rest"]:
            return RedirectResponse("/console", 308)
        raise Problem(404, "no such page", f"{request.url.path}: the console has no such page")

    routes: list[BaseRoute] = [
        pages.route("/console", overview),
        pages.route(STREAM_PATH, live.endpoint),
    ]
    if incidents is not None:
        routes.extend(IncidentPages(pages, incidents, on_signed, on_step).routes())
    routes.extend(pages.wrap(route) for route in (*gate.routes(), *extra_routes))
    routes.append(pages.route("/console/{rest:path}", unknown))
    return routes
