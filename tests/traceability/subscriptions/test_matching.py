"""Which new events each stream subscription gets (pure), with the real query of
``gs1.epcis.query`` and a query that breaks."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from gs1.epcis.query import query_from_json
from tests.support.events import COLD_ROOM, DOCK, object_event
from traceability.subscriptions.matching import QueryCache, matched

AT = datetime(2026, 12, 1, 8, tzinfo=UTC)
E1, E2 = "urn:uuid:e1", "urn:uuid:e2"


def _body(**extra: Any) -> str:
    return json.dumps(object_event(**extra))


def test_each_event_goes_to_the_subscriptions_whose_query_it_matches() -> None:
    arrivals = query_from_json({"EQ_bizStep": ["arriving"]})
    in_room = query_from_json({"EQ_readPoint": [COLD_ROOM]})
    by_id = query_from_json({"EQ_eventID": [E2]})
    created = [
        ("urn:uuid:e1", _body(read_point=DOCK)),
        ("urn:uuid:e2", _body(read_point=COLD_ROOM)),
    ]
    pairs = matched([("a", arrivals), ("r", in_room), ("i", by_id)], created, AT)
    assert pairs == [("a", E1), ("a", E2), ("r", E2), ("i", E2)]


def test_within_descendants_asks_the_hierarchy() -> None:
    site = "urn:epc:id:sgln:4012345.00000.0"
    query = query_from_json({"WD_readPoint": [site]})
    created = [("e1", _body(read_point=COLD_ROOM))]
    below = {site: [site, COLD_ROOM]}
    assert matched([("s", query)], created, AT, lambda urn: below.get(urn, [urn])) == [("s", "e1")]
    assert matched([("s", query)], created, AT, lambda urn: [urn]) == []


class Broken:
    def matches(
        self, event: Mapping[str, Any], record_time: datetime, descendants: Any = None
    ) -> bool:
        raise RuntimeError("a bug in one query")


def test_a_failing_query_or_an_unreadable_body_skips_only_itself(
    caplog: pytest.LogCaptureFixture,
) -> None:
    good = query_from_json({})
    created = [("e1", "{not json"), ("e2", _body())]
    assert matched([("bad", Broken()), ("good", good)], created, AT) == [("good", "e2")]
    assert "e1" in caplog.text
    assert "subscription bad" in caplog.text


def test_the_cache_parses_each_stored_query_once_and_remembers_a_refusal() -> None:
    calls: list[Mapping[str, Any]] = []

    def parse(query: Mapping[str, Any]) -> Any:
        calls.append(query)
        return query_from_json(query)

    cache = QueryCache(parse, size=1)
    text = json.dumps({"EQ_bizStep": ["arriving"]})
    assert cache.get(text) is cache.get(text)
    assert len(calls) == 1
    assert cache.get(json.dumps({"NOT_a_parameter": 1})) is None  # logged, not raised
    assert cache.get(text) is not None  # evicted (size 1) and parsed again
    assert len(calls) == 3
