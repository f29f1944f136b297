"""EPCIS 2.0 query per the REST binding: ``GET /events`` and the resource endpoints.

(Scaffold: filled in by the query slice of issue #15.)
"""

from __future__ import annotations

from starlette.routing import Route


def query_routes() -> list[Route]:
    """``/events``, ``/events/{eventID}``, ``/eventTypes…``, ``/epcs…``, ``/bizSteps…``,
    ``/bizLocations…``, ``/readPoints…``, ``/dispositions…`` and the discovery ``/``."""
    return []
