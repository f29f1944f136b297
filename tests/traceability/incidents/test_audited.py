"""``AuditedIncidentService`` over real SQLite records and ledger: each people's step is an
audit entry (who, the state before, the signed step after, the comment as the reason,
the lots), a console user's disposition carries their signature and is refused before
the step without one, a retry records nothing more, a step whose signing failed is
still recorded."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from ledger.errors import StoreUnavailable as LedgerUnavailable
from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from tests.support.events import GTIN
from tests.traceability.incidents.conftest import NOW, SIGNER, RecordingNotifier, make_alarm
from traceability.audit.entry import KIND, AuditEntry, ESignature
from traceability.audit.errors import AuditRefused
from traceability.audit.trail import AuditTrail
from traceability.capture import CaptureService
from traceability.errors import StoreUnavailable
from traceability.incidents.audited import AuditedIncidentService
from traceability.incidents.errors import StepRefused
from traceability.incidents.model import Actor, LotImpact, incident_id
from traceability.records.store import RecordStore

LI = Actor(name="li", role="operator")
QA = Actor(name="qa", role="quality")
L1, L2 = f"{GTIN}/L1", f"{GTIN}/L2"


@pytest.fixture
def trail(stocked: RecordStore, ledger: LedgerStore) -> AuditTrail:
    return AuditTrail(stocked, ledger, SIGNER, clock=lambda: NOW)


@pytest.fixture
def audited(
    stocked: RecordStore,
    ledger: LedgerStore,
    capture: CaptureService,
    notifier: RecordingNotifier,
    trail: AuditTrail,
) -> AuditedIncidentService:
    return AuditedIncidentService(
        stocked,
        ledger,
        SIGNER,
        notifier=notifier,
        dispositions=capture,
        clock=lambda: NOW,
        audit=trail,
    )


def _opened(service: AuditedIncidentService) -> str:
    alarm = make_alarm()
    service.raised(alarm)
    return incident_id(alarm.id)


def test_each_people_step_is_an_entry_with_the_state_before_and_the_step_after(
    audited: AuditedIncidentService, trail: AuditTrail, ledger: LedgerStore
) -> None:
    iid = _opened(audited)
    assert trail.entries() == []  # the hub's own opening is a signed step, not a change
    audited.acknowledge(iid, LI, "door was open, closed it")
    audited.assess(iid, QA, "short", [LotImpact(gtin=GTIN, lot="L1", minutes_out=14)])
    audited.dispose(iid, QA, GTIN, "L2", "quarantine", "check the top layer")
    ack, assess, dispose = trail.entries()
    assert [e.action for e in (ack, assess, dispose)] == [
        "incident.acknowledge", "incident.assess", "incident.dispose"
    ]  # fmt: skip
    assert (ack.actor.name, ack.actor.kind, ack.actor.role) == ("li", "client", "operator")
    assert (ack.subject.kind, ack.subject.key) == ("incident", iid)
    assert ack.before == {"state": "open"}
    assert ack.after is not None
    assert (ack.after["step"], ack.after["state"]) == ("acknowledged", "acknowledged")
    assert ack.reason == "door was open, closed it"
    assert ack.lots == (L1, L2)
    assert assess.before == {"state": "acknowledged"}
    assert dispose.reason == "check the top layer"
    assert dispose.after is not None
    assert dispose.after["disposition"] == "quarantine"
    assert dispose.lots == (L2,)  # the lot it disposes
    in_lot = [s.entry.record_id for s in ledger.stream(f"lot:{L2}") if s.entry.kind == KIND]
    assert in_lot == ["audit:1", "audit:2", "audit:3"]
    assert trail.verify().ok


def test_a_retry_of_a_step_records_nothing_more(
    audited: AuditedIncidentService, trail: AuditTrail
) -> None:
    iid = _opened(audited)
    audited.acknowledge(iid, LI, "seen")
    audited.acknowledge(iid, LI, "seen")  # the same step again: a retry
    assert len(trail.entries()) == 1


def test_a_console_users_disposition_carries_their_signature_or_is_refused(
    audited: AuditedIncidentService, trail: AuditTrail
) -> None:
    iid = _opened(audited)
    audited.acknowledge(iid, LI, "seen", actor_kind="user")
    audited.assess(iid, QA, "warm", [], actor_kind="user")
    with pytest.raises(AuditRefused, match="electronic signature"):
        audited.dispose(iid, QA, GTIN, "L2", "reject", "warm", actor_kind="user")
    found = audited.get(iid)
    assert found is not None
    assert "disposed" not in [s.step for s in found.steps]  # refused before the step
    signature = ESignature(
        name="qa",
        display_name="Quinn Andersen",
        role="quality",
        signed_at=NOW,
        meaning="approved rejection of lot L2",
    )
    audited.dispose(iid, QA, GTIN, "L2", "reject", "warm", signature=signature, actor_kind="user")
    entry: AuditEntry = trail.entries()[-1]
    assert entry.signature == signature
    assert (entry.actor.kind, entry.reason) == ("user", "warm")
    assert entry.record()["signature"]["meaning"] == "approved rejection of lot L2"


def test_a_step_recorded_whose_signing_failed_is_an_entry_and_its_retry_is_not(
    audited: AuditedIncidentService,
    trail: AuditTrail,
    ledger: LedgerStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    iid = _opened(audited)
    real = ledger.submit_many

    def down(items: Any, signer: Signer, now: datetime | None = None) -> Any:
        raise LedgerUnavailable("ledger down (test)")

    monkeypatch.setattr(ledger, "submit_many", down)
    with pytest.raises(StoreUnavailable, match="the step is recorded"):
        audited.acknowledge(iid, LI, "seen")
    (entry,) = trail.entries()
    assert entry.action == "incident.acknowledge"
    assert trail.verify().unsigned == (1,)
    monkeypatch.setattr(ledger, "submit_many", real)
    audited.acknowledge(iid, LI, "seen")  # the retry signs the step, records no entry
    assert len(trail.entries()) == 1
    assert trail.sign_pending() == 1  # the hub's loop signs the entry
    report = trail.verify()
    assert (report.ok, report.unsigned) == (True, ())


def test_a_refused_step_records_nothing(audited: AuditedIncidentService, trail: AuditTrail) -> None:
    iid = _opened(audited)
    with pytest.raises(StepRefused, match="cannot be closed now"):
        audited.close(iid, LI, "nothing to do")
    assert trail.entries() == []


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient` is deprecated")
def test_a_step_through_the_web_api_is_an_entry_by_the_authenticated_client(
    audited: AuditedIncidentService, trail: AuditTrail, stocked: RecordStore
) -> None:
    from tests.support.webapp import app_for, bearer, make_client

    iid = _opened(audited)
    with make_client(app_for(stocked, incidents=audited)) as client:
        li = bearer(stocked, "operator", name="wms-li")
        acked = client.post(f"/incidents/{iid}/ack", json={"comment": "door closed"}, headers=li)
        assert acked.status_code == 200, acked.text
    (entry,) = trail.entries()
    assert (entry.actor.name, entry.actor.kind, entry.actor.role) == (
        "wms-li",
        "client",
        "operator",
    )
    assert (entry.action, entry.reason, entry.before) == (
        "incident.acknowledge",
        "door closed",
        {"state": "open"},
    )
    assert entry.after is not None
    assert entry.after["actor"] == {"name": "wms-li", "role": "operator"}


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient` is deprecated")
def test_a_comment_its_entry_cannot_hold_is_refused_before_the_step(
    audited: AuditedIncidentService, trail: AuditTrail, stocked: RecordStore
) -> None:
    # A NUL fits the step's JSON but not PostgreSQL's text column of the entry: refused
    # before the step through every path (here the web API: a 400, not a 500).
    from tests.support.webapp import app_for, bearer, make_client

    iid = _opened(audited)
    with pytest.raises(AuditRefused, match="control characters"):
        audited.acknowledge(iid, LI, "door\x00closed")
    with make_client(app_for(stocked, incidents=audited)) as client:
        li = bearer(stocked, "operator", name="wms-li")
        refused = client.post(f"/incidents/{iid}/ack", json={"comment": "a\x00b"}, headers=li)
    assert refused.status_code == 400, refused.text
    assert "control characters" in refused.json()["detail"]
    incident = audited.get(iid)
    assert incident is not None
    assert incident.state == "open"
    assert trail.entries() == []
