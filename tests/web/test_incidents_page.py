"""The lot page tells each of the lot's incidents in one plain sentence (English and
Chinese) from the SIGNED steps, with its proof state; an SQL edit of the incidents
table changes nothing it says. Real SQLite, ledger anchored on the embedded EVM."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ledger.signing import Signer
from tests.support.events import COLD_ROOM, GTIN
from tests.support.webapp import (
    PAGE,
    Ledgered,
    add_places,
    app_for,
    capture_journey,
    ledgered,
    make_client,
    text_of,
)
from tests.traceability.incidents.conftest import make_alarm
from traceability.incidents.model import Actor, LotImpact, incident_id
from traceability.incidents.service import IncidentService
from traceability.records.store import RecordStore

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient` is deprecated"),
]

SIGNER = Signer.generate("site:test", datetime(2026, 1, 1, tzinfo=UTC))
SENTENCE = "A 4-minute excursion on 2026-11-22 was assessed by quality assurance: released."
START = datetime(2026, 11, 22, 10, 30, tzinfo=UTC)


@pytest.fixture
def site(stocked: RecordStore, tmp_path: Path) -> Ledgered:
    add_places(stocked)
    capture_journey(stocked)  # unit 1002 of L1 in the cold room from 10:00
    return ledgered(stocked, tmp_path / "records.db")


def _released(store: RecordStore, site: Ledgered) -> str:
    """The demo's excursion: the alarm fires after 1 minute, the excursion lasts 4."""
    service = IncidentService(store, site.ledger, SIGNER)
    alarm = make_alarm(start=START, location=COLD_ROOM, raised_at=START + timedelta(minutes=1))
    service.raised(alarm)
    iid = incident_id(alarm.id)
    service.acknowledge(iid, Actor(name="li", role="operator"), "door closed")
    service.cleared(alarm.model_copy(update={"cleared_at": START + timedelta(minutes=4)}))
    qa = Actor(name="qa", role="quality")
    service.assess(iid, qa, "short", [LotImpact(gtin=GTIN, lot="L1", impact="fine")])
    service.dispose(iid, qa, GTIN, "L1", "release", "within budget")
    return iid


def _page(store: RecordStore, site: Ledgered, query: str = "") -> str:
    with make_client(app_for(store, evidence=site.evidence)) as client:
        response = client.get(PAGE + query)
    assert response.status_code == 200
    return str(response.text)


def test_a_released_lot_says_so_with_its_proof_state(stocked: RecordStore, site: Ledgered) -> None:
    assert 'id="incidents"' not in _page(stocked, site)  # no incident: no section
    _released(stocked, site)
    pending = text_of(_page(stocked, site), "incidents")
    assert SENTENCE in pending
    assert "Proof: signed, not yet anchored." in pending
    site.anchor()
    html = _page(stocked, site)
    assert f"{SENTENCE} Proof: on chain." in text_of(html, "incidents")
    assert 'data-fact="proven"' in html
    zh = text_of(_page(stocked, site, "?lang=zh-CN"), "incidents")
    assert "2026-11-22 发生了一次 4 分钟的温度偏离，经质量保证部门评估：放行。" in zh
    assert "证明：已上链。" in zh


def test_an_ongoing_excursion_says_so_then_its_signed_span(
    stocked: RecordStore, site: Ledgered
) -> None:
    service = IncidentService(stocked, site.ledger, SIGNER)
    alarm = make_alarm(start=START)  # fires 14 min after it began
    service.raised(alarm)
    text = text_of(_page(stocked, site), "incidents")
    assert "An excursion that began on 2026-11-22 is still going on: no final word" in text
    zh = text_of(_page(stocked, site, "?lang=zh-CN"), "incidents")
    assert "2026-11-22 开始的一次温度偏离仍在持续：本批次尚无最终结论。" in zh
    service.cleared(alarm.model_copy(update={"cleared_at": START + timedelta(minutes=20)}))
    text = text_of(_page(stocked, site), "incidents")
    assert (
        "A 20-minute excursion on 2026-11-22 is being handled: no decision on this lot yet." in text
    )


def test_an_sql_edit_of_the_incidents_table_changes_nothing_the_page_says(
    stocked: RecordStore, site: Ledgered, tmp_path: Path
) -> None:
    _released(stocked, site)
    site.anchor()
    before = text_of(_page(stocked, site), "incidents")
    db = sqlite3.connect(tmp_path / "records.db")
    with db:
        db.execute("UPDATE incidents SET state = 'open', started_at = '2020-01-01 00:00:00'")
        db.execute("UPDATE incident_steps SET body = replace(body, 'release', 'reject')")
    db.close()
    assert text_of(_page(stocked, site), "incidents") == before


def test_an_altered_step_record_is_shown_not_proven(
    stocked: RecordStore, site: Ledgered, tmp_path: Path
) -> None:
    _released(stocked, site)
    site.anchor()
    db = sqlite3.connect(tmp_path / "records.db")
    with db:
        db.execute(
            "UPDATE ledger_records SET canonical = replace(canonical, '\"release\"', '\"reject\"')"
        )
    db.close()
    text = text_of(_page(stocked, site), "incidents")
    assert "does not hold" in text
    assert "released" not in text


def test_the_temperature_verdict_says_what_quality_assurance_decided(
    stocked: RecordStore, site: Ledgered, tmp_path: Path
) -> None:
    assert 'id="cold-decision"' not in _page(stocked, site)  # no decision: no line
    _released(stocked, site)
    site.anchor()
    html = _page(stocked, site)
    decision = text_of(html, "cold-decision")
    assert decision == "Quality assurance assessed the excursion and released this lot."
    zh = text_of(_page(stocked, site, "?lang=zh-CN"), "cold-decision")
    assert zh == "质量保证部门已评估该温度偏离，并放行本批次。"
    # an altered disposition record is no decision: the line goes, the incident says why
    db = sqlite3.connect(tmp_path / "records.db")
    with db:
        db.execute(
            "UPDATE ledger_records SET canonical = replace(canonical, '\"release\"', '\"reject\"')"
        )
    db.close()
    assert 'id="cold-decision"' not in _page(stocked, site)
