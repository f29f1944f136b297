"""``tracehub records fsma204``: the sortable spreadsheet as CSV or XLSX (by the suffix),
over real SQLite records holding the captured salad chain."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from openpyxl import load_workbook

from tests.traceability.fsma.conftest import (
    CHOPPED,
    WINDOW,
    add_master_data,
    capture_chain,
    expected_rows,
)
from traceability.fsma.cte import COLUMNS
from traceability.records.store import RecordStore
from tracehub.cli import main


@pytest.fixture
def chain(store: RecordStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("TRACEHUB_RECORDS_URL", f"sqlite:///{tmp_path / 'records.db'}")
    monkeypatch.setenv("TRACEHUB_STATE_DIR", str(tmp_path / "state"))
    add_master_data(store)
    return capture_chain(store)


def fsma(*args: str) -> Result:
    return CliRunner().invoke(
        main,
        ["records", "fsma204", "--from", WINDOW[0], "--to", WINDOW[1], *args],
        env={"COLUMNS": "200"},
    )


def test_the_csv_holds_every_cte_of_the_window(chain: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "fda.csv"
    result = fsma("--out", str(out))
    assert result.exit_code == 0, result.output
    assert "wrote 11 CTE row(s) from 2026-06-01 to 2026-06-04" in result.output
    # every row: the records hold no phone numbers, nor a product's brand or pack style
    assert "(11 with missing KDEs)" in result.output
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"), newline="")))
    assert rows == [list(COLUMNS), *expected_rows(chain)]


def test_a_lots_trace_as_xlsx(chain: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "FC0603.XLSX"
    result = fsma("--product", "614141222223", "--lot", "FC0603", "--out", str(out))
    assert result.exit_code == 0, result.output
    sheet = load_workbook(out).active
    values = list(sheet.iter_rows(min_row=2, values_only=True))
    assert [(v[0], v[COLUMNS.index("Trace")]) for v in values] == [
        *[("FC0603", "traced lot FC0603")] * 4,
        *[("GV0601", "step back: went into FC0603")] * 6,
    ]
    assert {v[1] for v in values[:4]} == {CHOPPED}  # the GTIN given as GTIN-12, padded


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--out", "fda.pdf"], "name a .csv or .xlsx file"),
        (["--product", "614141222224", "--out", "x.csv"], "--product"),
        (["--lot", "bad lot with spaces", "--out", "x.csv"], "--lot"),
    ],
)
def test_bad_options_are_refused_by_name(
    chain: dict[str, str], tmp_path: Path, args: list[str], said: str
) -> None:
    result = fsma(*[str(tmp_path / a) if a.endswith((".pdf", ".csv")) else a for a in args])
    assert result.exit_code != 0
    assert said in result.output
    assert [p.name for p in tmp_path.iterdir() if p.stem in ("x", "fda")] == []  # nothing written


def test_from_after_to_is_a_one_line_problem(chain: dict[str, str], tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "records",
            "fsma204",
            "--from",
            "2026-06-04",
            "--to",
            "2026-06-01",
            "--out",
            str(tmp_path / "x.csv"),
        ],
    )
    assert result.exit_code == 2  # a usage problem (tracehub.console.Problem)
    assert "to: 2026-06-01 is before from 2026-06-04" in result.output


def test_help_explains_the_command() -> None:
    result = CliRunner().invoke(main, ["records", "fsma204", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for said in ("FSMA 204", "within 24 hours", "Missing KDEs", "docs/fsma204.md"):
        assert said in text
    assert "Example: tracehub records fsma204 --from 2026-06-01" in text
