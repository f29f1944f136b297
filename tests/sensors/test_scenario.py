"""Site scenario files and the AGV simulator's messages (pure)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sensors.agv import parse_state, validate_message
from sensors.agv_sim import CYCLE, agv_states
from sensors.errors import ScenarioError
from sensors.scenario import Agv, load_scenario

SITE = Path(__file__).parent.parent / "data" / "sensors" / "site.yaml"


def test_yaml_scenario_gives_the_devices() -> None:
    site = load_scenario(SITE)
    spec = site.simulator_spec()
    assert [p.device_id for p in spec.probes] == [
        "probe-cold1-01",
        "probe-cold1-02",
        "probe-dock1-01",
        "probe-truck7-01",
    ]
    [reader] = spec.readers
    assert reader.reader_id == "dock-door-1"
    assert reader.epcs[0] == "3074F4E4E40AD9C0000003E9"  # encoded from the URN
    assert site.agvs[0].loads == ("340123450000000123",)


def test_json_scenario_and_errors(tmp_path: Path) -> None:
    good = tmp_path / "site.json"
    good.write_text(
        json.dumps(
            {"site": "s", "rooms": [{"id": "r", "location": "urn:epc:id:sgln:4012345.00001.0"}]}
        )
    )
    assert load_scenario(good).simulator_spec().probes[0].device_id == "probe-r-01"
    bad = tmp_path / "bad.yaml"
    bad.write_text("site: s\nrooms:\n  - {id: r, location: nowhere}\n")
    with pytest.raises(ScenarioError, match=r"rooms\.0\.location"):
        load_scenario(bad)
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("site: [")
    with pytest.raises(ScenarioError, match="not valid yaml"):
        load_scenario(broken)


def test_agv_states_are_schema_valid_and_cycle_their_load() -> None:
    agv = Agv(manufacturer="ExampleAGV", serial="AGV-0001", loads=("340123450000000123",))
    stream = agv_states(agv, datetime(2026, 11, 22, tzinfo=UTC), timedelta(seconds=1))
    states = [next(stream) for _ in range(CYCLE + 1)]
    for document in states:
        validate_message(document, "state")
    loads = [parse_state(d).load_ids for d in states]
    assert loads[0] == ()
    assert loads[CYCLE // 2] == ("340123450000000123",)
    assert loads[CYCLE] == ()
