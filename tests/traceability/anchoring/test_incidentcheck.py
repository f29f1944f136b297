"""``tracehub verify`` over a lot's incidents: the signed steps in its bundle form a
valid lifecycle and say what happened; an altered step record (SQL on the ledger's kept
copy) or a lifecycle that does not hold fails. Real SQLite records and ledger, anchors
on the embedded EVM."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ledger.evm.contract import AnchorContract, deploy_anchor_contract, embedded_web3
from ledger.evm.reader import ChainReader
from ledger.evm.sender import AnchorSender, fund_account
from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from ledger.verify.report import Check
from ledger.verify.trust import TrustAnchors, from_keys
from ledger.verify.verifier import Outcome, Verdict, verify_bundle
from ledger.worker import AnchorWorker
from tests.support.events import DOCK, GTIN, object_event
from tests.support.masterdata import sign_master
from tests.traceability.incidents.conftest import make_alarm
from traceability.alarms.model import Alarm
from traceability.anchoring.bundle import lot_bundle
from traceability.anchoring.feeder import EventFeeder, EventLeaves, lot_stream
from traceability.anchoring.incidentcheck import incident_checks
from traceability.anchoring.verification import verify_lot
from traceability.capture import CaptureService
from traceability.incidents.model import Actor, LotImpact, incident_id
from traceability.incidents.record import STEP_KIND, incident_stream, step_record
from traceability.incidents.service import IncidentService
from traceability.records.store import RecordStore
from tracehub.commands.verify import with_claim_checks

pytestmark = pytest.mark.integration

LI = Actor(name="li", role="operator")
QA = Actor(name="qa", role="quality")
SIGNER = Signer.generate("site:test", datetime(2026, 1, 1, tzinfo=UTC))


@dataclass
class Site:
    path: Path
    store: RecordStore
    ledger: LedgerStore
    feeder: EventFeeder
    worker: AnchorWorker
    chain: ChainReader
    trust: TrustAnchors
    service: IncidentService
    incident: str
    alarm: Alarm

    def anchor(self) -> None:
        self.feeder.sync()
        self.worker.step(flush=True)
        self.feeder.sync()


@pytest.fixture
def site(stocked: RecordStore, tmp_path: Path) -> Iterator[Site]:
    db = tmp_path / "records.db"
    ledger = LedgerStore.open(f"sqlite:///{db}")
    w3 = embedded_web3()
    address = deploy_anchor_contract(w3)
    sender = AnchorSender(w3, address, "0x" + os.urandom(32).hex())
    fund_account(w3, sender.sender, 10**18)
    AnchorContract(w3, address).set_anchorer(sender.sender, True)
    capture = CaptureService(stocked, ledger=EventLeaves(ledger, SIGNER))
    capture.capture(object_event(time="2026-12-03T10:00:00Z", read_point=DOCK), source="erp-1")
    sign_master(stocked, ledger, SIGNER)
    service = IncidentService(stocked, ledger, SIGNER, dispositions=capture)
    alarm = make_alarm(location=DOCK, place_name="Dock 1")
    service.raised(alarm)
    trust = from_keys([SIGNER.public], "the test site's keys", [(None, sender.contract)])
    yield Site(
        db,
        stocked,
        ledger,
        EventFeeder(stocked, ledger),
        AnchorWorker(ledger, sender, "w-test"),
        ChainReader(w3),
        trust,
        service,
        incident_id(alarm.id),
        alarm,
    )
    ledger.close()


def _lifecycle(site: Site) -> None:
    iid = site.incident
    site.service.acknowledge(iid, LI, "door closed")
    site.service.assess(iid, QA, "short", [LotImpact(gtin=GTIN, lot="L1", minutes_out=14)])
    cleared = datetime(2026, 12, 3, 10, 48, tzinfo=UTC)  # 18 min after it began
    site.service.cleared(site.alarm.model_copy(update={"cleared_at": cleared, "peak_c": 11.5}))
    site.service.dispose(iid, QA, GTIN, "L1", "release", "within budget")  # once cleared
    site.service.close(iid, LI, "done")


def _incident_check(report_checks: Iterable[Check]) -> Check:
    (check,) = [c for c in report_checks if c.name == "incident"]
    return check


def test_a_released_lot_verifies_with_its_incident_told(site: Site) -> None:
    _lifecycle(site)
    pending = verify_lot(site.store, site.ledger, GTIN, "L1")
    check = _incident_check(pending.checks)
    assert check.outcome is Outcome.PENDING
    assert check.detail.endswith("— not yet anchored")
    site.anchor()
    report = verify_lot(site.store, site.ledger, GTIN, "L1", site.chain, site.trust)
    assert report.verdict is Verdict.VERIFIED, report.failures
    check = _incident_check(report.checks)
    assert check.outcome is Outcome.OK
    assert check.subject == f"incident {site.incident}"
    assert check.detail == (
        "18-min excursion at Dock 1 on 3 Dec (peak 11.5 °C), acknowledged by li (operator), "
        "assessed by qa (quality), released by qa (quality) — anchored"
    )
    # The exported bundle alone says the same (``tracehub verify BUNDLE``).
    bundle = lot_bundle(site.store, site.ledger, GTIN, "L1")
    alone = with_claim_checks(bundle, verify_bundle(bundle, site.chain, site.trust))
    assert _incident_check(alone.checks).detail == check.detail


def test_an_altered_step_record_fails(site: Site) -> None:
    _lifecycle(site)
    site.anchor()
    db = sqlite3.connect(site.path)
    with db:
        changed = db.execute(
            "UPDATE ledger_records SET canonical = replace(canonical, '\"release\"', '\"reject\"')"
        ).rowcount
    db.close()
    assert changed >= 1
    report = verify_lot(site.store, site.ledger, GTIN, "L1", site.chain, site.trust)
    assert report.verdict is Verdict.TAMPERED
    check = _incident_check(report.checks)
    assert check.outcome is Outcome.FAIL
    assert "altered: it does not hash to its signed digest" in check.detail


def test_a_signed_disposition_by_an_operator_fails_the_lifecycle(site: Site) -> None:
    """A step the site signed around the service (a bug, a forged write): its signature
    holds, the lifecycle does not."""
    iid = site.incident
    site.service.acknowledge(iid, LI, "door closed")
    forged = step_record(
        iid, 3, "disposed", "disposed", "li", "operator", datetime(2026, 12, 3, 11, tzinfo=UTC),
        "fine", {"gtin": GTIN, "lot": "L1", "disposition": "release", "reason": "fine"},
    )  # fmt: skip
    site.ledger.submit(
        STEP_KIND,
        f"incident:{iid}/3",
        forged,
        [incident_stream(iid), lot_stream(GTIN, "L1")],
        SIGNER,
        keep_record=True,
    )
    (check,) = incident_checks(lot_bundle(site.store, site.ledger, GTIN, "L1"))
    assert check.outcome is Outcome.FAIL
    assert "a disposition by role operator (needs quality or admin)" in check.detail
    report = verify_lot(site.store, site.ledger, GTIN, "L1")
    assert report.verdict is Verdict.TAMPERED


def test_an_excursion_not_yet_cleared_is_told_as_still_going_on(site: Site) -> None:
    site.service.acknowledge(site.incident, LI, "door closed")
    (check,) = incident_checks(lot_bundle(site.store, site.ledger, GTIN, "L1"))
    assert check.outcome is Outcome.PENDING
    assert check.detail == (
        "excursion at Dock 1 since 3 Dec, still going on (peak 9.4 °C), acknowledged by li "
        "(operator), acknowledged, not yet disposed — not yet anchored"
    )


@pytest.mark.parametrize("forged", ["closed while going on", "cleared by a person"])
def test_a_signed_step_the_excursion_rules_forbid_fails_the_lifecycle(
    site: Site, forged: str
) -> None:
    iid = site.incident
    at = datetime(2026, 12, 3, 11, tzinfo=UTC)
    if forged == "closed while going on":
        record = step_record(iid, 2, "closed", "closed", "li", "operator", at, "x", {})
        expected = "step 2: closed while the excursion was still going on"
    else:
        fields = {"alarm": {"id": site.alarm.id}, "cleared_at": "2026-12-03T10:50:00Z"}
        record = step_record(iid, 2, "cleared", "open", "li", "operator", at, "", fields)
        expected = "step 2: cleared by role operator, not the hub's own"
    site.ledger.submit(
        STEP_KIND,
        f"incident:{iid}/2",
        record,
        [incident_stream(iid), lot_stream(GTIN, "L1")],
        SIGNER,
        keep_record=True,
    )
    (check,) = incident_checks(lot_bundle(site.store, site.ledger, GTIN, "L1"))
    assert check.outcome is Outcome.FAIL
    assert expected in check.detail


def test_an_edit_of_the_incidents_table_changes_nothing_verify_says(site: Site) -> None:
    _lifecycle(site)
    site.anchor()
    db = sqlite3.connect(site.path)
    with db:
        db.execute("UPDATE incidents SET place_name = 'Elsewhere', state = 'open'")
        db.execute("UPDATE incident_steps SET actor = 'mallory'")
    db.close()
    report = verify_lot(site.store, site.ledger, GTIN, "L1", site.chain, site.trust)
    assert report.verdict is Verdict.VERIFIED
    assert "Dock 1" in _incident_check(report.checks).detail


def test_tracehub_verify_prints_the_incident_and_fails_a_tampered_bundle(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from tracehub.cli import main

    monkeypatch.setenv("TRACEHUB_STATE_DIR", str(tmp_path / "state"))
    _lifecycle(site)
    site.anchor()
    bundle = lot_bundle(site.store, site.ledger, GTIN, "L1")
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    result = CliRunner().invoke(main, ["verify", str(path), "--offline"], env={"COLUMNS": "250"})
    line = f"incident {site.incident}: 18-min excursion at Dock 1 on 3 Dec (peak 11.5 °C),"
    assert line in result.stdout
    assert "released by qa (quality) — anchored" in result.stdout
    assert result.exit_code == int(Verdict.NOT_ATTRIBUTED)  # no --trust: consistent only
    (item,) = [
        i
        for i in bundle["items"]
        if i["entry"]["kind"] == STEP_KIND and i["record"]["step"] == "disposed"
    ]
    item["record"]["disposition"] = "reject"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    result = CliRunner().invoke(main, ["verify", str(path), "--offline"], env={"COLUMNS": "250"})
    assert result.exit_code == int(Verdict.TAMPERED)
    assert "the step record was altered" in result.stdout
