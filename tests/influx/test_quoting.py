"""InfluxQL quoting (pure; tests/influx/test_client.py runs both against influxd)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from influx.quoting import epoch_ns, identifier, string_literal


def test_string_literal_escapes_quote_backslash_and_newline() -> None:
    assert string_literal("a'b\\c") == "'a\\'b\\\\c'"
    assert string_literal("two\nlines") == "'two\\nlines'"
    assert string_literal('say "hi"') == "'say \"hi\"'"


def test_identifier_escapes_double_quote_and_backslash() -> None:
    assert identifier("cold room") == '"cold room"'
    assert identifier('a"b\\c') == '"a\\"b\\\\c"'


def test_time_literals_are_exact_epoch_nanoseconds() -> None:
    moment = datetime(2026, 12, 2, 3, 21, 7, 123456, tzinfo=UTC)
    assert epoch_ns(moment) == 1_796_181_667_123_456_000
    # the same instant in another zone, and a far date float seconds would round
    assert epoch_ns(moment.astimezone(timezone(timedelta(hours=8)))) == epoch_ns(moment)
    far = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    assert epoch_ns(far) % 1_000_000_000 == 999_999_000
