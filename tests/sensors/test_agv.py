"""VDA 5050 v2: topic scheme, schema validation against the copied official schemas."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from sensors.agv import AgvTopic, parse_state, schema_version, sscc_of, validate_message
from sensors.errors import AgvError, TopicError

# Copied from the standards folder, see tests/data/gateway/README.md.
STATE: dict[str, Any] = json.loads(
    (Path(__file__).parent.parent / "data" / "gateway" / "vda5050-state.json").read_text()
)


def test_example_state_validates_and_parses() -> None:
    validate_message(STATE, "state")
    state = parse_state(STATE)
    assert (state.manufacturer, state.serial, state.map_id) == (
        "ExampleAGV",
        "AGV-0001",
        "warehouse-1",
    )
    assert (state.x, state.y, state.velocity, state.battery_charge) == (20.1, 7.4, 1.1, 76.5)
    assert state.load_ids == ("00340123450000000123",)
    assert state.errors == ()


def test_version_2_0_uses_its_own_schema() -> None:
    older = {**STATE, "version": "2.0.0"}
    assert schema_version("2.0.0") == "2.0.0"
    validate_message(older, "state")
    with pytest.raises(AgvError, match=r"2\.0\.x or 2\.1\.x"):
        validate_message({**STATE, "version": "3.0.0"}, "state")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.pop("batteryState"), "payload"),
        (lambda d: d["batteryState"].update(batteryCharge="full"), "batteryState.batteryCharge"),
        (lambda d: d.update(operatingMode="TURBO"), "operatingMode"),
        (lambda d: d["agvPosition"].pop("mapId"), "agvPosition"),
    ],
)
def test_schema_violations_name_the_field(change: Any, field: str) -> None:
    document = copy.deepcopy(STATE)
    change(document)
    with pytest.raises(AgvError) as info:
        validate_message(document, "state")
    assert info.value.field == field
    assert "VDA 5050 state schema" in info.value.reason


def test_topic_scheme() -> None:
    topic = AgvTopic.parse("uagv/v2/ExampleAGV/AGV-0001/state")
    assert (topic.manufacturer, topic.serial, topic.kind) == ("ExampleAGV", "AGV-0001", "state")
    assert str(topic) == "uagv/v2/ExampleAGV/AGV-0001/state"
    for bad, message in [
        ("uagv/v1/a/b/state", "does not match"),
        ("uagv/v2/a/b/order", "not ingested"),
        ("uagv/v2/a b/c/state", "manufacturer"),
    ]:
        with pytest.raises(TopicError, match=message):
            AgvTopic.parse(bad)


def test_sscc_of_load_ids() -> None:
    assert sscc_of("00340123450000000123") == "340123450000000123"
    assert sscc_of("340123450000000123") == "340123450000000123"
    assert sscc_of("340123450000000124") is None  # check digit
    assert sscc_of("PALLET-7") is None
