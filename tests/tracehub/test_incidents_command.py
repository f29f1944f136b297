"""``tracehub incidents``: a real client token as the actor (its name, its role from its
scopes), refusals naming the scope a token lacks, the lifecycle through to close, and
list/show in text and JSON. Real SQLite records and ledger, the site's real keystore."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ledger.store.sqlstore import LedgerStore
from tests.support.events import COLD_ROOM, GTIN, object_event
from tests.traceability.incidents.conftest import SIGNER, at, make_alarm
from tests.traceability.notifications.support import POLICY, Recorder
from traceability.anchoring.feeder import EventLeaves
from traceability.capture import CaptureService
from traceability.incidents.model import incident_id
from traceability.incidents.record import STEP_KIND, incident_stream
from traceability.incidents.service import IncidentService
from traceability.notifications.service import Notifications
from traceability.records.store import RecordStore
from tracehub.cli import main


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    records = f"sqlite:///{tmp_path / 'records.db'}"
    monkeypatch.setenv("TRACEHUB_RECORDS_URL", records)
    monkeypatch.setenv("TRACEHUB_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("TRACEHUB_TOKEN", raising=False)
    return records


def _service(stocked: RecordStore, ledger: LedgerStore) -> IncidentService:
    """The hub's side: its notifications schedule the escalation in the records' outbox."""
    notifier = Notifications(stocked, POLICY, {"email": Recorder("email")})
    return IncidentService(stocked, ledger, SIGNER, notifier=notifier)


@pytest.fixture
def opened(url: str, stocked: RecordStore) -> str:
    ledger = LedgerStore.open(url)
    try:
        capture = CaptureService(stocked, ledger=EventLeaves(ledger, SIGNER))
        capture.capture(object_event(time="2026-12-03T10:00:00Z", read_point=COLD_ROOM))
        alarm = make_alarm()
        _service(stocked, ledger).raised(alarm)
    finally:
        ledger.close()
    return incident_id(alarm.id)


def _clear(url: str, stocked: RecordStore) -> None:
    """The alarm clears on the hub (a signed step of its own)."""
    ledger = LedgerStore.open(url)
    try:
        cleared = make_alarm().model_copy(update={"cleared_at": at(10, 48), "peak_c": 11.5})
        _service(stocked, ledger).cleared(cleared)
    finally:
        ledger.close()


def _run(*args: str, token: str | None = None) -> tuple[int, str, str]:
    env = {"COLUMNS": "200"}
    if token is not None:
        env["TRACEHUB_TOKEN"] = token
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def _token(name: str, *scopes: str) -> str:
    args = ["clients", "add", name]
    for scope in scopes:
        args += ["--scope", scope]
    code, out, err = _run(*args)
    assert code == 0, out + err
    return out.strip()


def test_help_explains_the_lifecycle() -> None:
    code, out, _ = _run("incidents", "--help")
    assert code == 0
    assert "acknowledged --assess--> assessed" in out
    assert "I approve this disposition" in out


def test_the_lifecycle_through_the_cli(url: str, opened: str, stocked: RecordStore) -> None:
    li = _token("li", "operator")
    qa = _token("qa", "quality", "read")
    code, out, err = _run("incidents", "list")
    assert code == 0, out + err
    assert opened in out
    assert "open" in out
    assert "Cold room 1" in out

    escalating = stocked.notification_incident(opened)
    assert escalating is not None
    assert not escalating.settled
    code, out, err = _run("incidents", "ack", opened, "--comment", "door closed", token=li)
    assert code == 0, out + err
    assert "acknowledged by li (operator)" in out
    settled = stocked.notification_incident(opened)  # the CLI told the outbox: no escalation
    assert settled is not None
    assert settled.acknowledged_by == "li"
    assert {e.state for e in stocked.outbox_entries(opened)} == {"cancelled"}
    code, out, err = _run(
        "incidents", "assess", opened, "--comment", "short", "--impact",
        f"{GTIN}/L1=within budget", "--budget-left", f"{GTIN}/L1=46.5", "--token", qa,
    )  # fmt: skip
    assert code == 0, out + err
    code, out, err = _run(
        "incidents", "dispose", opened, "--lot", f"{GTIN}/L1", "--release",
        "--reason", "fine", token=li,
    )  # fmt: skip
    assert code != 0
    assert "client li lacks the scope quality or admin (it holds operator)" in out + err
    code, out, err = _run(
        "incidents", "dispose", opened, "--lot", f"{GTIN}/L1", "--release",
        "--reason", "fine", token=qa,
    )  # fmt: skip
    assert code == 1  # not while the room is still out of its band
    assert "still going on" in out + err
    code, out, err = _run("incidents", "close", opened, "--comment", "done", token=li)
    assert code == 1
    assert "cannot close before every affected lot is disposed" in out + err
    code, out, _ = _run("incidents", "show", opened)
    assert "→ still going on" in out
    _clear(url, stocked)
    code, out, err = _run(
        "incidents", "dispose", opened, "--lot", f"{GTIN}/L1", "--release",
        "--reason", "fine", token=qa,
    )  # fmt: skip
    assert code == 0, out + err
    assert "release by qa (quality)" in out
    code, out, err = _run("incidents", "close", opened, "--comment", "done", token=li)
    assert code == 0, out + err

    code, out, _ = _run("incidents", "show", opened, "--json")
    shown = json.loads(out)
    assert shown["state"] == "closed"
    assert shown["dispositions"] == {f"{GTIN}/L1": "release"}
    assert [(s["step"], s["actor"], s["role"]) for s in shown["steps"]] == [
        ("opened", "tracehub", "system"),
        ("acknowledged", "li", "operator"),
        ("assessed", "qa", "quality"),
        ("cleared", "tracehub", "system"),
        ("disposed", "qa", "quality"),
        ("closed", "li", "operator"),
    ]
    assert shown["steps"][2]["record"]["impacts"] == [
        {
            "gtin": GTIN,
            "lot": "L1",
            "minutes_out": None,
            "budget_left_min": 46.5,
            "impact": "within budget",
        }
    ]
    code, out, _ = _run("incidents", "show", opened)
    assert "2. acknowledged by li (operator)" in out
    assert "door closed" in out
    assert "span:  2026-12-03T10:30:00+00:00 → 2026-12-03T10:48:00+00:00" in out
    assert "peak:  11.5 °C" in out
    assert f'impact: {GTIN}/L1: "within budget"; stability budget left 46.5 min' in out
    ledger = LedgerStore.open(url)
    try:
        steps = [e for e in ledger.stream(incident_stream(opened)) if e.entry.kind == STEP_KIND]
    finally:
        ledger.close()
    assert len(steps) == 6  # each signed by the site's own key, from its keystore
    assert steps[1].entry.signature.key_id != SIGNER.key_id


def test_a_token_without_a_person_scope_is_refused_naming_it(url: str, opened: str) -> None:
    reader = _token("dash", "read")
    code, out, err = _run("incidents", "ack", opened, "--comment", "x", token=reader)
    assert code != 0
    assert "client dash lacks the scope operator or quality or admin (it holds read)" in out + err
    code, out, err = _run("incidents", "ack", opened, "--comment", "x")
    assert code != 0
    assert "give --token (or set TRACEHUB_TOKEN)" in out + err
    code, out, err = _run("incidents", "ack", opened, "--comment", "x", token="thc_bad")
    assert "not a valid client token" in out + err


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("--budget-left=04012345111118/L1=lots", "give the minutes left as a number"),
        ("--budget-left=04012345111118/L1=-5", "give the minutes left as a number"),
        ("--budget-left=04012345111118/L1", "give GTIN/LOT=MINUTES"),
        ("--impact=L1=fine", "give GTIN/LOT"),
    ],
)
def test_assess_refuses_a_malformed_impact(url: str, opened: str, given: str, says: str) -> None:
    qa = _token("qa", "quality")
    code, out, err = _run("incidents", "assess", opened, "--comment", "x", given, token=qa)
    assert code == 2
    assert says in out + err


def test_refused_steps_say_why(url: str, opened: str) -> None:
    qa = _token("qa", "quality")
    code, out, err = _run("incidents", "close", opened, "--comment", "x", token=qa)
    assert code == 1
    assert "is open: it cannot be closed now" in out + err
    code, out, err = _run("incidents", "show", "inc-nope")
    assert code == 1
    assert "no such incident" in out + err
