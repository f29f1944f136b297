"""Event-like alarms (a stability budget running out, an RFID read at a wrong place) come
raised and cleared at once: the incident they open is not "still going on", so its lots
can be released and it can be closed; re-delivered, nothing is added."""

from __future__ import annotations

from tests.support.events import GTIN
from tests.traceability.incidents.conftest import RecordingNotifier, at, make_alarm
from traceability.incidents.model import Actor, LotImpact, incident_id
from traceability.incidents.service import IncidentService

QA = Actor(name="qa", role="quality")
LI = Actor(name="li", role="operator")


def test_an_event_alarm_opens_an_incident_that_can_be_released_and_closed(
    service: IncidentService, notifier: RecordingNotifier
) -> None:
    when = at(11, 0)
    alarm = make_alarm(
        start=when,
        rule="budget-warning",
        kind="stability_budget",
        severity="warning",
        raised_at=when,
        summary="Lot L1 at Cold room 1: 20 of 60 min of its stability budget left",
    )
    service.raised(alarm)
    service.cleared(alarm.model_copy(update={"cleared_at": when}))
    iid = incident_id(alarm.id)
    opened = service.get(iid)
    assert opened is not None
    assert not opened.ongoing
    assert f"{GTIN}/L1" in opened.lots
    # re-delivered after a crash: the same incident, no step added
    steps = len(opened.steps)
    service.raised(alarm)
    service.cleared(alarm.model_copy(update={"cleared_at": when}))
    again = service.get(iid)
    assert again is not None
    assert len(again.steps) == steps
    service.acknowledge(iid, LI, "seen")
    service.assess(iid, QA, "budget half used", [LotImpact(gtin=GTIN, lot="L1", impact="ok")])
    for lot in opened.lots:
        gtin, _, number = lot.partition("/")
        service.dispose(iid, QA, gtin, number, "release", "within the stability data")
    closed = service.close(iid, LI, "done")
    assert closed.state == "closed"
    assert [c[0] for c in notifier.calls][:1] == ["opened"]
