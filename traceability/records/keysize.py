"""The longest value the records can index: ``MAX_INDEXED_BYTES``.

A PostgreSQL B-tree entry holds at most 2,704 bytes (a third of a page), the key's other
columns included; the events' location, bizStep and disposition indexes and the EPC
links' key take captured URIs, which the EPCIS schema allows up to 8,192 characters. A
longer value would make the insert fail on PostgreSQL alone (SQLite indexes anything),
so capture refuses its event naming the field (``oversized``) before any insert.
"""

from __future__ import annotations

MAX_INDEXED_BYTES = 2000


def oversized(value: str | None) -> int | None:
    """The UTF-8 size of ``value`` when it is too long to index, else None."""
    # Characters first (cheap, every event): a UTF-8 character is at most 4 bytes.
    if not value or len(value) * 4 <= MAX_INDEXED_BYTES:
        return None
    size = len(value.encode("utf-8"))
    return size if size > MAX_INDEXED_BYTES else None
