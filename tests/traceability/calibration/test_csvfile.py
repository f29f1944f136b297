"""The calibration CSV: a header row, columns in any order, optional ones blank; any
bad row rejects the file, naming its row and field."""

from __future__ import annotations

from datetime import date

import pytest

from traceability.calibration.csvfile import parse_calibrations
from traceability.calibration.errors import CalibrationRejected

HEADER = "probe,calibrated_on,due_on,lab,certificate_number,uncertainty_c"
GOOD = "p7,2026-01-15,2027-01-15,Lab Nord,KN-1,0.15"


def test_rows_are_read_with_defaults_and_in_any_column_order() -> None:
    text = (
        "\ufeffuncertainty_c,probe,due_on,calibrated_on,lab,certificate_number,coverage_k,"
        "accuracy_found_c,certificate_sha256\n"
        f"0.2,p8,2027-02-01,2026-02-01,Lab Süd,S-9,2.5,-0.1,{'AB' * 32}\n"
        "0.1,p9,2027-02-01,2026-02-01,Lab Süd,S-10,,,\n"
    )
    first, second = parse_calibrations(text)
    assert (first.probe, first.calibrated_on, first.coverage_k) == ("p8", date(2026, 2, 1), 2.5)
    assert (first.accuracy_found_c, first.certificate_sha256) == (-0.1, "ab" * 32)
    assert (second.coverage_k, second.accuracy_found_c, second.certificate_sha256) == (
        2.0,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "header: the file is empty"),
        (HEADER + ",colour\n" + GOOD + ",red\n", "header: unknown column 'colour'"),
        ("probe,calibrated_on,due_on,lab,certificate_number\n", "column 'uncertainty_c'"),
        (HEADER + "\n", "row 1: the file has a header and no rows"),
        (HEADER + f"\n{GOOD}\np8,2026-01-15,2027-01-15,Lab,KN-2,\n", "row 2: uncertainty_c: fill"),
        (HEADER + f"\n{GOOD}\np8,15.01.2026,2027-01-15,Lab,KN-2,0.1\n", "row 2: calibrated_on:"),
        (HEADER + "\np8,2026-01-15,2025-01-15,Lab,KN-2,0.1\n", "row 1: due_on: must be after"),
        (HEADER + "\np8,2026-01-15,2027-01-15,Lab,KN-2,-1\n", "row 1: uncertainty_c:"),
        (HEADER + "\np8,2026-01-15,2027-01-15,Lab,KN-2,0.1,extra\n", "row 1: more values"),
        # "a#b" + "c" and "a" + "b#c" would share a record id: "#" is no device id's.
        (HEADER + "\na#b,2026-01-15,2027-01-15,Lab,c,0.1\n", "row 1: probe: give the probe's"),
        (HEADER + "\nwh1/temperature/p 8,2026-01-15,2027-01-15,Lab,c,0.1\n", "row 1: probe:"),
        (HEADER + "\np8,2020-01-15,2030-01-15,Lab,KN-2,0.1\n", "row 1: due_on: at most five"),
        # A field over csv.field_size_limit: refused naming the line, no _csv.Error.
        (
            HEADER + f"\n{GOOD}\np8,2026-01-15,2027-01-15,{'L' * 200_000},KN-2,0.1\n",
            "line 3: not readable as CSV",
        ),
        ("x" * (10 * 1024 * 1024 + 1), "file: 10485761 characters"),
    ],
)
def test_a_bad_file_is_rejected_naming_row_and_field(text: str, message: str) -> None:
    with pytest.raises(CalibrationRejected, match=message):
        parse_calibrations(text)
