"""Releasing a temperature report: keep the PDF, sign its hash into the lot's stream,
record who released it and what the signature means.

Order: the file is kept first (``released_reports``), then its ``temperature-report``
record is signed into the ledger with the lot's stream (so the lot's evidence bundle
carries it and the anchoring worker anchors it), then the audit trail records the
release with the user's e-signature. A failure after the file is kept leaves a report
the console and the auditor API show as "not signed"; releasing again signs a new one.

Record (format ``tracehub.temperature-report/1``): ``gtin``, ``lot``, ``sha256`` and
``bytes`` of the PDF, ``released_by`` (the e-signature: name, display name, role,
signed at, meaning), ``states`` (what the report states: verdict, MKT, min, max,
minutes out, excursions, as of when; ``web.report.rendering.stated``). Anyone holding
the PDF recomputes its SHA-256 and finds the anchored record in the lot's bundle
(``tracehub verify … --report FILE``), which holds those numbers against the lot's.
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


class KeptRecords(Protocol):
    """Reads a record the ledger keeps (``LedgerStore.kept_record``)."""

    def kept_record(self, kind: str, record_id: str) -> Any | None: ...


def report_record(
    gtin: str, lot: str, pdf: bytes, signature: ESignature, states: dict[str, Any]
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "gtin": gtin,
        "lot": lot,
        "sha256": hashlib.sha256(pdf).hexdigest(),
        "bytes": len(pdf),
        "released_by": signature.to_json(),
        "states": states,
    }


class ReportReleases:
    def __init__(
        self,
        store: RecordStore,
        sign: LotRecords,
        audit: AuditTrail | None,
        ledger: KeptRecords | None = None,
    ) -> None:
        """``ledger``: where ``problem`` reads the signed records back (None: not asked)."""
        self._store = store
        self._sign = sign
        self._audit = audit
        self._ledger = ledger

    def problem(self, kept: ReleasedReport) -> str | None:
        """Why the kept report is not the one the ledger's record signed (None: it is),
        so a row edited with its file is not shown as signed."""
        if kept.entry is None:
            return "not signed into the ledger: release again"
        if self._ledger is None:
            return None
        record = self._ledger.kept_record(KIND, kept.entry)
        if not isinstance(record, dict):
            return f"the ledger holds no record {kept.entry}: release again"
        if (record.get("sha256"), record.get("gtin"), record.get("lot")) != (
            kept.sha256,
            kept.gtin,
            kept.lot,
        ):
            return (
                "the kept report is not the one its ledger record signed (edited outside tracehub)"
            )
        return None

    def release(
        self,
        gtin: str,
        lot: str,
        pdf: bytes,
        signature: ESignature,
        states: dict[str, Any] | None = None,
    ) -> ReleasedReport:
        """Keep ``pdf``, sign its record (with the numbers it ``states``), audit the
        release."""
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
        record = report_record(kept.gtin, lot, pdf, signature, states or {})
        entry = self._sign(KIND, kept.gtin, lot, record)
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
