"""EPCIS 2.0 capture per the REST binding: ``POST /capture`` and its capture jobs.

(Scaffold: filled in by the capture-jobs slice of issue #15.)
"""

from __future__ import annotations

from starlette.routing import Route


def capture_routes() -> list[Route]:
    """The capture routes (``/capture``, ``/capture/{captureID}``, the ``/epcis/capture``
    alias)."""
    return []
