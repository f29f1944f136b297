"""Which new events each stream subscription gets (pure; the capture hook's core).

``QueryCache`` keeps each named query parsed, keyed by its stored JSON text: the hook's
one SELECT per capture transaction says which subscriptions exist now (so a cancelled or
new one is seen at once, on every replica), and only the parse is cached. ``matched``
parses each new event's body once and asks every subscription's query; the query's
``EventQuery.matches`` is the one truth of what a query selects (``gs1.epcis.query``).

A query that cannot be parsed or that fails on an event is logged and skipped for that
event: one broken subscription must never refuse a capture.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from gs1.epcis.event import declared_id

log = logging.getLogger(__name__)
Descendants = Callable[[str], Iterable[str]]


class Query(Protocol):
    """What matching needs of ``gs1.epcis.query.EventQuery``."""

    def matches(
        self,
        event: Mapping[str, Any],
        record_time: datetime,
        descendants: Descendants | None = None,
    ) -> bool: ...


class QueryCache:
    """Parsed queries by their JSON text (at most ``size``, least recently used out)."""

    def __init__(self, parse: Callable[[Mapping[str, Any]], Query], size: int = 1024) -> None:
        self._parse = parse
        self._size = size
        self._queries: OrderedDict[str, Query | None] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, text: str) -> Query | None:
        """The query of ``text``; None (logged once) when it no longer parses."""
        with self._lock:
            if text in self._queries:
                self._queries.move_to_end(text)
                return self._queries[text]
        try:
            query: Query | None = self._parse(json.loads(text))
        except Exception:  # a stored query this version refuses: skip, say so once
            log.exception("a stored named query does not parse; its subscriptions get nothing")
            query = None
        with self._lock:
            self._queries[text] = query
            while len(self._queries) > self._size:
                self._queries.popitem(last=False)
        return query


def matched(
    subscriptions: Sequence[tuple[str, Query]],
    created: Sequence[tuple[str, str]],
    record_time: datetime,
    descendants: Descendants | None = None,
) -> list[tuple[str, str]]:
    """(subscription id, event id) for each new event (id, body JSON) each query matches."""
    if not subscriptions or not created:
        return []
    pairs: list[tuple[str, str]] = []
    for event_id, body in created:
        try:
            event = json.loads(body)
        except ValueError:
            log.error("event %s: its stored body is not JSON; no subscription gets it", event_id)
            continue
        if isinstance(event, dict) and "eventID" not in event:
            event = {**event, "eventID": declared_id(event_id)}  # EQ_eventID: the stored id
        for subscription_id, query in subscriptions:
            try:
                hit = query.matches(event, record_time, descendants)
            except Exception:
                log.exception(
                    "subscription %s: its query failed on event %s", subscription_id, event_id
                )
                continue
            if hit:
                pairs.append((subscription_id, event_id))
    return pairs
