"""An alarm's clearing is a signed step of its own (the excursion's end and its peak),
once per alarm however often it is re-delivered; an excursion still going on cannot be
closed; every signed step tells ``on_lot`` of each affected lot (the page cache).
Real SQLite records and ledger."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from ledger.errors import StoreUnavailable as LedgerUnavailable
from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from tests.support.events import GTIN
from tests.traceability.incidents.conftest import NOW, SIGNER, at, make_alarm
from traceability.capture import CaptureService
from traceability.errors import StoreUnavailable
from traceability.incidents.errors import StepRefused
from traceability.incidents.model import Actor, incident_id
from traceability.incidents.record import STEP_KIND, incident_stream
from traceability.incidents.service import IncidentService
from traceability.records.store import RecordStore

LI = Actor(name="li", role="operator")
QA = Actor(name="qa", role="quality")


def _steps(ledger: LedgerStore, iid: str) -> list[Any]:
    return [
        ledger.kept_record(STEP_KIND, s.entry.record_id)
        for s in ledger.stream(incident_stream(iid))
        if s.entry.kind == STEP_KIND
    ]


def test_a_clearing_redelivered_signs_one_cleared_step_and_keeps_the_state(
    service: IncidentService, ledger: LedgerStore, stocked: RecordStore
) -> None:
    alarm = make_alarm()
    service.raised(alarm)
    iid = incident_id(alarm.id)
    service.acknowledge(iid, LI, "seen")
    cleared = alarm.model_copy(update={"cleared_at": at(10, 48), "peak_c": 11.5})
    service.cleared(cleared)
    service.cleared(cleared)  # the engine re-delivers after a crash
    records = _steps(ledger, iid)
    assert [r["step"] for r in records] == ["opened", "acknowledged", "cleared"]
    assert records[2]["state"] == "acknowledged"  # clearing moves no lifecycle state
    assert records[2]["cleared_at"] == "2026-12-03T10:48:00Z"
    assert records[2]["peak_c"] == 11.5  # the highest reading through the condition
    incident = service.get(iid)
    assert incident is not None
    assert (incident.state, incident.cleared_at, incident.peak_c) == (
        "acknowledged",
        at(10, 48),
        11.5,
    )
    assert incident.ongoing == ()


def test_an_excursion_still_going_on_cannot_be_closed(service: IncidentService) -> None:
    alarm = make_alarm()
    service.raised(alarm)
    iid = incident_id(alarm.id)
    service.acknowledge(iid, LI, "seen")
    service.assess(iid, QA, "x", [])
    for lot in ("L1", "L2"):
        service.dispose(iid, QA, GTIN, lot, "quarantine", "hold while it goes on")
    with pytest.raises(
        StepRefused,
        match=f"the excursion is still going on \\(alarm {alarm.id} has not cleared\\): it "
        "can be closed once it has cleared",
    ):
        service.close(iid, LI, "done")
    service.cleared(alarm.model_copy(update={"cleared_at": at(10, 48)}))  # after disposed
    assert service.close(iid, LI, "done").state == "closed"
    service.cleared(alarm.model_copy(update={"cleared_at": at(10, 48)}))  # and after closed
    closed = service.get(iid)
    assert closed is not None
    assert [s.step for s in closed.steps][-2:] == ["cleared", "closed"]


def test_a_clearing_the_ledger_refused_is_signed_when_redelivered(
    service: IncidentService, ledger: LedgerStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    alarm = make_alarm()
    service.raised(alarm)
    iid = incident_id(alarm.id)
    real = ledger.submit_many

    def down(items: Any, signer: Signer, now: datetime | None = None) -> Any:
        raise LedgerUnavailable("ledger down (test)")

    monkeypatch.setattr(ledger, "submit_many", down)
    cleared = alarm.model_copy(update={"cleared_at": at(10, 48)})
    with pytest.raises(StoreUnavailable):
        service.cleared(cleared)
    assert [r["step"] for r in _steps(ledger, iid)] == ["opened"]
    monkeypatch.setattr(ledger, "submit_many", real)
    service.cleared(cleared)
    assert [r["step"] for r in _steps(ledger, iid)] == ["opened", "cleared"]
    incident = service.get(iid)
    assert incident is not None
    assert len(incident.steps) == 2  # the re-delivery added no second clearing


def test_every_signed_step_tells_on_lot_of_each_affected_lot(
    stocked: RecordStore, ledger: LedgerStore, capture: CaptureService
) -> None:
    told: list[tuple[str, str]] = []
    service = IncidentService(
        stocked,
        ledger,
        SIGNER,
        dispositions=capture,
        clock=lambda: NOW,
        on_lot=lambda *k: told.append(k),
    )
    alarm = make_alarm()
    service.raised(alarm)
    both = [(GTIN, "L1"), (GTIN, "L2")]
    assert told == both
    iid = incident_id(alarm.id)
    service.acknowledge(iid, LI, "seen")
    service.cleared(alarm.model_copy(update={"cleared_at": at(10, 48)}))
    assert told == both * 3
    with pytest.raises(StepRefused):
        service.dispose(iid, QA, GTIN, "L1", "release", "not assessed yet")
    assert told == both * 3  # a refused step signed nothing


def test_a_clearing_that_takes_the_seq_meanwhile_does_not_lose_the_persons_step(
    service: IncidentService,
    stocked: RecordStore,
    ledger: LedgerStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The alarm loop's clearing and a person's acknowledgement race for seq 2: the
    acknowledgement is checked and recorded again after it (seq 3), nothing is lost."""
    alarm = make_alarm()
    service.raised(alarm)
    iid = incident_id(alarm.id)
    real = stocked.add_step
    raced: list[int] = []

    def racing(incident: str, step: Any, state: str, **options: Any) -> Any:
        if step["step"] == "acknowledged" and not raced:
            raced.append(step["seq"])
            service.cleared(alarm.model_copy(update={"cleared_at": at(10, 48)}))
        return real(incident, step, state, **options)

    monkeypatch.setattr(stocked, "add_step", racing)
    done = service.acknowledge(iid, LI, "seen")
    assert raced == [2]
    assert [(s.seq, s.step) for s in done.steps] == [
        (1, "opened"),
        (2, "cleared"),
        (3, "acknowledged"),
    ]
    assert [r["step"] for r in _steps(ledger, iid)] == ["opened", "cleared", "acknowledged"]
    assert done.state == "acknowledged"
