"""Parsing the /query answer: series in statement order, statement errors raised (pure)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from influx.errors import DatabaseNotFound, InfluxRejected
from influx.series import NOT_EXECUTED, Series, parse_answer


def body(*results: dict[str, Any], **top: Any) -> bytes:
    return json.dumps({"results": list(results), **top}).encode()


def test_series_of_every_statement_in_order() -> None:
    first = {"name": "m", "tags": {"room": "a"}, "columns": ["time", "v"], "values": [[1, 2.5]]}
    second = {"name": "m", "columns": ["time", "v"], "values": [[2, None], [3, 4]]}
    found = parse_answer(
        body({"statement_id": 0, "series": [first]}, {"statement_id": 1, "series": [second]})
    )
    assert found == [
        Series(name="m", tags={"room": "a"}, columns=("time", "v"), values=((1, 2.5),)),
        Series(name="m", columns=("time", "v"), values=((2, None), (3, 4))),
    ]
    assert found[1].rows() == [{"time": 2, "v": None}, {"time": 3, "v": 4}]


def test_statements_without_series_give_none() -> None:
    assert parse_answer(body({"statement_id": 0})) == []
    assert parse_answer(b"{}") == []


def test_a_statement_error_is_rejected_with_its_reason() -> None:
    answer = body(
        {"statement_id": 0, "series": []},
        {"statement_id": 1, "error": "undefined function nope()"},
        {"statement_id": 2, "error": NOT_EXECUTED},
    )
    with pytest.raises(InfluxRejected, match=r"rejected the query: undefined function") as bad:
        parse_answer(answer)
    assert (bad.value.reason, bad.value.status) == ("undefined function nope()", None)
    assert not isinstance(bad.value, DatabaseNotFound)


def test_a_missing_database_is_named() -> None:
    with pytest.raises(DatabaseNotFound, match="database not found: x"):
        parse_answer(body({"statement_id": 0, "error": "database not found: x"}))


def test_not_executed_alone_names_no_cause() -> None:
    # influxd 1.6's whole answer to a multi-statement query on a missing database.
    with pytest.raises(InfluxRejected, match="named no cause") as bad:
        parse_answer(body({"statement_id": 0, "error": NOT_EXECUTED}))
    assert bad.value.reason == NOT_EXECUTED


def test_a_top_level_error_is_rejected() -> None:
    with pytest.raises(InfluxRejected, match="rejected the query: boom"):
        parse_answer(body(error="boom"))


@pytest.mark.parametrize("text", [b"<html></html>", b"[]", b'{"results": "no"}'])
def test_what_is_not_an_answer_is_a_value_error(text: bytes) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - pydantic's message is not ours to pin
        parse_answer(text)
