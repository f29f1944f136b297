"""The CSV and XLSX writers (``traceability.fsma.sheet``): the same cells in both, RFC 4180
quoting, formula injection defused, and a workbook a standard reader (openpyxl) opens
with its header bold and frozen and an autofilter over the table."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from tests.traceability.fsma.conftest import expected_rows
from traceability.fsma.cte import COLUMNS
from traceability.fsma.export import Fsma204Export
from traceability.fsma.row import Row
from traceability.fsma.sheet import SHEET_TITLE, csv_bytes, xlsx_bytes
from traceability.records.store import RecordStore

PACIFIC = timezone(-timedelta(hours=7))


def row(**changes: object) -> Row:
    base: dict[str, object] = {
        "tlc": "L1",
        "gtin": "00614141111114",
        "cte": "shipping",
        "role": "",
        "day": date(2026, 6, 2),
        "tlc_source": "Packhouse (urn:epc:id:sgln:0614141.00002.0)",
        "product": "Romaine",
        "quantity": 100.0,
        "uom": "EA",
        "location": "Packhouse (urn:epc:id:sgln:0614141.00002.0)",
        "previous": None,
        "subsequent": "Processor (urn:epc:id:sgln:0614142.00001.0)",
        "doc_type": "Bill of Lading",
        "doc_number": "BOL-1",
        "event_time": datetime(2026, 6, 2, 6, tzinfo=PACIFIC),
        "event_id": "ni:///sha-256;abc?ver=CBV2.0",
        "epcis_event": "ObjectEvent shipping",
    }
    return Row.model_validate({**base, **changes})


def read_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def read_xlsx(data: bytes) -> list[list[object]]:
    sheet = load_workbook(io.BytesIO(data))[SHEET_TITLE]
    return [list(values) for values in sheet.iter_rows(values_only=True)]


def test_csv_and_xlsx_hold_the_hand_written_cells(
    store: RecordStore, chain: dict[str, str]
) -> None:
    rows = Fsma204Export(store).rows(date(2026, 6, 1), date(2026, 6, 4))
    expected = expected_rows(chain)
    data = csv_bytes(rows)
    assert read_csv(data) == [list(COLUMNS), *expected]
    assert data.startswith(b"Traceability Lot Code,GTIN,Critical Tracking Event,")
    assert data.count(b"\r\n") == len(expected) + 1  # CRLF ends every record
    book = read_xlsx(xlsx_bytes(rows))
    assert book[0] == list(COLUMNS)
    for got, want in zip(book[1:], expected, strict=True):
        assert got[4] == datetime.fromisoformat(want[4])  # a real date (openpyxl: datetime)
        assert got[7] == int(want[7])  # a number
        assert ["" if v is None else str(v) for v in got[:4] + got[5:7] + got[8:]] == (
            want[:4] + want[5:7] + want[8:]
        )


def test_the_workbook_is_sortable_header_bold_and_frozen() -> None:
    data = xlsx_bytes([row(), row(tlc="L2")])
    sheet = load_workbook(io.BytesIO(data))[SHEET_TITLE]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{get_column_letter(len(COLUMNS))}3"
    assert all(cell.font.bold for cell in sheet[1])
    assert not any(cell.font.bold for cell in sheet[2])
    assert sheet["E2"].number_format == "yyyy-mm-dd"
    assert sheet["E2"].value == datetime(2026, 6, 2)


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_cell_that_would_be_a_formula_is_made_inert(start: str) -> None:
    hostile = start + 'HYPERLINK("http://evil.example","x")'
    sheet_row = row(product=hostile, doc_number=f"{start}1+1", quantity=-5.0)
    [header, cells] = read_csv(csv_bytes([sheet_row]))
    assert cells[header.index("Product Description")] == "'" + hostile
    assert cells[header.index("Reference Document Number")] == f"'{start}1+1"
    assert cells[header.index("Quantity")] == "-5"  # a number: no formula, no quote
    data = xlsx_bytes([sheet_row])
    sheet = load_workbook(io.BytesIO(data))[SHEET_TITLE]
    product = sheet.cell(row=2, column=header.index("Product Description") + 1)
    # the text unchanged (XML reads a CR back as LF), a string, kept text when edited
    assert product.value == hostile.replace("\r", "\n")
    assert (product.data_type, product.quotePrefix) == ("s", True)
    assert sheet.cell(row=2, column=header.index("Quantity") + 1).value == -5
    assert all(cell.data_type != "f" for cells_ in sheet.iter_rows() for cell in cells_)
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        assert "<f>" not in book.read("xl/worksheets/sheet1.xml").decode()


def test_a_lot_code_starting_with_a_minus_round_trips_through_xlsx() -> None:
    """AI 10 allows "-L1": the XLSX holds exactly that, the CSV keeps OWASP's guard."""
    sheet_row = row(tlc="-L1", doc_number="+44-BOL", subsequent="@Dock (urn:x)")
    [header, *values] = read_xlsx(xlsx_bytes([sheet_row]))
    assert values[0][0] == "-L1"
    assert values[0][header.index("Reference Document Number")] == "+44-BOL"
    assert values[0][header.index("Immediate Subsequent Recipient")] == "@Dock (urn:x)"
    assert read_csv(csv_bytes([sheet_row]))[1][0] == "'-L1"
    plain = load_workbook(io.BytesIO(xlsx_bytes([row(tlc="L1")])))[SHEET_TITLE]["A2"]
    assert (plain.value, plain.quotePrefix) == ("L1", False)  # ordinary text: no style


def test_quoting_follows_rfc_4180() -> None:
    data = csv_bytes([row(product='Romaine, "hearts"\r\n3 ct', tlc="L,1")])
    line = data.split(b"\r\n")[1]
    assert line.startswith(b'"L,1",')
    assert b'"Romaine, ""hearts""\r' in data  # quoted, quotes doubled, line break kept
    assert read_csv(data)[1][6] == 'Romaine, "hearts"\r\n3 ct'


def test_text_xml_cannot_hold_becomes_a_replacement_character() -> None:
    [_, values] = read_xlsx(xlsx_bytes([row(product="Rom\x00aine\x1b")]))
    assert values[COLUMNS.index("Product Description")] == "Rom\ufffdaine\ufffd"
    assert read_csv(csv_bytes([row(product="Rom\x00aine")]))[1][6] == "Rom\x00aine"


def test_quantities_and_times_are_written_as_numbers_and_iso_text() -> None:
    [_, given, empty] = read_csv(csv_bytes([row(quantity=12.5), row(quantity=None)]))
    assert given[COLUMNS.index("Quantity")] == "12.5"
    assert empty[COLUMNS.index("Quantity")] == ""
    assert given[COLUMNS.index("Event Time")] == "2026-06-02T06:00:00-07:00"
    utc = row(event_time=datetime(2026, 6, 2, 13, tzinfo=UTC), quantity=1e20)
    [_, cells] = read_csv(csv_bytes([utc]))
    assert cells[COLUMNS.index("Event Time")] == "2026-06-02T13:00:00+00:00"
    assert cells[COLUMNS.index("Quantity")] == "1e+20"
