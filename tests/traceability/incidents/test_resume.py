"""``IncidentService.resume()`` at the hub's start finishes what a SIGKILL left undone:
an acknowledgement recorded and told to the notifications but not signed, or recorded
but never told to the notifications (so escalation went on) nor signed. Real SQLite
records, ledger and outbox (``traceability.notifications.service.Notifications``), a
real killed process."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from ledger.store.sqlstore import LedgerStore
from tests.traceability.incidents.conftest import SIGNER, make_alarm
from tests.traceability.notifications.support import POLICY, Recorder
from traceability.incidents.model import incident_id
from traceability.incidents.record import STEP_KIND, incident_stream
from traceability.incidents.service import IncidentService
from traceability.notifications.service import Notifications
from traceability.records.store import RecordStore


def _signed(ledger: LedgerStore, iid: str) -> list[Any]:
    records = [
        ledger.kept_record(STEP_KIND, s.entry.record_id)
        for s in ledger.stream(incident_stream(iid))
        if s.entry.kind == STEP_KIND
    ]
    return [r["step"] for r in records if r is not None]


def _killed_while_acknowledging(tmp_path: Path, where: str) -> None:
    """A hub process that opens the incident (notified), then dies acknowledging it:
    before the ledger signs the step (``ledger``) or before the notifier hears of it."""
    code = textwrap.dedent(
        f"""
        import os, signal
        from ledger.store.sqlstore import LedgerStore
        from tests.traceability.incidents.conftest import SIGNER, make_alarm
        from tests.traceability.notifications.support import POLICY, Recorder
        from traceability.incidents.model import Actor, incident_id
        from traceability.incidents.service import IncidentService
        from traceability.notifications.service import Notifications
        from traceability.records.store import RecordStore

        def die(*args, **kwargs):
            os.kill(os.getpid(), signal.SIGKILL)

        store = RecordStore.open("sqlite:///{tmp_path / "records.db"}")
        ledger = LedgerStore.open("sqlite:///{tmp_path / "ledger.db"}")
        notifier = Notifications(store, POLICY, {{"email": Recorder("email")}})
        service = IncidentService(store, ledger, SIGNER, notifier=notifier)
        alarm = make_alarm()
        service.raised(alarm)
        if {where!r} == "ledger":
            ledger.submit_many = die
        else:
            notifier.acknowledged = die
        service.acknowledge(incident_id(alarm.id), Actor(name="li", role="operator"), "seen")
        """
    )
    root = Path(__file__).parents[3]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, timeout=120, check=False)
    assert done.returncode == -signal.SIGKILL


@pytest.mark.parametrize("where", ["ledger", "notifier"])
def test_resume_finishes_an_acknowledgement_a_sigkill_left_undone(
    stocked: RecordStore, ledger: LedgerStore, capture: object, tmp_path: Path, where: str
) -> None:
    _killed_while_acknowledging(tmp_path, where)
    iid = incident_id(make_alarm().id)
    before = stocked.notification_incident(iid)
    assert before is not None
    # the notifier hears before the ledger signs: killed at the ledger, escalation has
    # stopped already; killed at the notifier, it would go on
    assert before.settled is (where == "ledger")
    assert _signed(ledger, iid) == ["opened"]
    notifier = Notifications(stocked, POLICY, {"email": Recorder("email")})
    service = IncidentService(stocked, ledger, SIGNER, notifier=notifier)
    assert service.resume() == 1
    assert _signed(ledger, iid) == ["opened", "acknowledged"]
    after = stocked.notification_incident(iid)
    assert after is not None
    assert after.settled
    assert after.acknowledged_by == "li"
    assert {e.state for e in stocked.outbox_entries(iid)} == {"cancelled"}  # no escalation
    assert service.resume() == 0  # nothing left to finish


def test_resume_with_nothing_undone_does_nothing(service: IncidentService) -> None:
    service.raised(make_alarm())
    assert service.resume() == 0
