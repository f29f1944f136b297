"""The trail as CSV, for auditors (pure): one row per entry, oldest first.

Columns: ``seq``, ``at`` (RFC 3339 UTC), ``actor``, ``actor_kind``, ``actor_role``,
``action``, ``subject_kind``, ``subject``, ``lots`` (``;``-joined), ``before`` and
``after`` (canonical JSON, empty when absent), ``reason``, the electronic signature
(``signed_by``, ``signer_name``, ``signer_role``, ``signed_at``, ``meaning``; empty when
none), ``prev`` and ``digest`` (the hash chain: an auditor can recompute it from the
record) and ``ledger`` (anchored, signed or unsigned).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from ledger.canonical import canonicalize
from ledger.signing import format_instant
from traceability.audit.entry import AuditEntry

COLUMNS = (
    "seq", "at", "actor", "actor_kind", "actor_role", "action", "subject_kind", "subject",
    "lots", "before", "after", "reason", "signed_by", "signer_name", "signer_role",
    "signed_at", "meaning", "prev", "digest", "ledger",
)  # fmt: skip


def csv_row(entry: AuditEntry, ledger: str) -> dict[str, Any]:
    signature = entry.signature
    return {
        "seq": entry.seq,
        "at": format_instant(entry.at),
        "actor": entry.actor.name,
        "actor_kind": entry.actor.kind,
        "actor_role": entry.actor.role or "",
        "action": entry.action,
        "subject_kind": entry.subject.kind,
        "subject": entry.subject.key,
        "lots": ";".join(entry.lots),
        "before": _json(entry.before),
        "after": _json(entry.after),
        "reason": entry.reason or "",
        "signed_by": signature.name if signature else "",
        "signer_name": signature.display_name if signature else "",
        "signer_role": signature.role if signature else "",
        "signed_at": format_instant(signature.signed_at) if signature else "",
        "meaning": signature.meaning if signature else "",
        "prev": entry.prev or "",
        "digest": entry.digest(),
        "ledger": ledger,
    }


def write_csv(out: TextIO, entries: Sequence[AuditEntry], states: Mapping[int, str]) -> int:
    """Write the header and one row per entry; how many rows."""
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for entry in entries:
        writer.writerow(csv_row(entry, states.get(entry.seq, "unsigned")))
    return len(entries)


def _json(value: Any) -> str:
    return "" if value is None else canonicalize(value).decode("utf-8")
