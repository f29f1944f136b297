"""Logger exports read from their bytes: the sample files of docs/loggers.md, the family
told from the content, and every refusal naming what it saw and the fix."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sensors.loggers.errors import LoggerFileError
from sensors.loggers.formats import read_export

DATA = Path(__file__).parents[2] / "data" / "sensors" / "loggers"
START = datetime(2026, 11, 20, 7, tzinfo=UTC)  # every sample: 07:00-08:50 UTC, every 10 min
CELSIUS = [4.2, 4.3, 4.1, 4.4, 4.6, 5.0, 5.3, 5.1, 4.8, 4.5, 4.3, 4.2]


@pytest.mark.parametrize(
    ("name", "family", "serial", "zone"),
    [
        ("generic-celsius.csv", "generic", None, None),
        ("logtag-celsius.csv", "logtag", "1012345678", "UTC+01:00"),
        ("elitech-celsius.csv", "elitech", "EF2611A0042", "UTC+08:00"),
    ],
)
def test_each_family_gives_the_same_instants_and_values(
    name: str, family: str, serial: str | None, zone: str | None
) -> None:
    export = read_export((DATA / name).read_bytes())
    assert (export.family, export.unit, export.serial, export.time_zone) == (
        family, "C", serial, zone,
    )  # fmt: skip
    assert export.interval_s == 600
    assert [r.ts for r in export.readings] == [START + timedelta(minutes=10 * i) for i in range(12)]
    assert [r.celsius for r in export.readings] == CELSIUS
    assert export.unreadable == ()


def test_fahrenheit_is_converted_and_a_cp1252_file_is_read() -> None:
    export = read_export((DATA / "tempmate-fahrenheit.csv").read_bytes())
    assert (export.family, export.unit, export.time_zone) == ("elitech", "F", "UTC-05:00")
    assert export.readings[0].ts == START
    # 39.6 °F as exported (0.1 °F resolution) is 4.222 °C
    assert [r.celsius for r in export.readings] == pytest.approx(CELSIUS, abs=0.03)


def test_local_times_without_a_zone_are_refused_naming_the_option() -> None:
    content = (DATA / "generic-fahrenheit-local.csv").read_bytes()
    with pytest.raises(LoggerFileError, match="carry no UTC offset: give --tz"):
        read_export(content)
    export = read_export(content, tz="+01:00")
    assert export.readings[0].ts == START
    assert read_export(content, tz="Europe/Berlin").readings == export.readings


def test_a_zone_the_file_states_wins_and_a_contradicting_tz_is_refused() -> None:
    content = (DATA / "elitech-celsius.csv").read_bytes()
    assert read_export(content, tz="Asia/Shanghai").readings[0].ts == START  # same offset
    with pytest.raises(LoggerFileError, match="states time zone UTC\\+08:00 but --tz says"):
        read_export(content, tz="+01:00")


def test_without_a_unit_the_file_is_refused_and_contradictions_too() -> None:
    content = b"timestamp,temperature\n2026-11-20T07:00:00Z,4.2\n"
    with pytest.raises(LoggerFileError, match=r"°C or °F.*--unit"):
        read_export(content)
    assert read_export(content, unit="F").readings[0].celsius == pytest.approx(-15.444)
    with pytest.raises(LoggerFileError, match="contradictory"):
        read_export(b"timestamp,temperature_c\n2026-11-20T07:00:00Z,4.2\n", unit="F")


def test_an_unknown_file_is_refused_naming_what_was_seen() -> None:
    with pytest.raises(LoggerFileError, match=r"no known logger table.*begins: id,name \| 1,x"):
        read_export(b"id,name\n1,x\n")


def test_two_tables_make_the_file_ambiguous() -> None:
    logtag, elitech = (DATA / "logtag-celsius.csv"), (DATA / "elitech-celsius.csv")
    content = logtag.read_bytes() + elitech.read_bytes()
    with pytest.raises(LoggerFileError, match="ambiguous: logtag header on line 10, elitech"):
        read_export(content)


def test_format_given_skips_detection_but_needs_its_table() -> None:
    content = (DATA / "generic-celsius.csv").read_bytes()
    with pytest.raises(LoggerFileError, match="no elitech table found"):
        read_export(content, family="elitech")
    assert read_export(content, family="generic").family == "generic"


def test_slashed_dates_need_their_order() -> None:
    content = b"Serial Number: 7\nDate,Time,Temperature (C)\n03/04/2026,10:00:00Z,4.0\n"
    with pytest.raises(LoggerFileError, match="day/month or month/day: give --date-order"):
        read_export(content)
    assert read_export(content, date_order="dmy").readings[0].ts.month == 4
    assert read_export(content, date_order="mdy").readings[0].ts.month == 3


def test_a_row_that_is_no_reading_is_reported_not_dropped() -> None:
    content = b"timestamp;temperature_c\n2026-11-20T07:00:00Z;4,2\n2026-11-20T07:10:00Z;--\nEnd\n"
    export = read_export(content)
    assert [r.celsius for r in export.readings] == [4.2]  # a decimal comma in a ;-file
    assert [(u.line, u.reason[:22]) for u in export.unreadable] == [
        (3, "could not convert stri"),
        (4, "not a reading: End"),
    ]


def test_a_local_time_that_happens_twice_is_refused_for_its_row() -> None:
    content = b"timestamp,temperature_c\n2026-10-25 02:30:00,4.0\n2026-10-25 04:00:00,4.1\n"
    export = read_export(content, tz="Europe/Berlin")
    assert len(export.readings) == 1
    assert "happens twice or never" in export.unreadable[0].reason


def test_seq_counts_logging_intervals_so_another_download_repeats_it() -> None:
    first = read_export((DATA / "elitech-celsius.csv").read_bytes())
    other = read_export((DATA / "logtag-celsius.csv").read_bytes())
    seqs = [first.seq(r) for r in first.readings]
    assert seqs == [other.seq(r) for r in other.readings]
    assert seqs == list(range(seqs[0], seqs[0] + 12))  # no gap: every interval logged


@pytest.mark.parametrize("line", [2, 4])
def test_a_cell_over_the_csv_field_limit_is_refused_naming_its_line(line: int) -> None:
    rows = ["timestamp,temperature_c", "2026-11-20T07:00:00Z,4.2", "2026-11-20T07:10:00Z,4.3"]
    rows.insert(line - 1, "2026-11-20T07:20:00Z," + "9" * 200_000)
    with pytest.raises(LoggerFileError, match=f"line {line} is not readable as CSV"):
        read_export("\n".join(rows).encode())


def test_a_file_over_the_size_bound_is_refused() -> None:
    from sensors.loggers.table import MAX_BYTES

    with pytest.raises(LoggerFileError, match=f"over the {MAX_BYTES} a logger export can have"):
        read_export(
            b"timestamp,temperature_c\n" + b"2026-11-20T07:00:00Z,4.2\n" * (MAX_BYTES // 20)
        )
