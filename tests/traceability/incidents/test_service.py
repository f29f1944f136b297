"""The incident lifecycle over real SQLite records and ledger: opening from an alarm
(lots from the recall query), steps signed into the incident's and each lot's stream,
the role and state rules, re-delivery, the records-then-ledger crash window, and the
lot's EPCIS disposition event."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from ledger.errors import StoreUnavailable as LedgerUnavailable
from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from tests.support.events import COLD_ROOM, GTIN
from tests.traceability.incidents.conftest import NOW, SIGNER, RecordingNotifier, at, make_alarm
from traceability.epclinks import lot_stream
from traceability.errors import StoreUnavailable
from traceability.incidents.errors import IncidentNotFound, RoleRefused, StepRefused
from traceability.incidents.model import Actor, LotImpact, incident_id
from traceability.incidents.record import STEP_FORMAT, STEP_KIND, incident_stream
from traceability.incidents.service import IncidentService
from traceability.records.store import RecordStore

LI = Actor(name="li", role="operator")
QA = Actor(name="qa", role="quality")
L1, L2 = f"{GTIN}/L1", f"{GTIN}/L2"


def _steps(ledger: LedgerStore, stream: str) -> list[Any]:
    return [
        ledger.kept_record(STEP_KIND, s.entry.record_id)
        for s in ledger.stream(stream)
        if s.entry.kind == STEP_KIND
    ]


def _through_assessment(service: IncidentService) -> str:
    alarm = make_alarm()
    service.raised(alarm)
    iid = incident_id(alarm.id)
    service.acknowledge(iid, LI, "door was open, closed it")
    service.assess(
        iid,
        QA,
        "short excursion",
        [LotImpact(gtin=GTIN, lot="L1", minutes_out=14, impact="within budget")],
    )
    return iid


def test_happy_path_signs_every_step_into_the_incident_and_lot_streams(
    service: IncidentService, ledger: LedgerStore, notifier: RecordingNotifier, stocked: RecordStore
) -> None:
    alarm = make_alarm()
    service.raised(alarm)
    iid = incident_id(alarm.id)
    opened = service.get(iid)
    assert opened is not None
    assert opened.state == "open"
    assert opened.lots == (L1, L2)  # both lots were in the cold room at 10:30
    assert opened.place_name == "Cold room 1"
    service.acknowledge(iid, LI, "door was open, closed it")
    service.assess(iid, QA, "short", [LotImpact(gtin=GTIN, lot="L1", minutes_out=14)])
    service.dispose(iid, QA, GTIN, "L2", "quarantine", "check the top layer")
    service.cleared(alarm.model_copy(update={"cleared_at": at(10, 48), "peak_c": 9.9}))
    service.dispose(iid, QA, GTIN, "L1", "release", "14 min within the budget")
    closed = service.close(iid, LI, "done")
    assert closed.state == "closed"
    assert closed.dispositions == {L1: "release", L2: "quarantine"}
    records = _steps(ledger, incident_stream(iid))
    assert [r["step"] for r in records] == [
        "opened", "acknowledged", "assessed", "disposed", "cleared", "disposed", "closed"
    ]  # fmt: skip
    assert [r["seq"] for r in records] == [1, 2, 3, 4, 5, 6, 7]
    # the clearing: the hub's own step, the excursion's end and peak; the state stays
    assert records[4]["actor"] == {"name": "tracehub", "role": "system"}
    assert records[4]["state"] == "disposed"
    assert records[4]["alarm"] == {"id": alarm.id}
    assert "lots" not in records[4]  # no lot came in meanwhile
    assert (records[4]["cleared_at"], records[4]["peak_c"]) == ("2026-12-03T10:48:00Z", 9.9)
    assert all(r["format"] == STEP_FORMAT and r["incident"] == iid for r in records)
    assert records[1]["actor"] == {"name": "li", "role": "operator"}
    assert records[3]["meaning"] == "I approve this disposition"
    assert records[0]["span"] == {"start": "2026-12-03T10:30:00Z", "end": "2026-12-03T10:44:00Z"}
    assert _steps(ledger, lot_stream(GTIN, "L1")) == records  # and in each lot's stream
    assert _steps(ledger, lot_stream(GTIN, "L2")) == records
    assert [name for name, _ in notifier.calls] == ["opened", "acknowledged", "closed"]
    notice = notifier.calls[0][1]
    assert notice.url == f"https://hub.example/incidents/{iid}"
    assert notice.lots == (L1, L2)
    assert notifier.calls[1][1] == (iid, "li", NOW)
    # The lot's EPCIS record follows: an ObjectEvent naming the lot's class, per disposition.
    found = {
        (e.biz_step, e.disposition)
        for e in stocked.events_for_lot(GTIN, "L1") + stocked.events_for_lot(GTIN, "L2")
    }
    assert ("inspecting", "conformant") in found
    assert ("holding", "non_sellable_other") in found
    release = next(e for e in stocked.events_for_lot(GTIN, "L1") if e.disposition == "conformant")
    assert release.document()["quantityList"] == [
        {"epcClass": "urn:epc:class:lgtin:4012345.011111.L1"}
    ]
    assert release.read_point == COLD_ROOM


def test_dispose_by_an_operator_is_refused_naming_the_role(service: IncidentService) -> None:
    iid = _through_assessment(service)
    with pytest.raises(RoleRefused, match="needs the role quality or admin; li acts as operator"):
        service.dispose(iid, LI, GTIN, "L1", "release", "fine")


def test_dispose_of_a_lot_not_affected_is_refused(service: IncidentService) -> None:
    iid = _through_assessment(service)
    with pytest.raises(StepRefused, match="lot 04012345111118/L9 was not affected"):
        service.dispose(iid, QA, GTIN, "L9", "release", "fine")


def test_close_before_every_lot_is_disposed_is_refused(service: IncidentService) -> None:
    iid = _through_assessment(service)
    service.dispose(iid, QA, GTIN, "L1", "quarantine", "check it")
    with pytest.raises(StepRefused, match=f"not yet: {L2}"):
        service.close(iid, LI, "done")


def test_states_move_only_forward(service: IncidentService) -> None:
    alarm = make_alarm()
    service.raised(alarm)
    iid = incident_id(alarm.id)
    with pytest.raises(StepRefused, match="is open: it cannot be disposed now"):
        service.dispose(iid, QA, GTIN, "L1", "release", "fine")
    with pytest.raises(StepRefused, match="is open: it cannot be assessed"):
        service.assess(iid, QA, "x", [])
    service.acknowledge(iid, LI, "seen")
    service.assess(iid, QA, "x", [])
    with pytest.raises(StepRefused, match="already acknowledged by li"):
        service.acknowledge(iid, QA, "seen too")
    with pytest.raises(IncidentNotFound):
        service.acknowledge("inc-nope", LI, "x")


def test_ack_repeated_as_it_was_is_idempotent(
    service: IncidentService, ledger: LedgerStore, notifier: RecordingNotifier
) -> None:
    """Decision: the same person's same acknowledgement again (a retry) changes nothing
    (the first was done: signed and told); anyone else's is refused (above)."""
    alarm = make_alarm()
    service.raised(alarm)
    iid = incident_id(alarm.id)
    first = service.acknowledge(iid, LI, "seen")
    again = service.acknowledge(iid, LI, "seen")
    assert again == first
    assert len(_steps(ledger, incident_stream(iid))) == 2
    assert [n for n, _ in notifier.calls] == ["opened", "acknowledged"]


def test_a_redelivered_alarm_opens_nothing_new_and_notifies_again(
    service: IncidentService, notifier: RecordingNotifier, ledger: LedgerStore
) -> None:
    alarm = make_alarm()
    service.raised(alarm)
    service.raised(alarm)
    assert len(service.list()) == 1
    assert [n for n, _ in notifier.calls] == ["opened", "opened"]
    assert notifier.calls[0] == notifier.calls[1]
    assert len(_steps(ledger, incident_stream(incident_id(alarm.id)))) == 1


def test_a_flapping_alarm_joins_the_unclosed_incident_and_keeps_it_going(
    service: IncidentService, stocked: RecordStore, ledger: LedgerStore
) -> None:
    first, second = make_alarm(), make_alarm(start=at(10, 45))
    service.raised(first)
    service.cleared(first.model_copy(update={"cleared_at": at(10, 50)}))
    service.raised(second)
    service.raised(second)  # re-delivered: joins once
    (incident,) = service.list()
    assert incident.id == incident_id(first.id)
    assert incident.alarm_ids == tuple(sorted((first.id, second.id)))
    assert incident.cleared_at == at(10, 50)
    assert incident.ongoing == (second.id,)  # the excursion came back
    assert stocked.incident_for_alarm(second.id) is not None
    records = _steps(ledger, incident_stream(incident.id))
    assert [(r["step"], r["alarm"]["id"]) for r in records] == [
        ("opened", first.id), ("cleared", first.id), ("joined", second.id)
    ]  # fmt: skip
    assert records[2]["span"] == {"start": "2026-12-03T10:45:00Z", "end": "2026-12-03T10:59:00Z"}
    service.cleared(second.model_copy(update={"cleared_at": at(11, 5), "peak_c": 10.5}))
    done = service.get(incident.id)
    assert done is not None
    assert (done.ongoing, done.cleared_at, done.peak_c) == ((), at(11, 5), 10.5)


def test_another_rule_opens_its_own_incident(service: IncidentService) -> None:
    service.raised(make_alarm())
    service.raised(make_alarm(rule="cold-room-door", kind="door_open"))
    assert len(service.list()) == 2
    assert {i.state for i in service.list(state="open")} == {"open"}


def test_records_then_ledger_failure_then_retry_repairs(
    service: IncidentService,
    ledger: LedgerStore,
    monkeypatch: pytest.MonkeyPatch,
    notifier: RecordingNotifier,
) -> None:
    alarm = make_alarm()
    service.raised(alarm)
    iid = incident_id(alarm.id)
    real = ledger.submit_many

    def down(items: Any, signer: Signer, now: datetime | None = None) -> Any:
        raise LedgerUnavailable("ledger down (test)")

    monkeypatch.setattr(ledger, "submit_many", down)
    with pytest.raises(StoreUnavailable, match="the step is recorded, retry it to sign"):
        service.acknowledge(iid, LI, "seen")
    recorded = service.get(iid)
    assert recorded is not None
    assert recorded.state == "acknowledged"  # the records hold it; the ledger does not
    assert [r["step"] for r in _steps(ledger, incident_stream(iid))] == ["opened"]
    # told before it is signed: escalation stops though the ledger is down
    assert [n for n, _ in notifier.calls] == ["opened", "acknowledged"]
    monkeypatch.setattr(ledger, "submit_many", real)
    service.acknowledge(iid, LI, "seen")  # the retry signs it (and tells it again: idempotent)
    assert [r["step"] for r in _steps(ledger, incident_stream(iid))] == ["opened", "acknowledged"]
    assert [n for n, _ in notifier.calls] == ["opened", "acknowledged", "acknowledged"]


def test_a_sigkill_between_records_and_ledger_loses_nothing(
    stocked: RecordStore,
    ledger: LedgerStore,
    capture: object,
    notifier: RecordingNotifier,
    tmp_path: Path,
) -> None:
    """A hub process killed (SIGKILL) right after the records committed the incident and
    before the ledger signed it: the alarm engine re-delivers the alarm, which finds the
    incident, signs its opening step and notifies."""
    code = textwrap.dedent(
        f"""
        import os, signal
        from ledger.store.sqlstore import LedgerStore
        from tests.traceability.incidents.conftest import SIGNER, make_alarm
        from traceability.incidents.service import IncidentService
        from traceability.records.store import RecordStore

        store = RecordStore.open("sqlite:///{tmp_path / "records.db"}")
        ledger = LedgerStore.open("sqlite:///{tmp_path / "ledger.db"}")
        ledger.submit_many = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
        IncidentService(store, ledger, SIGNER).raised(make_alarm())
        """
    )
    root = Path(__file__).parents[3]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, timeout=120, check=False)
    assert done.returncode == -signal.SIGKILL
    alarm = make_alarm()
    iid = incident_id(alarm.id)
    kept = stocked.incident(iid)
    assert kept is not None
    assert kept["state"] == "open"  # the records hold it
    assert _steps(ledger, incident_stream(iid)) == []  # the ledger does not yet
    service = IncidentService(stocked, ledger, SIGNER, notifier=notifier)
    service.raised(alarm)  # the engine's re-delivery after the restart
    assert [r["step"] for r in _steps(ledger, incident_stream(iid))] == ["opened"]
    assert [n for n, _ in notifier.calls] == ["opened"]
    assert len(service.list()) == 1
