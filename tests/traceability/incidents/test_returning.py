"""Where alarms meet people (review of issue #16): a returning excursion after an
acknowledgement opens a new incident that notifies (#1); lots moved in before the alarm
cleared are named by the clearing and close waits for them (#2); the notifier hears of
an alarm even while the ledger cannot sign (#10); a lot is not released while its
excursion goes on (#16). Real SQLite records and ledger."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from ledger.errors import StoreUnavailable as LedgerUnavailable
from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from ledger.verify.report import Outcome
from tests.support.events import COLD_ROOM, GTIN, object_event
from tests.traceability.incidents.conftest import RecordingNotifier, at, make_alarm
from traceability.anchoring.bundle import lot_bundle
from traceability.anchoring.incidentcheck import incident_checks
from traceability.capture import CaptureService
from traceability.errors import StoreUnavailable
from traceability.incidents.errors import StepRefused
from traceability.incidents.model import Actor, LotImpact, incident_id
from traceability.incidents.record import STEP_KIND, incident_stream
from traceability.incidents.service import IncidentService
from traceability.records.store import RecordStore

LI = Actor(name="li", role="operator")
QA = Actor(name="qa", role="quality")
L1, L2, L3 = f"{GTIN}/L1", f"{GTIN}/L2", f"{GTIN}/L3"


def _steps(ledger: LedgerStore, iid: str) -> list[Any]:
    return [
        ledger.kept_record(STEP_KIND, s.entry.record_id)
        for s in ledger.stream(incident_stream(iid))
        if s.entry.kind == STEP_KIND
    ]


def _opened(notifier: RecordingNotifier) -> list[str]:
    return [notice.incident_id for name, notice in notifier.calls if name == "opened"]


def test_an_excursion_returning_after_the_acknowledgement_opens_a_new_incident_and_notifies(
    service: IncidentService, notifier: RecordingNotifier, ledger: LedgerStore
) -> None:
    first = make_alarm()
    service.raised(first)
    iid = incident_id(first.id)
    service.cleared(first.model_copy(update={"cleared_at": at(10, 50)}))
    service.acknowledge(iid, LI, "door closed")
    service.assess(iid, QA, "short", [LotImpact(gtin=GTIN, lot="L1", minutes_out=20)])
    service.dispose(iid, QA, GTIN, "L1", "release", "within budget")  # left unclosed
    again = make_alarm(start=at(18, 0))
    service.raised(again)
    fresh = incident_id(again.id)
    assert fresh != iid
    assert _opened(notifier) == [iid, fresh]  # the returning excursion reaches people
    incident = service.get(fresh)
    assert incident is not None
    assert (incident.state, incident.lots) == ("open", (L1, L2))
    assert [r["step"] for r in _steps(ledger, iid)][-1] == "disposed"  # nothing joined


def test_an_alarm_while_the_incident_is_still_open_joins_it(
    service: IncidentService, notifier: RecordingNotifier
) -> None:
    first, second = make_alarm(), make_alarm(start=at(10, 45))
    service.raised(first)
    service.raised(second)
    (incident,) = service.list()
    assert incident.alarms_begun == (first.id, second.id)
    assert set(_opened(notifier)) == {incident.id}


def test_a_lot_moved_in_before_the_alarm_cleared_is_named_by_the_clearing(
    service: IncidentService, capture: CaptureService, stocked: RecordStore, ledger: LedgerStore
) -> None:
    stocked.add_lot(GTIN, "L3", quantity=2, serials=range(3001, 3003))
    alarm = make_alarm()  # 10:30, fired 10:44
    service.raised(alarm)
    iid = incident_id(alarm.id)
    capture.capture(
        object_event(serial="3001", time="2026-12-03T10:46:00Z", read_point=COLD_ROOM),
        source="erp-1",
    )
    service.cleared(alarm.model_copy(update={"cleared_at": at(10, 50)}))
    incident = service.get(iid)
    assert incident is not None
    assert incident.lots == (L1, L2, L3)
    cleared = _steps(ledger, iid)[-1]
    assert (cleared["step"], cleared["lots_added"]) == ("cleared", [L3])  # signed in it
    assert cleared["lots"] == [L1, L2, L3]
    service.acknowledge(iid, LI, "seen")
    service.assess(iid, QA, "x", [])
    service.dispose(iid, QA, GTIN, "L1", "release", "fine")
    service.dispose(iid, QA, GTIN, "L2", "release", "fine")
    with pytest.raises(StepRefused, match=f"not yet: {L3}"):
        service.close(iid, LI, "done")
    service.dispose(iid, QA, GTIN, "L3", "quarantine", "came in mid-excursion")
    assert service.close(iid, LI, "done").state == "closed"
    # L3's stream holds the steps from the clearing on: they verify as its lifecycle
    for lot, told in (("L3", "quarantined by qa (quality)"), ("L1", "released by qa (quality)")):
        (check,) = incident_checks(lot_bundle(stocked, ledger, GTIN, lot))
        assert check.outcome is Outcome.PENDING, check.detail
        assert told in check.detail


def test_an_alarm_reaches_the_notifier_while_the_ledger_is_down(
    service: IncidentService,
    ledger: LedgerStore,
    notifier: RecordingNotifier,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = ledger.submit_many

    def down(items: Any, signer: Signer, now: datetime | None = None) -> Any:
        raise LedgerUnavailable("ledger down (test)")

    monkeypatch.setattr(ledger, "submit_many", down)
    alarm = make_alarm()
    with pytest.raises(StoreUnavailable):  # still raised: the engine retries the alarm
        service.raised(alarm)
    iid = incident_id(alarm.id)
    assert _opened(notifier) == [iid]  # people were told anyway
    assert _steps(ledger, iid) == []
    monkeypatch.setattr(ledger, "submit_many", real)
    service.raised(alarm)  # the retry signs it
    assert [r["step"] for r in _steps(ledger, iid)] == ["opened"]


def test_a_lot_is_not_released_while_its_excursion_goes_on(service: IncidentService) -> None:
    alarm = make_alarm()
    service.raised(alarm)
    iid = incident_id(alarm.id)
    service.acknowledge(iid, LI, "seen")
    service.assess(iid, QA, "x", [])
    with pytest.raises(StepRefused, match=f"{L1} cannot be released while the excursion"):
        service.dispose(iid, QA, GTIN, "L1", "release", "fine")
    service.dispose(iid, QA, GTIN, "L1", "quarantine", "hold it")  # allowed
    service.dispose(iid, QA, GTIN, "L2", "reject", "too warm")  # allowed
    service.cleared(alarm.model_copy(update={"cleared_at": at(10, 50)}))
    assert service.close(iid, LI, "done").state == "closed"
