"""The EPCISQueryDocument a subscriber receives, and the one ``GET /queries/{name}/events``
answers (pure): each stored event with its ``eventID`` and ``recordTime``, under
``queryResults`` naming the query (and the subscription, when it is one's delivery).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from gs1.epcis.event import EPCIS_CONTEXT, SCHEMA_VERSION, format_time
from traceability.records.entities import StoredEvent


def shown_id(event: StoredEvent) -> str:
    """The ``eventID`` a result shows: the sender's own when the body has one, else the
    hash ID the event is stored by (as ``GET /events`` shows it, ``web.epcisquery``)."""
    own = event.document().get("eventID")
    return own if isinstance(own, str) else event.id


def event_json(event: StoredEvent) -> dict[str, Any]:
    """The stored event as a query result: its body, ``eventID`` and ``recordTime``."""
    return {
        **event.document(),
        "eventID": shown_id(event),
        "recordTime": format_time(event.captured_at),
    }


def query_document(
    events: Sequence[StoredEvent],
    *,
    query_name: str,
    created: datetime,
    subscription_id: str | None = None,
) -> dict[str, Any]:
    """An EPCISQueryDocument of ``events`` in their order."""
    results: dict[str, Any] = {}
    if subscription_id is not None:
        results["subscriptionID"] = subscription_id
    results["queryName"] = query_name
    results["resultsBody"] = {"eventList": [event_json(e) for e in events]}
    return {
        "@context": [EPCIS_CONTEXT],
        "type": "EPCISQueryDocument",
        "schemaVersion": SCHEMA_VERSION,
        "creationDate": format_time(created),
        "epcisBody": {"queryResults": results},
    }
