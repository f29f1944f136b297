"""The EPCIS 2.0 event query (SimpleEventQuery): its parameters, parsed and checked, and
the one predicate that says whether an event matches (pure; no I/O).

``parse_query`` takes the URL query parameters of ``GET /events`` (and of the resource
endpoints, which add one fixed parameter); ``query_from_json`` the ``query`` object of a
named query (``../shared/standards/gs1-epcis-2.0/rest-binding/query-schema.json``).
Both raise ``QueryParameterInvalid`` naming the parameter. ``EventQuery.matches`` is the
truth: SQL may narrow the candidates, but an event is in the result only if its body
matches (so a tampered index column never adds an event).

Parameters (EPCIS 2.0 section 8.2.7.1, the REST binding's OpenAPI and query schema):

* fixed names: ``eventType``, ``GE_/LT_eventTime``, ``GE_/LT_recordTime``, ``EQ_action``,
  ``EQ_bizStep``, ``EQ_disposition``, ``EQ_persistentDisposition_set/_unset``,
  ``EQ_/WD_readPoint``, ``EQ_/WD_bizLocation``, ``EQ_transformationID``, the nine
  ``MATCH_`` EPC and EPC class parameters, ``EQ_/GT_/GE_/LT_/LE_quantity``, ``EQ_eventID``,
  ``EXISTS_errorDeclaration``, ``GE_/LT_errorDeclarationTime``, ``EQ_errorReason``,
  ``EQ_correctiveEventID``, the sensor ones (``EXISTS_sensorElementList``,
  ``GE_/LT_time``, ``GE_/LT_startTime``, ``GE_/LT_endTime``, ``EQ_type``, ``EQ_deviceID``,
  ``EQ_dataProcessingMethod``, ``EQ_microorganism``, ``EQ_chemicalSubstance``,
  ``EQ_bizRules``, ``EQ_stringValue``, ``EQ_hexBinaryValue``, ``EQ_uriValue``,
  ``EQ_booleanValue``, ``GT_/GE_/LT_/LE_percRank``), ``orderBy``, ``orderDirection``,
  ``eventCountLimit``, ``maxEventCount``;
* names with a unit (``_CEL``): ``EQ_value_uom`` and ``GT_/GE_/LT_/LE_`` of ``value``,
  ``minValue``, ``maxValue``, ``meanValue``, ``sDev``, ``percValue``; ``EQ_quantity_uom``
  and the quantity bounds per unit;
* names with a type: ``EQ_bizTransaction_type``, ``EQ_source_type``,
  ``EQ_destination_type``;
* extension fields (``prefix:name``, as the event's JSON writes it): ``EQ_/GT_/GE_/LT_/
  LE_/EXISTS_`` with an optional ``INNER_`` (nested at any depth) and a scope
  (``ILMD_``, ``ERROR_DECLARATION_``, ``SENSORELEMENT_``, ``SENSORMETADATA_``,
  ``SENSORREPORT_``, ``readPoint_``, ``bizLocation_``).

List values are separated by ``|`` in a URL (the binding's ``pipeDelimited`` style).
Master-data parameters (``HASATTR_``, ``EQ_ATTR_``) are refused: the repository keeps
no master-data attributes for them. Each condition is tested on its own (a quantity
bound and a unit need not hold in the same quantity element, as the standard has it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, PrivateAttr

from gs1.epcis.querycondition import ORDER_FIELDS, Condition
from gs1.epcis.queryparams import build_condition, json_value, text_value
from gs1.errors import QueryParameterInvalid

__all__ = [
    "Condition",
    "Descendants",
    "EventQuery",
    "QueryParameterInvalid",
    "parse_query",
    "query_from_json",
]

OrderBy = Literal["eventTime", "recordTime"]  # the query may also order by other fields
Direction = Literal["ASC", "DESC"]
# WD_ parameters: the URNs under a location (the records' location hierarchy).
Descendants = Callable[[str], Iterable[str]]

_CONTROL = frozenset({"orderBy", "orderDirection", "eventCountLimit", "maxEventCount"})


class EventQuery(BaseModel):
    """A checked SimpleEventQuery; ``params`` keep what was given, in order."""

    model_config = ConfigDict(frozen=True)

    params: tuple[tuple[str, str], ...]
    order_by: str = "recordTime"
    order_direction: Direction = "ASC"
    event_count_limit: int | None = None
    max_event_count: int | None = None
    _conditions: tuple[Condition, ...] = PrivateAttr(default=())

    def model_post_init(self, context: Any, /) -> None:
        self._conditions = tuple(
            build_condition(name, value) for name, value in self.params if name not in _CONTROL
        )

    @property
    def conditions(self) -> tuple[Condition, ...]:
        """The parsed filters, one per parameter (the records runner narrows on some)."""
        return self._conditions

    @property
    def needles(self) -> tuple[str, ...]:
        """Texts a matching event's JSON contains (``Condition.needle``)."""
        return tuple(c.needle for c in self._conditions if c.needle is not None)

    def condition(self, name: str) -> Condition | None:
        """The filter of parameter ``name``, if the query has one."""
        return next((c for c in self._conditions if c.name == name), None)

    def matches(
        self,
        event: Mapping[str, Any],
        record_time: datetime,
        descendants: Descendants | None = None,
        *,
        stored_id: str | None = None,
    ) -> bool:
        """Whether ``event`` (its stored JSON) captured at ``record_time`` is a result.

        ``stored_id`` is the id the repository keeps the event under (its hash ID):
        ``EQ_eventID`` matches it as well as the body's own ``eventID``. Without
        ``descendants``, ``WD_`` parameters match the named locations only.
        """
        return all(c.test(event, record_time, descendants, stored_id) for c in self._conditions)

    def __eq__(self, other: object) -> bool:  # the parsed conditions follow from the fields
        return isinstance(other, EventQuery) and self.model_dump() == other.model_dump()

    def __hash__(self) -> int:
        return hash((self.params, self.order_by, self.order_direction))

    def to_json(self) -> dict[str, Any]:
        """The query-schema.json ``query`` object of this query (named queries store it)."""
        found: dict[str, Any] = {}
        for name, value in self.params:
            found[name] = json_value(name, value)
        return found

    def with_param(self, name: str, value: str) -> EventQuery:
        """This query with one more parameter (a resource endpoint's fixed filter)."""
        return parse_query((*self.params, (name, value)))


def parse_query(params: Iterable[tuple[str, str]]) -> EventQuery:
    """The query of URL parameters (``perPage``/``nextPageToken`` are the caller's,
    not part of the query: pass the rest). Raises ``QueryParameterInvalid``."""
    given: list[tuple[str, str]] = []
    seen: set[str] = set()
    for name, value in params:
        if name in seen:
            raise QueryParameterInvalid(
                name, "is given twice; give it once, with its values separated by '|'"
            )
        seen.add(name)
        given.append((name, value))
    controls = dict(p for p in given if p[0] in _CONTROL)
    order_by = controls.get("orderBy")
    if order_by is not None and order_by not in ORDER_FIELDS:
        if re.fullmatch(r"[A-Za-z][A-Za-z0-9]*:[\w.-]+", order_by):
            reason = "ordering by an extension field is not supported here"
        else:
            reason = f"{order_by!r} is not a field to order by"
        raise QueryParameterInvalid("orderBy", f"{reason}; use eventTime or recordTime")
    direction = controls.get("orderDirection", "ASC")
    if direction not in ("ASC", "DESC"):
        raise QueryParameterInvalid("orderDirection", f"{direction!r}: use ASC or DESC")
    limit = _count("eventCountLimit", controls.get("eventCountLimit"))
    maximum = _count("maxEventCount", controls.get("maxEventCount"))
    if limit is not None and maximum is not None:
        raise QueryParameterInvalid(
            "eventCountLimit", "and maxEventCount exclude each other; give one of them"
        )
    if limit is not None and order_by is None:
        raise QueryParameterInvalid(
            "eventCountLimit", "needs orderBy (which events are the first N); add orderBy"
        )
    try:
        return EventQuery(
            params=tuple(given),
            order_by=order_by or "recordTime",
            order_direction="DESC" if direction == "DESC" else "ASC",
            event_count_limit=limit,
            max_event_count=maximum,
        )
    except QueryParameterInvalid:
        raise
    except ValueError as exc:  # pydantic wraps nothing we raise; a bug otherwise
        raise QueryParameterInvalid("query", str(exc)) from exc


def _count(name: str, text: str | None) -> int | None:
    if text is None:
        return None
    # ASCII digits only: int() also takes "٣", " 3", "+3" and "3_0".
    if not (text.isascii() and text.isdigit()):
        raise QueryParameterInvalid(name, f"{text[:40]!r} is not a whole number (1, 2, …)")
    if len(text) > 100:  # int() of thousands of digits costs, and refuses past 4,300
        raise QueryParameterInvalid(name, f"{len(text)} digits; give at most 100")
    value = int(text)
    if value < 1:
        raise QueryParameterInvalid(name, f"{value}: must be at least 1")
    return value


def query_from_json(query: Mapping[str, Any]) -> EventQuery:
    """The query of a named query's ``query`` object. Raises ``QueryParameterInvalid``."""
    if not isinstance(query, Mapping):
        raise QueryParameterInvalid("query", "must be a JSON object of query parameters")
    params: list[tuple[str, str]] = []
    for name, value in query.items():
        if name == "@context":  # prefixes of the query's own (the fields keep theirs)
            continue
        if name == "GE_errorDeclaration_Time" or name == "LT_errorDeclaration_Time":
            name = name.replace("_Time", "Time")  # the schema's spelling of the URL's name
        params.append((name, text_value(name, value)))
    return parse_query(params)
