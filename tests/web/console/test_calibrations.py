"""The console's calibration page over FakeGate and a real SQLite records store, ledger
and audit trail: every role sees each probe's status and due date; a quality user or an
admin records a certificate with an electronic signature (a row, a signed record, an
audit entry carrying the signature); an operator is refused, a bad field names itself,
a wrong password or CSRF token records nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from starlette.applications import Starlette

from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from tests.support.consolegate import PASSWORD, FakeGate
from tests.support.consolehtml import rows, strip
from traceability.audit.trail import AuditTrail
from traceability.calibration.record import Calibration
from traceability.masterdata.calibration import ProbeCalibrations
from traceability.records.store import RecordStore
from web.console.calibrations import calibration_routes
from web.console.render import ConsoleRenderer
from web.problem import Problem, handle_problem

if TYPE_CHECKING:
    from httpx import Response
    from starlette.testclient import TestClient

pytestmark = pytest.mark.filterwarnings(
    "ignore:Using `httpx` with `starlette.testclient` is deprecated"
)
NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
QUALITY = {"X-Test-User": "quinn:quality"}


def cal(probe: str, on: date, due: date, number: str) -> Calibration:
    return Calibration(
        probe=probe, calibrated_on=on, due_on=due, lab="Lab Nord",
        certificate_number=number, uncertainty_c=0.15,
    )  # fmt: skip


class Parts:
    def __init__(self, tmp_path: Path) -> None:
        self.url = url = f"sqlite:///{tmp_path / 'site.db'}"
        self.store, self.ledger = RecordStore.open(url), LedgerStore.open(url)
        signer = Signer.generate("site:test", datetime(2026, 1, 1, tzinfo=UTC))
        self.trail = AuditTrail(self.store, self.ledger, signer)
        self.writer = ProbeCalibrations(self.store, self.ledger, signer, audit=self.trail)
        self.unaudited = ProbeCalibrations(self.store, self.ledger, signer)  # the setup's


@pytest.fixture
def parts(tmp_path: Path) -> Iterator[Parts]:
    found = Parts(tmp_path)
    found.unaudited.add([
        cal("s1/temperature/p1", date(2025, 11, 1), date(2026, 11, 20), "OLD"),
        cal("s1/temperature/p2", date(2026, 1, 10), date(2026, 12, 20), "SOON"),
        cal("s1/temperature/p3", date(2026, 6, 1), date(2027, 6, 1), "FINE"),
    ])  # fmt: skip
    yield found
    found.store.close()
    found.ledger.close()


@pytest.fixture
def gate() -> FakeGate:
    return FakeGate()


@pytest.fixture
def client(parts: Parts, gate: FakeGate) -> Iterator[TestClient]:
    from starlette.testclient import TestClient

    routes = calibration_routes(gate, ConsoleRenderer(), parts.writer, clock=lambda: NOW)
    app = Starlette(routes=routes, exception_handlers={Problem: handle_problem})
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


def add(client: TestClient, user: str, **fields: str) -> Response:
    name = user.partition(":")[0]
    form = {
        "csrf": f"csrf-{name}", "probe": "s1/temperature/p1", "calibrated_on": "2026-11-25",
        "due_on": "2027-11-25", "lab": "Lab Süd", "certificate_number": "NEW-1",
        "uncertainty_c": "0.12", "coverage_k": "2", "reason": "recalibrated",
        "password": PASSWORD, "totp": "",
    }  # fmt: skip
    form.update(fields)
    response: Response = client.post(
        "/console/calibrations", data=form, headers={"X-Test-User": user}
    )
    return response


def test_every_role_sees_each_probes_status_soonest_due_first(client: TestClient) -> None:
    response = client.get("/console/calibrations", headers={"X-Test-User": "vera:viewer"})
    assert response.status_code == 200
    assert [row[:4] for row in rows(response.text, "data-probe")] == [
        ["s1/temperature/p1", "overdue", "2026-11-20", "2025-11-01"],
        ["s1/temperature/p2", "due within 30 days", "2026-12-20", "2026-01-10"],
        ["s1/temperature/p3", "calibrated", "2027-06-01", "2026-06-01"],
    ]
    assert "Sign and record" not in response.text  # a viewer is offered no form
    assert "Sign and record" in client.get("/console/calibrations", headers=QUALITY).text


def test_the_page_shows_the_signed_records_not_the_editable_rows(
    client: TestClient, parts: Parts
) -> None:
    # A row deleted and one written around tracehub: the page still says what was signed.
    engine = sa.create_engine(parts.url)
    with engine.begin() as db:
        db.execute(sa.text("DELETE FROM probe_calibrations WHERE certificate_number = 'OLD'"))
    engine.dispose()
    parts.store.add_calibrations(
        [cal("s1/temperature/p9", date(2026, 6, 1), date(2027, 6, 1), "X")]
    )
    shown = [row[:2] for row in rows(client.get("/console/calibrations", headers=QUALITY).text,
                                     "data-probe")]  # fmt: skip
    assert shown == [
        ["s1/temperature/p1", "overdue"],
        ["s1/temperature/p2", "due within 30 days"],
        ["s1/temperature/p3", "calibrated"],
    ]


def test_a_calibration_dated_after_today_is_refused(client: TestClient, parts: Parts) -> None:
    response = add(client, "ada:admin", calibrated_on="2026-12-05", due_on="2027-12-05")
    assert response.status_code == 400
    assert "calibrated_on: 2026-12-05 is after today (2026-12-01)" in strip(response.text)
    assert parts.trail.entries() == []


def test_a_quality_user_records_a_signed_audited_certificate(
    client: TestClient, parts: Parts, gate: FakeGate
) -> None:
    response = add(client, "quinn:quality")
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/console/calibrations?added=NEW-1"
    (signature,) = gate.signatures
    assert signature.meaning == "recorded calibration certificate NEW-1 of probe s1/temperature/p1"
    (entry,) = parts.trail.entries()
    assert (entry.action, entry.actor.name, entry.actor.kind) == (
        "master.calibration.create", "quinn", "user",
    )  # fmt: skip
    assert entry.signature is not None
    assert entry.reason == "recalibrated"
    signed = parts.writer.signed(["s1/temperature/p1"])
    assert [c.certificate_number for c in signed] == ["OLD", "NEW-1"]
    after = client.get(response.headers["location"], headers=QUALITY)
    assert "Certificate NEW-1 recorded and signed." in strip(after.text)
    assert rows(after.text, "data-probe")[-1][:2] == ["s1/temperature/p1", "calibrated"]


def test_an_operator_is_refused(client: TestClient, parts: Parts) -> None:
    assert add(client, "otto:operator").status_code == 403
    assert len(parts.store.calibrations()) == 3


@pytest.mark.parametrize(
    ("fields", "status", "shown"),
    [
        ({"due_on": "2026-01-01"}, 400, "due_on: must be after calibrated_on"),
        ({"uncertainty_c": "0,12"}, 400, "uncertainty_c:"),
        ({"reason": ""}, 400, "reason: fill it in"),
        ({"password": "wrong"}, 403, "password: not the user's password"),
        ({"certificate_number": "OLD"}, 409, "is recorded with other values"),
    ],
)
def test_a_bad_form_records_nothing_and_says_why(
    client: TestClient, parts: Parts, fields: dict[str, str], status: int, shown: str
) -> None:
    response = add(client, "ada:admin", **fields)
    assert response.status_code == status
    assert shown in strip(response.text)
    assert parts.trail.entries() == []
    assert len(parts.store.calibrations()) == 3


def test_a_wrong_csrf_token_is_refused(client: TestClient, parts: Parts) -> None:
    response = add(client, "ada:admin", csrf="csrf-someone-else")
    assert response.status_code == 403
    assert "csrf" in response.json()["detail"]
    assert parts.trail.entries() == []
