"""The console's temperature reports over FakeGate, real SQLite records and a ledger
anchored on the embedded EVM: a viewer reads and downloads the draft, only quality
releases, the e-signature is checked before anything is kept, the released PDF names who
released it and what it means, its SHA-256 is in the lot's anchored records and the
release is an audit entry with the signature; an edited kept file is refused."""

from __future__ import annotations

import hashlib
import io
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from pypdf import PdfReader
from starlette.applications import Starlette

from ledger.batch import StoredEntry
from ledger.signing import Signer
from tests.support.consolegate import PASSWORD, FakeGate
from tests.support.consolepages import QUALITY, VIEWER
from tests.support.events import COLD_ROOM, GTIN
from tests.support.webapp import (
    NOW,
    TODAY,
    Ledgered,
    SteppedSeries,
    add_places,
    capture_journey,
    ledgered,
)
from traceability.anchoring.feeder import submit_lot_record
from traceability.anchoring.seals import WindowStatus
from traceability.audit.trail import AuditTrail
from traceability.coldchain.exposure import ExposureService
from traceability.records.store import RecordStore
from traceability.reports.release import ACTION, FORMAT, KIND, ReportReleases
from web.console.render import ConsoleRenderer
from web.console.reportpages import report_routes
from web.lotpage import LotPageBuilder
from web.problem import Problem, handle_problem
from web.report.build import ReportBuilder
from web.report.placebuild import PlaceReportBuilder
from web.report.rendering import ReportPdfs
from web.report.view import TemperatureReport

if TYPE_CHECKING:
    from starlette.testclient import TestClient

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient` is deprecated"),
]
SIGNER = Signer.generate("site:test", datetime(2026, 1, 1, tzinfo=UTC))
PAGE = f"/console/lots/{GTIN}/L1/report"


class Site:
    def __init__(self, store: RecordStore, ledger: Ledgered) -> None:
        self.store = store
        self.ledgered = ledger
        self.trail = AuditTrail(store, ledger.ledger, SIGNER)
        self.builder: ReportBuilder | None = None

    def sign(self, kind: str, gtin: str, lot: str, record: dict[str, Any]) -> StoredEntry:
        return submit_lot_record(self.ledgered.ledger, SIGNER, kind, gtin, lot, record)


@pytest.fixture
def site(stocked: RecordStore, tmp_path: Path) -> Site:
    add_places(stocked)
    capture_journey(stocked)
    return Site(stocked, ledgered(stocked, tmp_path / "records.db"))


@pytest.fixture
def client(site: Site) -> Iterator[TestClient]:
    from starlette.testclient import TestClient

    series = SteppedSeries({COLD_ROOM: [2.0, 2.0, 7.5, 2.0]})
    exposure = ExposureService(site.store, series, now=NOW)
    pages = LotPageBuilder(
        site.store,
        "embedded EVM",
        exposure=exposure,
        series=series,
        evidence=site.ledgered.evidence,
        today=lambda: TODAY,
        now=lambda: NOW,
    )
    builder = ReportBuilder(site.store, pages, exposure, site="Hamburg", now=lambda: NOW)
    site.builder = builder
    routes = report_routes(
        FakeGate(),
        ConsoleRenderer(),
        site.store,
        ReportPdfs(
            builder, PlaceReportBuilder(site.store, site.ledgered.ledger, series, site="Hamburg")
        ),
        ReportReleases(site.store, site.sign, site.trail, site.ledgered.ledger),
    )
    app = Starlette(routes=routes, exception_handlers={Problem: handle_problem})
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


def _text(pdf: bytes) -> str:
    pages = PdfReader(io.BytesIO(pdf)).pages
    return " ".join(" ".join((page.extract_text() or "").split()) for page in pages)


def _release(client: TestClient, password: str = PASSWORD, csrf: str = "csrf-qa") -> Any:
    return client.post(
        PAGE + "/release", data={"csrf": csrf, "password": password}, headers=QUALITY
    )


def test_a_viewer_reads_the_page_and_the_draft_but_cannot_release(client: TestClient) -> None:
    page = client.get(PAGE, headers=VIEWER)
    assert page.status_code == 200
    assert 'id="none-released"' in page.text
    assert 'id="release-form"' not in page.text
    draft = client.get(PAGE + "/draft.pdf", headers=VIEWER)
    assert draft.headers["content-type"] == "application/pdf"
    assert "Draft: not released, not signed." in _text(draft.content)
    refused = client.post(PAGE + "/release", data={"csrf": "csrf-vera"}, headers=VIEWER)
    assert refused.status_code == 403
    assert 'id="release-form"' in client.get(PAGE, headers=QUALITY).text


def test_a_refused_signature_or_csrf_keeps_nothing(client: TestClient, site: Site) -> None:
    assert _release(client, password="wrong").status_code == 403
    assert _release(client, csrf="csrf-someone").status_code == 403
    assert _release(client, password="").status_code == 400
    assert site.store.released_reports(GTIN, "L1") == []


def test_a_release_is_signed_kept_anchored_and_audited(client: TestClient, site: Site) -> None:
    answer = _release(client)
    assert answer.status_code == 303
    (kept,) = site.store.released_reports(GTIN, "L1")
    assert answer.headers["location"] == f"/console/reports/{kept.id}.pdf"
    pdf = client.get(answer.headers["location"], headers=VIEWER).content
    assert hashlib.sha256(pdf).hexdigest() == kept.sha256
    text = _text(pdf)
    assert "Released by Qa (qa), quality" in text
    assert f"approved the temperature report of lot L1 (GTIN {GTIN})" in text
    site.ledgered.anchor()
    bundle = site.ledgered.evidence.bundle(GTIN, "L1")
    assert bundle is not None
    records = [i["record"] for i in bundle["items"] if i["entry"]["kind"] == KIND]
    assert [(r["format"], r["sha256"], r["released_by"]["name"]) for r in records] == [
        (FORMAT, kept.sha256, "qa")
    ]
    (entry,) = site.store.audit_rows(action=ACTION)
    assert entry["signature"]["meaning"].startswith("approved the temperature report")
    listed = client.get(PAGE, headers=VIEWER).text
    assert kept.sha256 in listed
    assert "hash signed into the lot" in listed


def test_an_edited_kept_file_is_refused(client: TestClient, site: Site, tmp_path: Path) -> None:
    location = _release(client).headers["location"]
    db = sqlite3.connect(tmp_path / "records.db")
    with db:
        db.execute("UPDATE released_reports SET pdf = CAST(? AS BLOB)", (b"%PDF-1.7 forged",))
    db.close()
    answer = client.get(location, headers=VIEWER)
    assert answer.status_code == 409
    assert "does not match" in answer.text


def test_a_kept_row_edited_with_its_file_is_not_shown_signed(
    client: TestClient, site: Site, tmp_path: Path
) -> None:
    """Someone with SQL access swaps the kept PDF and its hash together: the ledger's
    record still names the released hash, so the console neither serves nor lists it
    as signed."""
    location = _release(client).headers["location"]
    forged = b"%PDF-1.7 forged"
    db = sqlite3.connect(tmp_path / "records.db")
    with db:
        db.execute(
            "UPDATE released_reports SET pdf = CAST(? AS BLOB), sha256 = ?",
            (forged, hashlib.sha256(forged).hexdigest()),
        )
    db.close()
    answer = client.get(location, headers=VIEWER)
    assert answer.status_code == 409
    assert "not the one its ledger record signed" in answer.text
    assert "hash signed into the lot" not in client.get(PAGE, headers=VIEWER).text


def test_a_report_whose_readings_changed_since_sealing_is_not_released(
    client: TestClient, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert site.builder is not None
    build = site.builder.build

    def changed(*args: Any, **kwargs: Any) -> TemperatureReport:
        report = build(*args, **kwargs)
        cold = report.view.cold_chain.model_copy(
            update={"windows": WindowStatus(proven=1, changed=2)}
        )
        return report.model_copy(
            update={"view": report.view.model_copy(update={"cold_chain": cold})}
        )

    monkeypatch.setattr(site.builder, "build", changed)
    draft = client.get(PAGE + "/draft.pdf", headers=VIEWER)
    assert "2 h of readings changed since sealing" in _text(draft.content)
    refused = _release(client)
    assert refused.status_code == 409
    assert "changed in InfluxDB after the gateway sealed them" in refused.text
    assert site.store.released_reports(GTIN, "L1") == []


def test_a_storage_places_report_from_the_console(client: TestClient) -> None:
    path = "/console/places/report.pdf"
    period = {"from": "2026-11-22T10:00:00+00:00", "to": "2026-11-22T12:00:00+00:00"}
    answer = client.get(path, params={"place": COLD_ROOM, **period}, headers=VIEWER)
    assert answer.status_code == 200
    assert "Temperature report of a storage place" in _text(answer.content)
    unknown = client.get(path, params={"place": "urn:x", **period}, headers=VIEWER)
    assert unknown.status_code == 404
    bad = client.get(path, params={"place": COLD_ROOM, "from": "x", "to": "y"}, headers=VIEWER)
    assert bad.status_code == 400
    assert client.get(path, params={"place": COLD_ROOM, **period}).status_code == 303  # log in
