"""The EPCIS 2.0 event query (SimpleEventQuery): its parameters, parsed and checked, and
the one predicate that says whether an event matches (pure; no I/O).

(Scaffold of issue #15's query slice: the signatures below are the contract the records
runner, the web routes and subscriptions are written against.)

``parse_query`` takes the URL query parameters of ``GET /events`` (and of the resource
endpoints, which add one fixed parameter); ``query_from_json`` the ``query`` object of a
named query (``../shared/standards/gs1-epcis-2.0/rest-binding/query-schema.json``).
Both raise ``QueryParameterInvalid`` naming the parameter. ``EventQuery.matches`` is the
truth: SQL may narrow the candidates, but an event is in the result only if its body
matches (so a tampered index column never adds or hides an event).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from gs1.errors import QueryParameterInvalid

__all__ = ["EventQuery", "QueryParameterInvalid", "parse_query", "query_from_json"]

OrderBy = Literal["eventTime", "recordTime"]  # the query may also order by other fields
Direction = Literal["ASC", "DESC"]
# WD_ parameters: the URNs under a location (the records' location hierarchy).
Descendants = Callable[[str], Iterable[str]]


class EventQuery(BaseModel):
    """A checked SimpleEventQuery; ``params`` keep what was given, in order."""

    model_config = ConfigDict(frozen=True)

    params: tuple[tuple[str, str], ...]
    order_by: str = "recordTime"
    order_direction: Direction = "ASC"
    event_count_limit: int | None = None
    max_event_count: int | None = None

    def matches(
        self,
        event: Mapping[str, Any],
        record_time: datetime,
        descendants: Descendants | None = None,
    ) -> bool:
        """Whether ``event`` (its stored JSON) captured at ``record_time`` is a result."""
        raise NotImplementedError

    def to_json(self) -> dict[str, Any]:
        """The query-schema.json ``query`` object of this query (named queries store it)."""
        raise NotImplementedError


def parse_query(params: Iterable[tuple[str, str]]) -> EventQuery:
    """The query of URL parameters (``perPage``/``nextPageToken`` are the caller's,
    not part of the query: pass the rest). Raises ``QueryParameterInvalid``."""
    raise NotImplementedError


def query_from_json(query: Mapping[str, Any]) -> EventQuery:
    """The query of a named query's ``query`` object. Raises ``QueryParameterInvalid``."""
    raise NotImplementedError
