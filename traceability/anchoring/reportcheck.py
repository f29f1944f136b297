"""Is this PDF a temperature report released for the lot? (``tracehub verify --report``)

A released report's SHA-256 is in the lot's ``temperature-report`` record, signed into
its stream when a quality user released it (``traceability.reports.release``). A file
is checked by its hash alone: found, the check names who released it, when and what
the signature means, with the record's id, so the record's own checks (its digest, its
signature, its batch and anchor) decide whether that is proven; not found, the file is
not a report this lot released (edited, or another lot's): FAIL.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from ledger.verify.report import Check, Outcome
from traceability.reports.release import KIND

NAME = "report file"


def released_records(bundle: Mapping[str, Any]) -> dict[str, tuple[str, Mapping[str, Any]]]:
    """sha256 -> (record id, record) of every released report the bundle carries."""
    found: dict[str, tuple[str, Mapping[str, Any]]] = {}
    for item in bundle.get("items") or []:
        entry, record = item.get("entry") or {}, item.get("record")
        if entry.get("kind") == KIND and isinstance(record, Mapping):
            digest = record.get("sha256")
            if isinstance(digest, str):
                found[digest] = (str(entry.get("record_id")), record)
    return found


def report_file_checks(
    bundle: Mapping[str, Any], files: Sequence[tuple[str, bytes]]
) -> list[Check]:
    """One check per ``(name, content)`` file."""
    released = released_records(bundle)
    checks = []
    for name, content in files:
        digest = hashlib.sha256(content).hexdigest()
        hit = released.get(digest)
        if hit is None:
            checks.append(
                Check(
                    name=NAME,
                    outcome=Outcome.FAIL,
                    subject=name,
                    detail=f"SHA-256 {digest} is not a temperature report released for "
                    "this lot: the file was changed, or it is another lot's",
                )
            )
            continue
        record_id, record = hit
        by = record.get("released_by") or {}
        checks.append(
            Check(
                name=NAME,
                outcome=Outcome.OK,
                subject=name,
                detail=f"SHA-256 {digest}: released by {by.get('display_name')} "
                f"({by.get('name')}, {by.get('role')}) at {by.get('signed_at')}: "
                f'"{by.get("meaning")}" (record {record_id}, checked above)',
                record_id=record_id,
            )
        )
    return checks
