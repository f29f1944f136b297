"""``GET /auditor/lots/{gtin}/{lot}/report.pdf``: auditors only, a PDF named after the
lot, 404 for a lot the records do not hold, 400 for a malformed GTIN."""

from __future__ import annotations

import pytest

from tests.support.events import COLD_ROOM, GTIN
from tests.support.webapp import (
    SteppedSeries,
    add_places,
    app_for,
    bearer,
    capture_journey,
    make_client,
)
from traceability.records.store import RecordStore

pytestmark = pytest.mark.filterwarnings(
    "ignore:Using `httpx` with `starlette.testclient` is deprecated"
)
PATH = f"/auditor/lots/{GTIN}/L1/report.pdf"


def test_an_auditor_gets_the_pdf_others_do_not(stocked: RecordStore) -> None:
    add_places(stocked)
    capture_journey(stocked)
    app = app_for(stocked, SteppedSeries({COLD_ROOM: [2.0, 6.0, 2.0]}), site="Hamburg")
    with make_client(app) as client:
        assert client.get(PATH).status_code == 401
        assert client.get(PATH, headers=bearer(stocked, "read")).status_code == 403
        auditor = bearer(stocked, "auditor", name="inspector")
        answer = client.get(PATH, headers=auditor)
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/pdf"
        assert answer.headers["content-disposition"] == (
            f'attachment; filename="temperature-report-{GTIN}-L1.pdf"'
        )
        assert answer.content.startswith(b"%PDF-")
        unknown = client.get(f"/auditor/lots/{GTIN}/NOPE/report.pdf", headers=auditor)
        assert unknown.status_code == 404
        assert "not in the records" in unknown.json()["detail"]
        bad = client.get("/auditor/lots/12345/L1/report.pdf", headers=auditor)
        assert bad.status_code == 400
