"""The hub's alerting, wired: the rule file is checked before anything starts, and a
started hub runs the alarm and notification loops under its supervisor."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from tests.support.hubs import hub_settings
from tracehub.alerting import alarm_rules
from tracehub.cli import main
from tracehub.hub import Hub
from tracehub.services import InfluxDB, Mosquitto
from tracehub.settings import AlarmsSettings

BAD = "rules:\n  - id: hot\n    kind: temperature\n    above_c: 8\n    for_min: -1\n"


def test_a_wrong_rule_file_stops_run_before_anything_starts(tmp_path: Path) -> None:
    rules = tmp_path / "alarms.yaml"
    rules.write_text(BAD, encoding="utf-8")
    result = CliRunner().invoke(
        main,
        ["run", "--insecure-plain"],
        env={"TRACEHUB_ALARMS_FILE": str(rules), "TRACEHUB_STATE_DIR": str(tmp_path / "s")},
    )
    assert result.exit_code == 1
    assert f"{rules}:5: rules[0].for_min: Input should be greater than 0" in result.output
    assert not (tmp_path / "s").exists()  # no service was spawned, no state written


def test_without_a_file_the_defaults_run_and_nobody_is_told(
    tmp_path: Path, mosquitto: Mosquitto, influxdb: InfluxDB
) -> None:
    settings = hub_settings(tmp_path / "state", "alerting", mosquitto, influxdb)
    settings = settings.model_copy(update={"alarms": AlarmsSettings(file=None)})
    rules, policy = alarm_rules(settings)
    assert {r.kind for r in rules.rules} == {
        "temperature",
        "probe_offline",
        "door_open",
        "gateway_lost",
        "stability_budget",
    }
    assert policy.recipients == ()
    with Hub(settings) as hub:
        names = {s.name for s in hub.supervisor.statuses()}
        assert {"alarms", "notifications"} <= names
        assert hub.supervisor.wait_until(
            lambda s: s["alarms"].last_success is not None and s["notifications"].ready, 30
        )
