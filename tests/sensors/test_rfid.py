from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from sensors.rfid import TagRead

GOOD: dict[str, Any] = {
    "reader_id": "dock-door-1",
    "seq": 7,
    "ts": "2026-11-22T10:00:00.123Z",
    "epc": "3074257bf7194e4000001a85",
    "antenna": 1,
    "rssi": -52.5,
    "read_point": "urn:epc:id:sgln:4012345.00001.0",
}


def test_contract_example_parses_and_upper_cases_the_epc() -> None:
    read = TagRead.model_validate_json(json.dumps(GOOD))
    assert read.epc == "3074257BF7194E4000001A85"
    assert TagRead.model_validate_json(read.to_json()) == read


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"epc": "3074257BF7194E4000001A8"}, "epc"),
        ({"epc": "urn:epc:id:sgtin:0614141.812345.6789"}, "epc"),
        ({"antenna": -1}, "antenna"),
        ({"rssi": "loud"}, "rssi"),
        ({"read_point": "dock 1"}, "read_point"),
        ({"reader_id": ""}, "reader_id"),
    ],
)
def test_bad_reads_name_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        TagRead.model_validate_json(json.dumps({**GOOD, **changes}))
    assert info.value.errors()[0]["loc"] == (field,)


def test_read_point_is_optional_a_claim_the_gateway_checks() -> None:
    bare = {k: v for k, v in GOOD.items() if k != "read_point"}
    read = TagRead.model_validate_json(json.dumps(bare))
    assert read.read_point is None
    assert TagRead.model_validate_json(read.to_json()) == read
