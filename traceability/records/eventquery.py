"""The EPCIS query over the event log: SQL narrows the candidates, the body decides.

``run_query`` reads candidate rows in the query's order (``recordTime``: the
``captured_at`` column, which is the record time itself, the body carries none;
``eventTime``: the ``event_time`` column), each narrowed on the indexed columns the
query names (type, times, action, bizStep, disposition, readPoint, bizLocation, the EPC
links, eventID), and keeps a row only when ``EventQuery.matches`` holds on its body, so
a column edited in SQL never adds an event. (It can hide one from a query narrowed on
that column; ``tracehub verify`` names every such column.)

Paging is by keyset: ``nextPageToken`` is the position (order key, id) of the last row
looked at, the count returned so far (``eventCountLimit``) and a fingerprint of the
query, so a token of another query is refused (a forged token is refused too, whatever
it holds). Record times are strictly increasing in commit order (``store_events``), so a
reader paging by record time, or polling ``GE_recordTime`` from the last one it saw,
never finds an event committed behind its position. Work per page is bounded: at most
``SCAN_LIMIT`` candidate rows are read; a page that reaches it is short but carries a
token, so an unselective filter over a million events answers in bounded time.

``distinct_values`` lists the values of a resource endpoint (``/bizSteps``, ``/epcs``…),
paged by value; ``knows_value`` says whether one exists (their 404).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, Literal

import orjson
import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from sqlalchemy.engine import Connection

from gs1.digitallink import canonical_identifier
from gs1.epcis.event import DECLARATION_SUFFIX, declared_id
from gs1.epcis.query import Descendants, EventQuery
from gs1.epcis.querymatch import is_pattern, urn_spellings
from gs1.errors import QueryParameterInvalid
from traceability.records.database import Database, from_db, to_db
from traceability.records.entities import StoredEvent
from traceability.records.eventlog import stored_event
from traceability.records.schema import event_epcs, events, locations

SCAN_LIMIT = 1000  # candidate rows read per page at most
_CHUNK = 500
_ID_LIST = 2000  # candidate ids of an EPC filter inlined in the page query at most
_MATCH = (
    "MATCH_epc",
    "MATCH_parentID",
    "MATCH_inputEPC",
    "MATCH_outputEPC",
    "MATCH_anyEPC",
    "MATCH_epcClass",
    "MATCH_inputEPCClass",
    "MATCH_outputEPCClass",
    "MATCH_anyEPCClass",
)
Resource = Literal["eventTypes", "epcs", "bizSteps", "bizLocations", "readPoints", "dispositions"]
_RESOURCE_COLUMNS: dict[str, sa.Column[Any]] = {
    "eventTypes": events.c.type,
    "epcs": event_epcs.c.epc,
    "bizSteps": events.c.biz_step,
    "bizLocations": events.c.biz_location,
    "readPoints": events.c.read_point,
    "dispositions": events.c.disposition,
}


class QueryPage(BaseModel):
    """One page of results; ``next_token`` continues it (None: the last page)."""

    model_config = ConfigDict(frozen=True)

    events: tuple[StoredEvent, ...]
    next_token: str | None


class ValuePage(BaseModel):
    """One page of a resource listing (distinct values, sorted)."""

    model_config = ConfigDict(frozen=True)

    values: tuple[str, ...]
    next_token: str | None


def fingerprint(query: EventQuery) -> str:
    """What a page token is bound to: the query's parameters, in any order, and order."""
    text = json.dumps(
        [sorted(query.params), query.order_by, query.order_direction], separators=(",", ":")
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _encode(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(token: str) -> dict[str, Any]:
    # A token is the client's text: forged ones are expected. orjson stops at 1,024
    # levels (json.loads recurses in C per level) and refuses NaN and Infinity.
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = orjson.loads(raw)
    except (binascii.Error, ValueError) as exc:  # non-ASCII text, JSONDecodeError
        raise QueryParameterInvalid(
            "nextPageToken", "is not a token this repository gave; start without it"
        ) from exc
    if not isinstance(data, dict):
        raise QueryParameterInvalid("nextPageToken", "is not a token this repository gave")
    return data


def _position(token: str, bound: str) -> tuple[datetime, str, int]:
    data = _decode(token)
    if data.get("q") != bound:
        raise QueryParameterInvalid(
            "nextPageToken", "belongs to another query; repeat the query it came with"
        )
    key, last, count = data.get("k"), data.get("i"), data.get("n")
    damaged = QueryParameterInvalid("nextPageToken", "is damaged; start without it")
    if not isinstance(key, str) or not isinstance(last, str):
        raise damaged
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise damaged
    try:
        moment = datetime.fromisoformat(key)
        to_db(moment)  # aware, and within the years 1-9999 in UTC
    except (ValueError, OverflowError) as exc:
        raise damaged from exc
    return moment, last, count


def _epc_candidates(values: tuple[str, ...]) -> sa.ColumnElement[bool] | None:
    """The link rows that may hold one of the MATCH_ values, in any spelling (URN,
    Digital Link); None when a value has a spelling the links cannot be narrowed on."""
    exact: set[str] = set()
    likes: list[sa.ColumnElement[bool]] = []
    for value in values:
        exact.add(value)
        if is_pattern(value):
            scheme, body = value.removeprefix("urn:epc:idpat:").split(":", 1)
            fixed = body.split("*", 1)[0]  # "0614141.107346."
            for kind in ("id", "class", "idpat"):
                found = "lgtin" if kind == "class" and scheme == "sgtin" else scheme
                likes.append(
                    event_epcs.c.epc.startswith(f"urn:epc:{kind}:{found}:{fixed}", autoescape=True)
                )
            stem = canonical_identifier(value)
            if stem is not None:
                likes.append(event_epcs.c.epc.startswith(stem + "/", autoescape=True))
            elif scheme == "sgtin":  # a company-prefix pattern: any GTIN link may be one
                likes.append(event_epcs.c.epc.startswith("https://id.gs1.org/01/"))
            continue
        link = canonical_identifier(value)
        if link is not None:
            exact.add(link)
        spellings = urn_spellings(value)
        if spellings is None:
            return None
        exact.update(spellings)
    return sa.or_(event_epcs.c.epc.in_(sorted(exact)), *likes)


class EventQueryRecords(Database):
    """``RecordStore.run_query``: the EPCIS SimpleEventQuery with keyset paging."""

    def run_query(self, query: EventQuery, *, per_page: int, token: str | None = None) -> QueryPage:
        """A page of at most ``per_page`` events matching ``query`` in its order,
        continuing after ``token`` (from the previous page of the same query; a token of
        another query or a forged one raises ``QueryParameterInvalid("nextPageToken")``)."""
        if per_page < 1:
            raise QueryParameterInvalid("perPage", f"{per_page}: must be at least 1")
        bound = fingerprint(query)
        after: tuple[datetime, str] | None = None
        returned = 0
        if token is not None:
            key, last, returned = _position(token, bound)
            after = (key, last)
        if query.event_count_limit is not None:
            per_page = min(per_page, query.event_count_limit - returned)
            if per_page <= 0:
                return QueryPage(events=(), next_token=None)
        by_record = query.order_by == "recordTime"
        key_column = events.c.captured_at if by_record else events.c.event_time
        desc = query.order_direction == "DESC"
        found: list[StoredEvent] = []
        scanned = 0
        more = False
        with self._tx() as conn:
            descendants = self._descendants(conn) if _uses_hierarchy(query) else None
            lookup = None if descendants is None else descendants_lookup(descendants)
            needles = query.needles
            select = sa.select(events).where(*self._narrowing(conn, query, descendants))
            while True:
                page = select
                if after is not None:
                    moment, last = to_db(after[0]), after[1]
                    if desc:
                        page = page.where(
                            sa.or_(
                                key_column < moment,
                                sa.and_(key_column == moment, events.c.id < last),
                            )
                        )
                    else:
                        page = page.where(
                            sa.or_(
                                key_column > moment,
                                sa.and_(key_column == moment, events.c.id > last),
                            )
                        )
                order = (
                    (key_column.desc(), events.c.id.desc()) if desc else (key_column, events.c.id)
                )
                rows = conn.execute(page.order_by(*order).limit(_CHUNK)).all()
                for row in rows:
                    scanned += 1
                    after = (from_db(row.captured_at if by_record else row.event_time), row.id)
                    # Decode only the body first: most candidates of an unselective
                    # filter are dropped, and a StoredEvent costs more to build.
                    if any(needle not in row.body for needle in needles):
                        continue
                    try:
                        document = json.loads(row.body)
                    except ValueError:
                        continue  # not JSON: no evidence of anything (verify names it)
                    if isinstance(document, dict) and query.matches(
                        document, from_db(row.captured_at), lookup, stored_id=declared_id(row.id)
                    ):
                        found.append(stored_event(row))
                        if len(found) == per_page:
                            break
                if len(found) == per_page:
                    more = len(rows) == _CHUNK or row is not rows[-1]
                    break
                if len(rows) < _CHUNK:
                    break
                if scanned >= SCAN_LIMIT:
                    more = True
                    break
        total = returned + len(found)
        if query.event_count_limit is not None and total >= query.event_count_limit:
            more = False
        next_token = None
        if more and after is not None:
            next_token = _encode({"q": bound, "k": after[0].isoformat(), "i": after[1], "n": total})
        return QueryPage(events=tuple(found), next_token=next_token)

    def _narrowing(
        self,
        conn: Connection,
        query: EventQuery,
        descendants: dict[str, tuple[str, ...]] | None,
    ) -> Iterator[sa.ColumnElement[bool]]:
        """SQL conditions on the indexed columns that every match satisfies."""
        for condition in query.conditions:
            name, values, moment = condition.name, condition.values, condition.moment
            if name == "eventType":
                yield events.c.type.in_(values)
            elif name in ("GE_eventTime", "LT_eventTime") and moment is not None:
                column = events.c.event_time
                yield column >= to_db(moment) if name[:2] == "GE" else column < to_db(moment)
            elif name in ("GE_recordTime", "LT_recordTime") and moment is not None:
                column = events.c.captured_at
                yield column >= to_db(moment) if name[:2] == "GE" else column < to_db(moment)
            elif name == "EQ_action":
                yield events.c.action.in_(values)
            elif name == "EQ_bizStep":
                yield events.c.biz_step.in_(values)
            elif name == "EQ_disposition":
                yield events.c.disposition.in_(values)
            elif name in ("EQ_readPoint", "WD_readPoint", "EQ_bizLocation", "WD_bizLocation"):
                column = events.c.read_point if "readPoint" in name else events.c.biz_location
                wanted = set(values)
                if name.startswith("WD_") and descendants is not None:
                    for value in values:
                        wanted.update(descendants.get(value, ()))
                yield column.in_(sorted(wanted))
            elif name in _MATCH:
                candidates = _epc_candidates(values)
                if candidates is not None:
                    yield _linked_ids(conn, candidates)
            elif name == "EQ_eventID":
                yield sa.or_(
                    # an error declaration is stored beside the event it corrects
                    events.c.id.in_([*values, *(v + DECLARATION_SUFFIX for v in values)]),
                    *(
                        events.c.body.contains(
                            f'"eventID":{json.dumps(v, ensure_ascii=False)}', autoescape=True
                        )
                        for v in values
                    ),
                )

    @staticmethod
    def _descendants(conn: Connection) -> dict[str, tuple[str, ...]]:
        """Location URN → every location whose parent chain leads to it."""
        children: dict[str, list[str]] = defaultdict(list)
        for row in conn.execute(
            sa.select(locations.c.urn, locations.c.parent).where(locations.c.parent.is_not(None))
        ):
            children[str(row.parent)].append(str(row.urn))
        found: dict[str, tuple[str, ...]] = {}
        for top in list(children):
            seen: list[str] = []
            stack = list(children[top])
            while stack:
                urn = stack.pop()
                if urn in seen or urn == top:  # a cycle in the master data ends here
                    continue
                seen.append(urn)
                stack.extend(children.get(urn, ()))
            found[top] = tuple(seen)
        return found

    def descendants_of(self, urn: str) -> tuple[str, ...]:
        """The locations under ``urn`` (subscriptions' ``matches`` takes this)."""
        with self._tx() as conn:
            return self._descendants(conn).get(urn, ())

    def distinct_values(
        self, resource: Resource, *, per_page: int, token: str | None = None
    ) -> ValuePage:
        """The values a resource endpoint lists, sorted, ``per_page`` at a time."""
        column = _RESOURCE_COLUMNS[resource]
        after: str | None = None
        if token is not None:
            data = _decode(token)
            if data.get("r") != resource or not isinstance(data.get("a"), str):
                raise QueryParameterInvalid(
                    "nextPageToken", f"is not a token of /{resource}; start without it"
                )
            after = data["a"]
        select = sa.select(column).where(column.is_not(None)).distinct()
        if after is not None:
            select = select.where(column > after)
        with self._tx() as conn:
            values = [
                str(v) for v in conn.execute(select.order_by(column).limit(per_page + 1)).scalars()
            ]
        more = len(values) > per_page
        values = values[:per_page]
        next_token = _encode({"r": resource, "a": values[-1]}) if more and values else None
        return ValuePage(values=tuple(values), next_token=next_token)

    def knows_value(self, resource: Resource, value: str) -> bool:
        """Whether a stored event has ``value`` in the resource's column."""
        column = _RESOURCE_COLUMNS[resource]
        with self._tx() as conn:
            return (
                conn.execute(sa.select(column).where(column == value).limit(1)).first() is not None
            )


def _linked_ids(conn: Connection, candidates: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
    """``events.id IN`` the events of the candidate links: the ids themselves when they
    are few (a planner given a subquery may walk the order index instead and probe it
    per row: a second per query over a million events), else the subquery."""
    linked = sa.select(event_epcs.c.event_id).where(candidates).distinct()
    ids = list(conn.execute(linked.limit(_ID_LIST + 1)).scalars())
    if len(ids) <= _ID_LIST:
        return events.c.id.in_(ids)
    return events.c.id.in_(linked)


def _uses_hierarchy(query: EventQuery) -> bool:
    return any(c.name in ("WD_readPoint", "WD_bizLocation") for c in query.conditions)


def descendants_lookup(table: dict[str, tuple[str, ...]]) -> Descendants:
    """``EventQuery.matches``' descendants callable over a table from ``_descendants``."""

    def lookup(urn: str) -> Iterable[str]:
        return table.get(urn, ())

    return lookup
