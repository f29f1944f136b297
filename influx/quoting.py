"""InfluxQL quoting: string literals (tag values in WHERE), identifiers (names) and time
literals (epoch nanoseconds, as ``time >= …`` and line protocol take them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def string_literal(value: str) -> str:
    """``value`` as a single-quoted InfluxQL string literal.

    InfluxQL strings accept the escapes ``\\\\``, ``\\'`` and ``\\n``; anything else
    is literal, so escaping those three keeps any tag value from ending the literal.
    """
    escaped = value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")
    return f"'{escaped}'"


def identifier(name: str) -> str:
    """``name`` (a database, measurement, tag or field) as a double-quoted identifier."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def epoch_ns(moment: datetime) -> int:
    """``moment`` (aware) as integer nanoseconds since the epoch, exact to the microsecond
    (integer arithmetic: no float rounding of far dates)."""
    return ((moment - _EPOCH) // _MICROSECOND) * 1000
