"""The overview's fragments as HTML: a place's tile (with its sparkline) and the panel of
active incidents. The overview page includes the same templates, and the stream sends
them as they change, so a live screen and a reloaded one show the same markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from markupsafe import Markup
from starlette.requests import Request

from traceability.incidents.model import Incident
from web.console.board import BoardSettings, PlaceView, Snapshot
from web.console.render import ConsoleRenderer, language_of
from web.console.sparkline import sparkline
from web.i18n import catalog
from web.renderer import celsius

PANEL_SIZE = 12  # active incidents the overview lists (the incidents page has them all)


def spark_of(place: PlaceView, at: datetime, settings: BoardSettings, lang: str) -> Markup:
    """The place's sparkline over the board's span ending at ``at``."""
    t = catalog(lang).t
    hours = f"{settings.spark_hours:g}"
    if place.low is None and place.high is None:
        title = t("console.place.spark_unbanded", hours=hours)
    else:
        title = t(
            "console.place.spark", hours=hours, low=celsius(place.low), high=celsius(place.high)
        )
    start = at - timedelta(hours=settings.spark_hours)
    return Markup(sparkline(place.spark, place.low, place.high, start, at, title))


def sparks_of(
    places: Sequence[PlaceView], at: datetime, settings: BoardSettings, lang: str
) -> dict[str, Markup]:
    return {p.urn: spark_of(p, at, settings, lang) for p in places}


class Fragments:
    def __init__(self, renderer: ConsoleRenderer, settings: BoardSettings) -> None:
        self._renderer = renderer
        self._settings = settings

    def tile(self, request: Request, place: PlaceView, snapshot: Snapshot) -> str:
        lang = language_of(request)
        return self._renderer.html(
            request,
            "tile.html",
            place=place,
            sparks={place.urn: spark_of(place, snapshot.at, self._settings, lang)},
        )

    def panel(self, request: Request, incidents: Sequence[Incident]) -> str:
        return self._renderer.html(
            request, "panel.html", active=incidents[:PANEL_SIZE], active_total=len(incidents)
        )

    def announcement(self, request: Request, incident: Incident) -> str:
        return self._renderer.html(request, "announce.html", incident=incident)
