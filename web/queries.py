"""EPCIS 2.0 named queries and subscriptions: ``/queries…`` (webhooks and WebSocket).

(Scaffold: filled in by the subscriptions slice of issue #15.)
"""

from __future__ import annotations

from starlette.routing import BaseRoute


def named_query_routes() -> list[BaseRoute]:
    """``/queries``, ``/queries/{queryName}``, ``…/events``, ``…/subscriptions``."""
    return []
