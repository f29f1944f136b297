"""InfluxQL quoting (pure; tests/influx/test_client.py runs both against influxd)."""

from __future__ import annotations

from influx.quoting import identifier, string_literal


def test_string_literal_escapes_quote_backslash_and_newline() -> None:
    assert string_literal("a'b\\c") == "'a\\'b\\\\c'"
    assert string_literal("two\nlines") == "'two\\nlines'"
    assert string_literal('say "hi"') == "'say \"hi\"'"


def test_identifier_escapes_double_quote_and_backslash() -> None:
    assert identifier("cold room") == '"cold room"'
    assert identifier('a"b\\c') == '"a\\"b\\\\c"'
