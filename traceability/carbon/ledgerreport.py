"""A lot's carbon report in the ledger: keep it as a leaf, read it back with its anchor.

``publish_report`` hands a report (``assessment.compute_report``) to the ledger with
``traceability.anchoring.feeder.submit_lot_record`` (kind ``carbon-report``, record
id = the report's own id): the ledger keeps the report and chains it into the lot's
stream next to its events, and the hub's anchoring loop puts it in the next batch. A
report whose figures equal the lot's latest kept report (only ``id`` and ``created``
differ) is not submitted again, so re-running the command, or the demo, adds no leaf
until something changed.

``latest_report`` reads the lot's stream back: the newest kept report, its digest,
and whether its batch is confirmed on chain (``anchored``, with batch and block) or
not yet (``pending``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from gs1.identifiers import Gtin
from ledger.batch import BatchRecord, BatchStatus, StoredEntry
from ledger.signing import Signer
from traceability.anchoring.feeder import (
    CARBON_REPORT_KIND,
    EvidenceLedger,
    lot_stream,
    submit_lot_record,
)
from traceability.carbon.report import report_digest

# What may differ between two reports with the same figures.
_VOLATILE = ("id", "created")


class ReportLedger(EvidenceLedger, Protocol):
    """What reading reports back needs from ``ledger.store.sqlstore.LedgerStore`` too."""

    def stream(self, stream: str) -> list[StoredEntry]: ...

    def kept_record(self, kind: str, record_id: str) -> Any | None: ...


class KeptReport(BaseModel):
    """A carbon report the ledger keeps for a lot, and how far its anchoring got."""

    model_config = ConfigDict(frozen=True)

    report: dict[str, Any]
    record_id: str
    digest: str  # sha256:<hex> of the report's RFC 8785 bytes
    leaf_hash: bytes
    seq: int | None  # its position in the lot's hash chain
    status: Literal["anchored", "pending"]
    batch_id: int | None = None  # the ledger batch, once cut
    block_number: int | None = None  # set when anchored
    tx_hash: str | None = None


class Published(BaseModel):
    model_config = ConfigDict(frozen=True)

    kept: KeptReport
    submitted: bool  # False: the latest kept report has the same figures


def publish_report(
    ledger: ReportLedger,
    signer: Signer,
    gtin: str,
    lot: str,
    report: dict[str, Any],
    now: datetime | None = None,
) -> Published:
    """Keep ``report`` as a leaf of the lot's chain, unless the latest has its figures."""
    gtin = Gtin.parse(gtin).value
    latest = latest_report(ledger, gtin, lot)
    if latest is not None and _figures(latest.report) == _figures(report):
        return Published(kept=latest, submitted=False)
    stored = submit_lot_record(
        ledger, signer, CARBON_REPORT_KIND, gtin, lot, report, record_id=str(report["id"]), now=now
    )
    return Published(kept=_kept(ledger, gtin, lot, stored, report), submitted=True)


def latest_report(ledger: ReportLedger, gtin: str, lot: str) -> KeptReport | None:
    """The newest carbon report in the lot's chain, or None when it has none."""
    gtin = Gtin.parse(gtin).value
    chain = ledger.stream(lot_stream(gtin, lot))
    reports = [stored for stored in chain if stored.entry.kind == CARBON_REPORT_KIND]
    for stored in reversed(reports):
        report = ledger.kept_record(CARBON_REPORT_KIND, stored.entry.record_id)
        if isinstance(report, dict):
            return _kept(ledger, gtin, lot, stored, report)
    return None


def _kept(
    ledger: ReportLedger, gtin: str, lot: str, stored: StoredEntry, report: dict[str, Any]
) -> KeptReport:
    link = stored.entry.link(lot_stream(gtin, lot))
    batch: BatchRecord | None = None if stored.batch_id is None else ledger.batch(stored.batch_id)
    anchored = batch is not None and batch.status is BatchStatus.CONFIRMED
    return KeptReport(
        report=report,
        record_id=stored.entry.record_id,
        digest=report_digest(report),
        leaf_hash=stored.leaf_hash,
        seq=None if link is None else link.seq,
        status="anchored" if anchored else "pending",
        batch_id=stored.batch_id,
        block_number=batch.block_number if anchored and batch is not None else None,
        tx_hash=batch.tx_hash if anchored and batch is not None else None,
    )


def _figures(report: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in report.items() if key not in _VOLATILE}


__all__ = [
    "KeptReport",
    "Published",
    "ReportLedger",
    "latest_report",
    "publish_report",
]
