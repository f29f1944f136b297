"""``tracehub grafana`` (tracehub/commands/grafana.py) end to end through click."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

try:
    import grafana_client  # noqa: F401 - the optional extra these tests exercise
except ImportError as exc:  # a clear reason instead of a bare collection error
    raise ImportError(
        "tests of tracehub grafana publish need the grafana extra: URLLIB3_NO_OVERRIDE=1 pip "
        "install -c constraints.txt --no-binary urllib3-future -e '.[dev,grafana]'"
    ) from exc
from click.testing import CliRunner

from grafana import alerts, generate
from grafana.alerts import INGEST_UID, SILENT_UID, SPOOL_UID
from grafana.policy import Policy
from tests.grafana.fake_grafana import FakeGrafana
from traceability.alarms.rules import RuleSet
from tracehub.cli import main
from tracehub.commands.grafana import temperature_alerts


@pytest.fixture
def grafana() -> Iterator[FakeGrafana]:
    with FakeGrafana() as server:
        yield server


def test_publish_twice_second_run_changes_nothing(grafana: FakeGrafana) -> None:
    args = ["grafana", "publish", "--url", grafana.url, "--webhook-url", "http://hook.test/a"]
    env = {"TRACEHUB_GRAFANA_TOKEN": grafana.state.token}
    first = CliRunner().invoke(main, args, env=env)
    assert first.exit_code == 0, first.output
    assert "created dashboard:tracehub-coldchain" in first.output
    assert "11 created" in first.output
    second = CliRunner().invoke(main, args, env=env)
    assert second.exit_code == 0, second.output
    assert "is up to date (12 resources unchanged)" in second.output


def test_publish_with_a_bad_token_exits_2_naming_the_status(grafana: FakeGrafana) -> None:
    result = CliRunner().invoke(
        main, ["grafana", "publish", "--url", grafana.url, "--token", "nope", "--webhook-url", "x"]
    )
    assert result.exit_code == 2
    assert "HTTP 401" in result.output


def test_generate_check_passes_on_the_committed_files() -> None:
    result = CliRunner().invoke(main, ["grafana", "generate", "--check"])
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output


def test_default_alarm_rules_are_the_committed_temperature_alert() -> None:
    """The hub's default rule set translates to exactly what ``python -m grafana.generate``
    writes, so the committed provisioning and the hub alarm on the same limits."""
    policy = Policy()
    assert temperature_alerts(RuleSet.default(), policy) == alerts.default_temperature(policy)


def test_generate_from_a_rule_file_writes_its_temperature_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rule_file = tmp_path / "alarms.yaml"
    rule_file.write_text(
        "rules:\n"
        "  - id: freezer\n"
        "    kind: temperature\n"
        "    above_c: -18\n"
        "    for_min: 7.5\n"
        "    severity: warning\n"
        "    applies_to: {locations: ['urn:epc:id:sgln:4012345.00002.0'], kinds: [cold_room]}\n"
        "  - {id: door, kind: door_open, for_min: 5}\n",
        encoding="utf-8",
    )
    target = tmp_path / "tracehub.yaml"
    monkeypatch.setattr(generate, "ALERTING_FILE", target)
    monkeypatch.setattr(generate, "DASHBOARDS_DIR", tmp_path / "dashboards")
    result = CliRunner().invoke(main, ["grafana", "generate", "--alarms-file", str(rule_file)])
    assert result.exit_code == 0, result.output
    rules = yaml.safe_load(target.read_text())["groups"][0]["rules"]
    freezer = rules[0]
    assert (freezer["uid"], freezer["for"]) == ("tracehub-freezer", "450s")
    assert freezer["labels"]["severity"] == "warning"
    assert freezer["data"][2]["model"]["conditions"][0]["evaluator"] == {
        "params": [-18.0],
        "type": "gt",
    }
    query = freezer["data"][0]["model"]["query"]
    assert '"location" =~ /^(urn:epc:id:sgln:4012345\\.00002\\.0)$/ AND $timeFilter' in query
    assert [r["uid"] for r in rules[1:]] == [SPOOL_UID, SILENT_UID, INGEST_UID]
    check = CliRunner().invoke(
        main, ["grafana", "generate", "--check", "--alarms-file", str(rule_file)]
    )
    assert check.exit_code == 0, check.output


def test_generate_names_the_line_of_a_bad_rule_file(tmp_path: Path) -> None:
    rule_file = tmp_path / "alarms.yaml"
    rule_file.write_text("rules:\n  - {id: a, kind: temperature, above_c: 8, for_min: 0}\n")
    result = CliRunner().invoke(main, ["grafana", "generate", "--alarms-file", str(rule_file)])
    assert result.exit_code == 2
    assert "alarms.yaml:2: rules[0].for_min: Input should be greater than 0" in result.output
