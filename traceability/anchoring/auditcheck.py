"""Audit checks of a lot: the audit entries its bundle carries (the lot's stream: master
data of the lot, dispositions, …) are well-formed ``tracehub-audit/1`` records, and the
records' trail still holds each as signed.

One check per entry (subject ``audit entry N``): OK (anchored) or PENDING (signed, not
yet anchored), telling "master.lot.update by cli:alice at … — reason …, signed by Li Wei
(quality): approved release of lot L1"; FAIL when the signed record is no audit entry,
or the records' row of it was edited (naming the fields) or deleted. The signature and
the record's digest are the verifier's checks (``ledger.verify``), as for every item.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ledger.signing import format_instant
from ledger.verify.report import Check, Outcome
from traceability.audit.entry import KIND, AuditEntry, differing, from_row
from traceability.epclinks import lot_stream
from traceability.records.store import RecordStore

CHECK = "audit"


def audit_checks(store: RecordStore, bundle: Mapping[str, Any]) -> list[Check]:
    subject = bundle.get("subject")
    if not isinstance(subject, dict) or subject.get("type") != "lot":
        return []
    own = lot_stream(str(subject.get("gtin")), str(subject.get("lot")))
    checks: list[Check] = []
    for item in bundle.get("items") or []:
        entry = item.get("entry") if isinstance(item, dict) else None
        if not isinstance(entry, dict) or entry.get("kind") != KIND:
            continue
        if not any(link.get("stream") == own for link in entry.get("links") or []):
            continue
        checks.append(_check(store, str(entry.get("record_id")), item))
    return checks


def _check(store: RecordStore, record_id: str, item: Mapping[str, Any]) -> Check:
    def done(outcome: Outcome, subject: str, detail: str) -> Check:
        return Check(
            name=CHECK, outcome=outcome, subject=subject, detail=detail, record_id=record_id
        )

    try:
        signed = AuditEntry.from_record(item.get("record"))
    except ValueError as exc:
        return done(Outcome.FAIL, record_id, f"not an audit entry: {exc}")
    who = f"audit entry {signed.seq}"
    row = store.audit_row(signed.seq)
    if row is None:
        return done(Outcome.FAIL, who, "signed, but deleted from the records' audit trail")
    try:
        held = from_row(row).record()
    except ValueError as exc:
        return done(Outcome.FAIL, who, f"the records' row was edited: {exc}")
    if fields := differing(held, signed.record()):
        verb = "differs" if len(fields) == 1 else "differ"
        detail = f"the records' row was edited: {', '.join(fields)} {verb} from the signed entry"
        return done(Outcome.FAIL, who, detail)
    anchored = item.get("batch") is not None
    proof = "anchored" if anchored else "not yet anchored"
    return done(Outcome.OK if anchored else Outcome.PENDING, who, f"{story(signed)} — {proof}")


def story(entry: AuditEntry) -> str:
    """ "master.lot.update of lot 0401…/L1 by cli:alice at …: reason …"."""
    parts = [
        f"{entry.action} of {entry.subject.kind} {entry.subject.key} by {entry.actor.label} "
        f"at {format_instant(entry.at)}"
    ]
    if entry.reason:
        parts.append(f"reason: {entry.reason}")
    if (signature := entry.signature) is not None:
        parts.append(
            f"signed by {signature.display_name} ({signature.role}) at "
            f"{format_instant(signature.signed_at)}: {signature.meaning}"
        )
    return "; ".join(parts)
