"""RecordStore.run_query: SQL narrows, the body decides; keyset paging bound to the query;
bounded work per page; the location hierarchy for WD_; resource listings. On SQLite and
a real PostgreSQL."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import traceability.records.eventquery as eventquery
from gs1.epcis.query import EventQuery, QueryParameterInvalid, parse_query
from tests.support.masterdata import database_url
from traceability.capture import CaptureService
from traceability.imports import import_records
from traceability.records.locations import Location
from traceability.records.schema import events
from traceability.records.store import RecordStore

T0 = datetime(2026, 11, 1, 8, tzinfo=UTC)
SITE = "urn:epc:id:sgln:4012345.00010.0"
ROOM = "urn:epc:id:sgln:4012345.00010.1"
SHELF = "urn:epc:id:sgln:4012345.00010.11"
ELSEWHERE = "urn:epc:id:sgln:4012345.00099.0"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def records(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RecordStore]:
    with database_url(request.param, tmp_path, request) as url:
        opened = RecordStore.open(url)
        yield opened
        opened.close()


def _event(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "type": "ObjectEvent",
        "eventTime": (T0 + timedelta(minutes=i)).isoformat(),
        "eventTimeZoneOffset": "+00:00",
        "epcList": [f"urn:epc:id:sgtin:4012345.011111.{i}"],
        "action": "OBSERVE",
        "bizStep": "receiving" if i % 2 else "shipping",
        "readPoint": {"id": [SITE, ROOM, SHELF, ELSEWHERE][i % 4]},
        **extra,
    }


def _capture(records: RecordStore, bodies: list[dict[str, Any]]) -> list[str]:
    document = {
        "@context": [
            "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
            {"example": "http://ns.example.com/epcis/"},
        ],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-11-22T11:00:00Z",
        "epcisBody": {"eventList": bodies},
    }
    report = CaptureService(records).capture_document(document)
    assert report.ok, report.errors
    return [outcome.event_id for outcome in report.captured]


def _every(records: RecordStore, query: EventQuery, per_page: int = 7) -> list[str]:
    found: list[str] = []
    token: str | None = None
    for _ in range(1000):
        page = records.run_query(query, per_page=per_page, token=token)
        found.extend(e.id for e in page.events)
        token = page.next_token
        if token is None:
            return found
    raise AssertionError("paging did not end")


def _set_column(records: RecordStore, event_id: str, **values: Any) -> None:
    with records._engine.begin() as conn:  # the operator's own connection, past the store
        conn.execute(events.update().where(events.c.id == event_id).values(**values))


def test_a_tampered_column_adds_nothing_and_keeps_paging_whole(records: RecordStore) -> None:
    ids = _capture(records, [_event(i) for i in range(40)])
    receiving, shipping = ids[1], ids[2]
    # the columns of a receiving event now say shipping, those of a shipping one receiving,
    # and one event's record time moved: the bodies still say what they said
    _set_column(records, receiving, biz_step="shipping")
    _set_column(records, shipping, biz_step="receiving", event_time=datetime(2030, 1, 1))
    shipped = set(_every(records, parse_query([("EQ_bizStep", "shipping")])))
    assert receiving not in shipped  # the column does not add it
    assert shipped <= {ids[i] for i in range(0, 40, 2)}
    # not narrowed on the tampered column, the shipping event is found by what its body says
    by_epc = records.run_query(
        parse_query([("MATCH_epc", "urn:epc:id:sgtin:4012345.011111.2")]), per_page=5
    )
    assert [e.id for e in by_epc.events] == [shipping]
    assert by_epc.events[0].biz_step == "shipping"
    assert {m.column for m in by_epc.events[0].mismatches} == {"biz_step", "event_time"}
    # paging in eventTime order visits every event once, the moved one included
    walked = _every(records, parse_query([("orderBy", "eventTime")]), per_page=6)
    assert sorted(walked) == sorted(ids)
    assert len(walked) == len(set(walked))


def test_work_per_page_is_bounded(records: RecordStore, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = _capture(
        records, [_event(i, **({"example:rare": "x"} if i in (3, 61) else {})) for i in range(90)]
    )
    monkeypatch.setattr(eventquery, "SCAN_LIMIT", 20)
    monkeypatch.setattr(eventquery, "_CHUNK", 10)
    query = parse_query([("EQ_example:rare", "x")])
    sizes: list[int] = []
    token: str | None = None
    found: list[str] = []
    while True:
        page = records.run_query(query, per_page=5, token=token)
        sizes.append(len(page.events))
        found.extend(e.id for e in page.events)
        token = page.next_token
        if token is None:
            break
    assert sorted(found) == sorted([ids[3], ids[61]])
    assert len(sizes) >= 4  # short pages with tokens, not one scan of everything
    assert 0 in sizes


def test_a_token_belongs_to_its_query(records: RecordStore) -> None:
    _capture(records, [_event(i) for i in range(12)])
    page = records.run_query(parse_query([("EQ_bizStep", "shipping")]), per_page=2)
    assert page.next_token is not None
    same_in_other_order = parse_query([("EQ_bizStep", "shipping")])
    assert records.run_query(same_in_other_order, per_page=2, token=page.next_token).events
    with pytest.raises(QueryParameterInvalid) as raised:
        records.run_query(
            parse_query([("EQ_bizStep", "receiving")]), per_page=2, token=page.next_token
        )
    assert raised.value.name == "nextPageToken"
    with pytest.raises(QueryParameterInvalid, match=r"^nextPageToken: "):
        records.run_query(parse_query([]), per_page=2, token="bm90IGpzb24")


@pytest.mark.parametrize(
    "fields",
    [
        {"k": "2026-01-01T00:00:00", "n": 0},  # no offset
        {"k": "0001-01-01T00:00:00+14:00", "n": 0},  # no UTC time
        {"n": float("inf")},
        {"n": 1e308},
        {"n": -1},
        {"n": True},
        {"n": "2"},
        {"n": 0, "k": 7},
        {"n": 0, "i": ["x"]},
        {"n": 0, "k": None},
    ],
)
def test_a_forged_token_is_refused_naming_it(records: RecordStore, fields: dict[str, Any]) -> None:
    query = parse_query([])
    data = {"q": eventquery.fingerprint(query), "k": "2026-01-01T00:00:00+00:00", "i": "x"}
    token = base64.urlsafe_b64encode(json.dumps({**data, **fields}).encode()).decode()
    with pytest.raises(QueryParameterInvalid) as raised:
        records.run_query(query, per_page=2, token=token)
    assert raised.value.name == "nextPageToken"
    for odd in ("\U0001f600", base64.urlsafe_b64encode(b"[" * 5000).decode()):
        with pytest.raises(QueryParameterInvalid, match=r"^nextPageToken: "):
            records.run_query(query, per_page=2, token=odd)


def test_order_and_event_count_limit(records: RecordStore) -> None:
    ids = _capture(records, [_event(i) for i in range(15)])
    newest = parse_query(
        [("orderBy", "eventTime"), ("orderDirection", "DESC"), ("eventCountLimit", "4")]
    )
    assert _every(records, newest, per_page=3) == list(reversed(ids[-4:]))
    oldest = parse_query([("orderBy", "eventTime"), ("eventCountLimit", "2")])
    assert _every(records, oldest, per_page=10) == ids[:2]
    # one document: one record time, so ties go by id
    assert _every(records, parse_query([])) == sorted(ids)


def test_with_descendants_follows_location_parents(records: RecordStore) -> None:
    for urn, parent in ((SITE, None), (ROOM, SITE), (SHELF, ROOM), (ELSEWHERE, None)):
        records.add_location(Location(urn=urn, name=urn[-6:], kind="room", parent=parent))
    ids = _capture(records, [_event(i) for i in range(12)])
    at_site = set(_every(records, parse_query([("WD_readPoint", SITE)])))
    assert at_site == {ids[i] for i in range(12) if i % 4 in (0, 1, 2)}
    assert set(_every(records, parse_query([("WD_readPoint", ROOM)]))) == {
        ids[i] for i in range(12) if i % 4 in (1, 2)
    }
    assert set(_every(records, parse_query([("EQ_readPoint", ROOM)]))) == {
        ids[i] for i in range(12) if i % 4 == 1
    }
    assert records.descendants_of(SITE) == (ROOM, SHELF) or set(records.descendants_of(SITE)) == {
        ROOM,
        SHELF,
    }


def test_resource_listings_are_distinct_sorted_and_paged(records: RecordStore) -> None:
    _capture(records, [_event(i) for i in range(8)])
    first = records.distinct_values("readPoints", per_page=3)
    assert first.values == tuple(sorted([SITE, ROOM, SHELF, ELSEWHERE])[:3])
    rest = records.distinct_values("readPoints", per_page=3, token=first.next_token)
    assert rest.values == (sorted([SITE, ROOM, SHELF, ELSEWHERE])[3],)
    assert rest.next_token is None
    assert records.distinct_values("bizSteps", per_page=10).values == ("receiving", "shipping")
    assert records.knows_value("epcs", "urn:epc:id:sgtin:4012345.011111.3")
    assert not records.knows_value("dispositions", "stolen")
    with pytest.raises(QueryParameterInvalid, match=r"^nextPageToken: "):
        records.distinct_values("epcs", per_page=3, token=first.next_token)


def test_the_location_import_takes_a_parent(records: RecordStore) -> None:
    text = (
        "urn,name,kind,parent\n"
        f"{SITE},Site,site,\n"
        f"{ROOM},Room,cold_room,{SITE}\n"
        f"{SHELF},Shelf,rack,{ROOM}\n"
    )
    assert import_records(records, "locations", text) == 3
    assert records.get_location(SHELF) is not None
    assert set(records.descendants_of(SITE)) == {ROOM, SHELF}
    assert records.descendants_of(SHELF) == ()
