"""Releasing a temperature report: keep the PDF, sign its hash into the lot's stream,
record who released it and what the signature means.

Order: the file is kept first (``released_reports``), then its ``temperature-report``
record is signed into the ledger with the lot's stream (so the lot's evidence bundle
carries it and the anchoring worker anchors it), then the audit trail records the
release with the user's e-signature. A failure after the file is kept leaves a report
the console and the auditor API show as "not signed"; releasing again signs a new one.

Record (format ``tracehub.temperature-report/1``): ``gtin``, ``lot``, ``sha256`` and
``bytes`` of the PDF, ``released_by`` (the e-signature: name, display name, role,
signed at, meaning). Anyone holding the PDF recomputes its SHA-256 and finds the
anchored record in the lot's bundle (``tracehub verify … --report FILE``).
"""

from __future__ import annotations

import hashlib
from typing import Any, Protocol

from ledger.batch import StoredEntry
from traceability.audit.entry import AuditActor, AuditSubject, ESignature
from traceability.audit.trail import AuditTrail
from traceability.records.releasedreports import ReleasedReport
from traceability.records.store import RecordStore

KIND = "temperature-report"
FORMAT = "tracehub.temperature-report/1"
ACTION = "report.release"


class LotRecords(Protocol):
    """Signs a lot's own record into its stream (``traceability.anchoring.feeder``'s
    ``submit_lot_record`` over the site's ledger and signer)."""

    def __call__(self, kind: str, gtin: str, lot: str, record: dict[str, Any]) -> StoredEntry: ...


def report_record(gtin: str, lot: str, pdf: bytes, signature: ESignature) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "gtin": gtin,
        "lot": lot,
        "sha256": hashlib.sha256(pdf).hexdigest(),
        "bytes": len(pdf),
        "released_by": signature.to_json(),
    }


class ReportReleases:
    def __init__(self, store: RecordStore, sign: LotRecords, audit: AuditTrail | None) -> None:
        self._store = store
        self._sign = sign
        self._audit = audit

    def release(self, gtin: str, lot: str, pdf: bytes, signature: ESignature) -> ReleasedReport:
        kept = self._store.keep_report(
            gtin,
            lot,
            pdf,
            released_at=signature.signed_at,
            released_by=signature.name,
            role=signature.role,
            meaning=signature.meaning,
        )
        if kept.entry is not None:
            return kept  # this very file was released before
        entry = self._sign(KIND, kept.gtin, lot, report_record(kept.gtin, lot, pdf, signature))
        self._store.note_report_entry(kept.id, entry.entry.record_id)
        if self._audit is not None:
            self._audit.record(
                AuditActor(name=signature.name, kind="user", role=signature.role),
                ACTION,
                AuditSubject(kind="lot", key=f"{kept.gtin}/{lot}"),
                None,
                {"report": kept.id, "sha256": kept.sha256},
                signature.meaning,
                signature=signature,
                lots=(f"{kept.gtin}/{lot}",),
            )
        return kept.model_copy(update={"entry": entry.entry.record_id})


def meaning_of(gtin: str, lot: str) -> str:
    """What releasing a lot's report means (recorded with the signature, in English)."""
    return f"approved the temperature report of lot {lot} (GTIN {gtin})"
