"""The console's incident pages over FakeGate, real SQLite records and ledger: the list and
the timeline; acknowledge, assess, dispose (with an e-signature) and close as the roles
allow; CSRF on every form; a refused signature disposes nothing; both languages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from html import unescape
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ledger.store.sqlstore import LedgerStore
from tests.support.consolegate import PASSWORD, FakeGate
from tests.support.consolepages import (
    OPERATOR,
    QUALITY,
    VIEWER,
    FakeTemperatures,
    SignedCalls,
    console_app,
)
from tests.support.events import COLD_ROOM, GTIN, object_event
from tests.support.webapp import make_client, text_of
from tests.traceability.incidents.conftest import NOW, SIGNER, at, make_alarm
from traceability.anchoring.feeder import EventLeaves
from traceability.capture import CaptureService
from traceability.incidents.model import incident_id
from traceability.incidents.service import IncidentService
from traceability.records.locations import Location
from traceability.records.store import RecordStore

if TYPE_CHECKING:
    from starlette.testclient import TestClient

pytestmark = pytest.mark.filterwarnings(
    "ignore:Using `httpx` with `starlette.testclient` is deprecated"
)
LOT = f"{GTIN}/L1"
MEANING = f"approved release of lot L1 (GTIN {GTIN})"


class Console:
    def __init__(
        self,
        client: TestClient,
        service: IncidentService,
        gate: FakeGate,
        signed: SignedCalls,
        iid: str,
    ) -> None:
        self.client = client
        self.service = service
        self.gate = gate
        self.signed = signed
        self.iid = iid

    def post(
        self, step: str, who: dict[str, str], csrf: str | None = "", **fields: str
    ) -> TestClient:
        """POST a form of the incident as ``who`` (``csrf=""``: the right token)."""
        data = dict(fields)
        if csrf is not None:
            data["csrf"] = csrf or f"csrf-{who['X-Test-User'].split(':')[0]}"
        return self.client.post(  # type: ignore[no-any-return]
            f"/console/incidents/{self.iid}/{step}",
            data=data,
            headers=who,
            follow_redirects=False,
        )

    def state(self) -> str:
        found = self.service.get(self.iid)
        assert found is not None
        return found.state


@pytest.fixture
def console(stocked: RecordStore, tmp_path: Path) -> Iterator[Console]:
    """An alarm in the cold room 10:30–10:48 on 2026-12-03 found lot L1 there."""
    stocked.add_location(Location(urn=COLD_ROOM, name="Cold room 1", kind="cold_room"))
    ledger = LedgerStore.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    capture = CaptureService(stocked, ledger=EventLeaves(ledger, SIGNER))
    capture.capture(object_event(time="2026-12-03T10:00:00Z", read_point=COLD_ROOM))
    service = IncidentService(stocked, ledger, SIGNER, dispositions=capture, clock=lambda: NOW)
    alarm = make_alarm()
    service.raised(alarm)
    service.cleared(alarm.model_copy(update={"cleared_at": at(10, 48), "peak_c": 9.9}))
    temperatures = FakeTemperatures()
    temperatures.set(COLD_ROOM, 9.1, NOW - timedelta(minutes=1))
    gate, signed = FakeGate(), SignedCalls()
    app = console_app(
        stocked, temperatures, lambda: NOW, gate=gate, incidents=service, on_signed=signed
    )
    with make_client(app) as client:
        yield Console(client, service, gate, signed, incident_id(alarm.id))
    ledger.close()


def test_the_overview_counts_the_active_incident_per_place(console: Console) -> None:
    html = console.client.get("/console", headers=VIEWER).text
    panel = text_of(html, "active-incidents")
    assert panel.startswith("Active incidents 1 Cold room 1 open Cold room 1: 9.4 °C")
    assert "1 active incident(s)" in html
    assert f'href="/console/incidents?place={COLD_ROOM.replace(":", "%3A")}"' in html


def test_the_list_and_the_timeline(console: Console) -> None:
    listing = console.client.get("/console/incidents", headers=VIEWER)
    assert listing.status_code == 200
    assert re.findall(r'data-incident="([^"]+)" data-state="(\w+)"', listing.text) == [
        (console.iid, "open")
    ]
    closed = console.client.get("/console/incidents?state=closed", headers=VIEWER).text
    assert 'id="no-incidents"' in closed
    assert console.client.get("/console/incidents?state=nope", headers=VIEWER).status_code == 400
    page = console.client.get(f"/console/incidents/{console.iid}", headers=VIEWER).text
    assert text_of(page, "timeline").startswith("2026-12-03 10:44 UTC Opened by tracehub (system)")
    assert "Cleared by tracehub (system) Peak: 9.9 °C" in text_of(page, "timeline")
    assert text_of(page, "lots") == f"{LOT}: not disposed yet"
    assert "<form" not in page.split("<main>")[1]  # a viewer follows; no step offered
    assert "As viewer you may follow this incident" in text_of(page, "no-actions")


def test_an_unknown_incident_is_a_404_page(console: Console) -> None:
    response = console.client.get("/console/incidents/inc-nope", headers=VIEWER)
    assert response.status_code == 404
    assert "incident inc-nope: no such incident" in text_of(response.text, "error-detail")
    assert 'href="/console/incidents" id="back"' in response.text


def test_steps_need_their_role_and_the_sessions_csrf_token(console: Console) -> None:
    refused = console.post("ack", VIEWER, comment="seen")
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")
    assert "vera is viewer; needs operator" in text_of(refused.text, "error-detail")
    assert console.post("ack", OPERATOR, csrf=None, comment="seen").status_code == 403
    wrong = console.post("ack", OPERATOR, csrf="csrf-vera", comment="seen")
    assert wrong.status_code == 403
    assert "csrf: reload the page" in text_of(wrong.text, "error-detail")
    anonymous = console.client.post(f"/console/incidents/{console.iid}/ack", data={"comment": "x"})
    assert anonymous.status_code == 403
    assert console.state() == "open"


def test_acknowledge_assess_dispose_and_close(console: Console) -> None:
    done = console.post("ack", OPERATOR, comment="door was open, closed it")
    assert done.status_code == 303
    assert done.headers["location"] == f"/console/incidents/{console.iid}"
    assert console.state() == "acknowledged"
    page = console.client.get(f"/console/incidents/{console.iid}", headers=OPERATOR).text
    assert "Acknowledged by li (operator) door was open, closed it" in text_of(page, "timeline")
    # the assessment's row is pre-filled with the incident's span (10:30–10:48)
    assert re.search(r'name="lot.0" value="04012345111118/L1"', page)
    assert re.search(r'name="minutes_out.0" id="minutes-0" value="18.0"', page)
    assert 'id="dispose-form"' not in page  # dispositions are quality's
    assert 'id="close-form"' not in page  # not before every lot is disposed
    assessed = console.post(
        "assess",
        OPERATOR,
        comment="short, within budget",
        **{"lot.0": LOT, "minutes_out.0": "18", "budget_left_min.0": "42,5", "impact.0": "fine"},
    )
    assert assessed.status_code == 303
    incident = console.service.get(console.iid)
    assert incident is not None
    last = incident.last("assessed")
    assert last is not None
    assert last.record["impacts"] == [
        {"gtin": GTIN, "lot": "L1", "minutes_out": 18.0, "budget_left_min": 42.5, "impact": "fine"}
    ]
    # the operator may not dispose: neither the signing page nor the post
    sign_url = f"/console/incidents/{console.iid}/dispose?lot={LOT}&disposition=release"
    assert console.client.get(sign_url, headers=OPERATOR).status_code == 403
    refused = console.post(
        "dispose", OPERATOR, lot=LOT, disposition="release", reason="ok", password=PASSWORD
    )
    assert refused.status_code == 403
    assert "li is operator; needs quality" in text_of(refused.text, "error-detail")
    # quality sees the meaning before signing
    sign = console.client.get(sign_url, headers=QUALITY)
    assert sign.status_code == 200
    assert text_of(sign.text, "meaning") == MEANING
    assert 'type="password" name="password"' in sign.text
    done = console.post(
        "dispose",
        QUALITY,
        lot=LOT,
        disposition="release",
        reason="18 min within the 60 min budget",
        password=PASSWORD,
        totp="",
    )
    assert done.status_code == 303
    incident = console.service.get(console.iid)
    assert incident is not None
    assert incident.state == "disposed"
    assert incident.dispositions == {LOT: "release"}
    assert [s.meaning for s in console.gate.signatures] == [MEANING]
    [(signature, action, subject)] = console.signed.calls
    assert (signature.name, signature.role, signature.meaning) == ("qa", "quality", MEANING)
    assert (action, subject) == ("incident.dispose", f"incident/{console.iid}/lot/{LOT}")
    page = console.client.get(f"/console/incidents/{console.iid}", headers=OPERATOR).text
    assert 'id="close-form"' in page
    assert console.post("close", OPERATOR, comment="all disposed").status_code == 303
    assert console.state() == "closed"
    page = console.client.get(f"/console/incidents/{console.iid}", headers=QUALITY).text
    assert f"{LOT}: Release" in text_of(page, "lots")
    assert '<form method="post" action="/console/incidents' not in page


def test_a_wrong_signature_password_disposes_nothing(console: Console) -> None:
    console.post("ack", OPERATOR, comment="seen")
    console.post("assess", OPERATOR, comment="checked", **{"lot.0": LOT})
    refused = console.post(
        "dispose", QUALITY, lot=LOT, disposition="reject", reason="too warm", password="guess"
    )
    assert refused.status_code == 403
    assert "password: not the user's password" in unescape(text_of(refused.text, "error-detail"))
    assert f'href="/console/incidents/{console.iid}" id="back"' in refused.text
    incident = console.service.get(console.iid)
    assert incident is not None
    assert (incident.state, incident.dispositions) == ("assessed", {})
    assert console.gate.signatures == []
    assert console.signed.calls == []
    missing = console.post("dispose", QUALITY, lot=LOT, disposition="reject", reason="warm")
    assert missing.status_code == 400
    forged = console.post(
        "dispose", QUALITY, csrf=None, lot=LOT, disposition="reject", reason="w", password=PASSWORD
    )
    assert forged.status_code == 403
    assert console.signed.calls == []


def test_a_step_the_lifecycle_refuses_is_a_409_page(console: Console) -> None:
    refused = console.post("close", OPERATOR, comment="done")
    assert refused.status_code == 409
    assert "cannot be closed now" in text_of(refused.text, "error-detail")
    assert console.state() == "open"


def test_the_incident_pages_in_chinese(console: Console) -> None:
    console.post("ack", OPERATOR, comment="seen")
    console.post("assess", OPERATOR, comment="checked", **{"lot.0": LOT})
    listing = console.client.get("/console/incidents?lang=zh-CN", headers=QUALITY).text
    assert "已评估" in text_of(listing, "incidents")
    page = console.client.get(f"/console/incidents/{console.iid}?lang=zh-CN", headers=QUALITY)
    assert "处置批次" in page.text
    assert "确认 由 li（operator）" in text_of(page.text, "timeline")
    sign = console.client.get(
        f"/console/incidents/{console.iid}/dispose?lot={LOT}&disposition=quarantine&lang=zh-CN",
        headers=QUALITY,
    ).text
    assert text_of(sign, "meaning") == f"批准隔离批次 L1（GTIN {GTIN}）"
    recorded = f"记录为：approved quarantine of lot L1 (GTIN {GTIN})"
    assert text_of(sign, "meaning-recorded") == recorded
    assert f"lot={GTIN}%2FL1&amp;disposition=quarantine&amp;lang=en" in sign


def test_a_comment_with_control_characters_is_refused_before_the_step(console: Console) -> None:
    # A NUL passes the step's JSON but not PostgreSQL's text column of its audit entry:
    # refused at the form, the incident stays as it was.
    refused = console.post("ack", OPERATOR, comment="seen\x00it")
    assert refused.status_code == 400
    assert "comment: remove the control characters" in text_of(refused.text, "error-detail")
    assert console.state() == "open"
    assert console.post("ack", OPERATOR, comment="seen\r\nit, closed the door").status_code == 303
