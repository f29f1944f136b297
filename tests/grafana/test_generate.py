"""The committed dashboards and alerting provisioning are exactly what the code makes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from grafana import alerts, generate
from grafana.alerts import CONTACT_POINT, FOLDER_TITLE
from grafana.influxql import DATASOURCE_UID
from grafana.policy import Policy

ROOT = Path(__file__).resolve().parents[2]


def test_committed_files_match_the_generator() -> None:
    assert generate.stale() == [], "run: python -m grafana.generate"


def test_check_mode_names_a_hand_edited_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "dashboards"
    monkeypatch.setattr(generate, "DASHBOARDS_DIR", target)
    monkeypatch.setattr(generate, "ALERTING_FILE", tmp_path / "alerting" / "tracehub.yaml")
    assert generate.main([]) == 0
    assert generate.main(["--check"]) == 0
    edited = target / "coldchain.json"
    edited.write_text(edited.read_text().replace("Cold chain overview", "Edited by hand"))
    assert generate.main(["--check"]) == 1
    assert generate.stale() == [edited]


def test_generation_is_deterministic() -> None:
    assert generate.files() == generate.files()


def test_dashboards_have_stable_unique_uids_and_panel_ids() -> None:
    boards = generate.dashboards()
    assert sorted(boards) == [
        "tracehub-agv",
        "tracehub-coldchain",
        "tracehub-gateway",
        "tracehub-lot",
        "tracehub-rfid",
    ]
    for uid, board in boards.items():
        assert board["uid"] == uid
        ids = [p["id"] for p in board["panels"]]
        assert ids == list(range(1, len(ids) + 1))
        for panel in board["panels"]:
            assert panel["datasource"]["uid"] == DATASOURCE_UID
            for target in panel["targets"]:
                assert target["rawQuery"] is True
                assert "$timeFilter" in target["query"], (
                    f"{uid}/{panel['title']}: every query must be bounded by $timeFilter"
                )


def test_policy_band_reaches_thresholds_and_alert_rule() -> None:
    policy = Policy(band_low_c=-25.0, band_high_c=-18.0, excursion_budget_minutes=15)
    board = generate.dashboards(policy)["tracehub-coldchain"]
    panel = next(p for p in board["panels"] if p["title"] == "Temperature per location")
    steps = [s["value"] for s in panel["fieldConfig"]["defaults"]["thresholds"]["steps"]]
    assert steps == [None, -25.0, -18.0]
    rule = alerts.rules(policy)[0]
    assert rule["for"] == "15m"
    assert rule["data"][2]["model"]["conditions"][0]["evaluator"]["params"] == [-25.0, -18.0]


def test_bad_policy_is_rejected_naming_the_field() -> None:
    with pytest.raises(ValueError, match="band_low_c"):
        Policy(band_low_c=8.0, band_high_c=2.0)
    with pytest.raises(ValueError, match="excursion_budget_minutes"):
        Policy(excursion_budget_minutes=0)


def test_provisioning_files_are_consistent() -> None:
    """Datasource uid, dashboards folder and alerting folder/contact point agree."""
    datasources = yaml.safe_load(
        (ROOT / "grafana/provisioning/datasources/influxdb.yml").read_text()
    )
    assert [d["uid"] for d in datasources["datasources"]] == [DATASOURCE_UID]
    providers = yaml.safe_load((ROOT / "grafana/provisioning/dashboards/tracehub.yml").read_text())
    assert providers["providers"][0]["folder"] == FOLDER_TITLE
    alerting = yaml.safe_load(generate.ALERTING_FILE.read_text())
    assert alerting == json.loads(generate.render_json(alerts.provisioning(Policy())))
    group = alerting["groups"][0]
    assert group["folder"] == FOLDER_TITLE
    receivers = {r["uid"] for cp in alerting["contactPoints"] for r in cp["receivers"]}
    assert len(receivers) == 1
    for rule in group["rules"]:
        assert rule["notification_settings"]["receiver"] == CONTACT_POINT
        assert {"folderUID", "ruleGroup", "orgID"}.isdisjoint(rule)
        assert all(not value.count("$") for value in rule["labels"].values()), (
            "Grafana expands $ENV in provisioned labels"
        )
