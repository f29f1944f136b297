"""``GET /auditor/fsma204`` (``web.fsmaexport``): the FSMA 204 spreadsheet for auditors over
real SQLite records holding the captured salad chain: auditor scope only, a 400 naming
each bad parameter, CSV and XLSX with their content type and file name, a lot's trace,
partner text made inert, and the bound on work."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from openpyxl import load_workbook

from tests.support.webapp import app_for, bearer, make_client
from tests.traceability.fsma.conftest import (
    CHOPPED,
    add_master_data,
    capture_chain,
    expected_rows,
)
from traceability.fsma.cte import COLUMNS
from traceability.records.store import RecordStore
from web import fsmaexport

if TYPE_CHECKING:
    from starlette.testclient import TestClient

pytestmark = pytest.mark.filterwarnings(
    "ignore:Using `httpx` with `starlette.testclient` is deprecated"
)
WINDOW = {"from": "2026-06-01", "to": "2026-06-04"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def chain(store: RecordStore) -> dict[str, str]:
    add_master_data(store)
    return capture_chain(store)


@pytest.fixture
def client(store: RecordStore, chain: dict[str, str]) -> Iterator[TestClient]:
    with make_client(app_for(store)) as test_client:
        yield test_client


@pytest.fixture
def auditor(store: RecordStore) -> dict[str, str]:
    return bearer(store, "auditor")


def rows_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_only_auditors_get_the_sheet(
    client: TestClient, store: RecordStore, auditor: dict[str, str]
) -> None:
    assert client.get("/auditor/fsma204", params=WINDOW).status_code == 401
    refused = client.get("/auditor/fsma204", params=WINDOW, headers=bearer(store, "read"))
    assert refused.status_code == 403
    assert "auditor" in refused.json()["detail"]
    assert client.get("/auditor/fsma204", params=WINDOW, headers=auditor).status_code == 200


def test_the_csv_is_the_whole_window_as_an_attachment(
    client: TestClient, chain: dict[str, str], auditor: dict[str, str]
) -> None:
    answer = client.get("/auditor/fsma204", params=WINDOW, headers=auditor)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"] == (
        'attachment; filename="fsma204-2026-06-01-2026-06-04.csv"'
    )
    assert rows_of(answer.text) == [list(COLUMNS), *expected_rows(chain)]


def test_the_xlsx_of_a_lots_trace(client: TestClient, auditor: dict[str, str]) -> None:
    query = {**WINDOW, "product": CHOPPED, "lot": "FC0603", "format": "xlsx"}
    answer = client.get("/auditor/fsma204", params=query, headers=auditor)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == XLSX
    assert (
        'filename="fsma204-2026-06-01-2026-06-04-FC0603.xlsx"'
        in (answer.headers["content-disposition"])
    )
    sheet = load_workbook(io.BytesIO(answer.content)).active
    assert [c.value for c in sheet[1]] == list(COLUMNS)
    lots = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert lots == ["FC0603"] * 4 + ["GV0601"] * 6


def test_partner_text_is_never_a_formula(
    client: TestClient, store: RecordStore, auditor: dict[str, str]
) -> None:
    store.update_product(CHOPPED, name='=HYPERLINK("http://evil.example","open me")')
    answer = client.get("/auditor/fsma204", params={**WINDOW, "product": CHOPPED}, headers=auditor)
    names = {row[COLUMNS.index("Product Description")] for row in rows_of(answer.text)[1:]}
    assert names == {'\'=HYPERLINK("http://evil.example","open me")'}


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ({"to": "2026-06-04"}, "from"),
        ({"from": "2026-06-01"}, "to"),
        ({**WINDOW, "from": "yesterday"}, "from"),
        ({**WINDOW, "from": "20260601"}, "from"),
        ({**WINDOW, "to": "2026-02-30"}, "to"),
        ({"from": "2026-06-04", "to": "2026-06-01"}, "to"),
        ({"from": "2025-06-01", "to": "2026-06-04"}, "to"),
        ({**WINDOW, "product": "614141222224"}, "product"),
        ({**WINDOW, "lot": "a lot with spaces"}, "lot"),
        ({**WINDOW, "format": "pdf"}, "format"),
        ({**WINDOW, "colour": "red"}, "colour"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(
    client: TestClient, auditor: dict[str, str], query: dict[str, str], named: str
) -> None:
    answer = client.get("/auditor/fsma204", params=query, headers=auditor)
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["detail"].startswith(f"{named}: ")


def test_a_window_with_more_events_than_one_export_reads_is_refused(
    store: RecordStore,
    chain: dict[str, str],
    auditor: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fsmaexport, "MAX_EVENTS", 5)
    with make_client(app_for(store)) as client:
        answer = client.get("/auditor/fsma204", params=WINDOW, headers=auditor)
    assert answer.status_code == 400
    assert answer.json()["detail"] == (
        "to: from 2026-06-01 to 2026-06-04 holds more than 5 CTE events; ask for a shorter window"
    )


def test_partner_text_in_the_xlsx_is_a_string_unchanged(
    client: TestClient, store: RecordStore, auditor: dict[str, str]
) -> None:
    hostile = '=HYPERLINK("http://evil.example","open me")'
    store.update_product(CHOPPED, name=hostile)
    query = {**WINDOW, "product": CHOPPED, "format": "xlsx"}
    answer = client.get("/auditor/fsma204", params=query, headers=auditor)
    assert answer.status_code == 200, answer.text
    sheet = load_workbook(io.BytesIO(answer.content)).active
    column = COLUMNS.index("Product Description") + 1
    cells = [sheet.cell(row=r, column=column) for r in range(2, sheet.max_row + 1)]
    assert {(c.value, c.data_type, c.quotePrefix) for c in cells} == {(hostile, "s", True)}


@pytest.mark.parametrize(
    ("bound", "value", "said"),
    [
        ("MAX_ROWS", 10, "holds more than 10 rows (one per CTE and lot)"),
        ("MAX_LOTS", 2, "holds more than 2 lots"),
        ("MAX_SECONDS", 1e-9, "could not be exported within 1e-09 s"),
    ],
)
def test_an_export_past_a_bound_on_its_work_is_a_400_naming_to(
    store: RecordStore,
    chain: dict[str, str],
    auditor: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    bound: str,
    value: float,
    said: str,
) -> None:
    monkeypatch.setattr(fsmaexport, bound, value)
    with make_client(app_for(store)) as client:
        answer = client.get("/auditor/fsma204", params=WINDOW, headers=auditor)
    assert answer.status_code == 400
    assert answer.json()["detail"] == (
        f"to: from 2026-06-01 to 2026-06-04 {said}; ask for a shorter window"
    )
