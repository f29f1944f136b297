"""InfluxQL quoting: string literals (tag values in WHERE) and identifiers (names)."""

from __future__ import annotations


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
