"""Verify a lot: build its evidence bundle from the records and the ledger, check it.

Pure over data once the bundle is built (``ledger.verify.verifier``): every stored event
of the lot is re-hashed and compared with its signed ledger entry, the signature,
the lot's hash chain (a deleted or reordered event breaks it), the Merkle inclusion
proof and the batch anchor are checked, and with a ``ChainView`` the root is looked
up on chain. Events of the lot the ledger has not received yet are "not yet
anchored"; an event the ledger holds that the records lost is "missing".
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from gs1.identifiers import Gtin
from ledger.store.sqlstore import LedgerStore
from ledger.verify.verifier import ChainView, Check, Outcome, Report, verify_bundle
from traceability.anchoring.bundle import lot_bundle
from traceability.records.store import RecordStore

__all__ = ["Check", "Outcome", "Report", "report_json", "verify_lot"]


def verify_lot(
    store: RecordStore,
    ledger: LedgerStore,
    gtin: Gtin | str,
    lot: str,
    chain: ChainView | None = None,
    trusted_keys: Iterable[str] | None = None,
    contract: str | None = None,
) -> Report:
    gtin14 = gtin.value if isinstance(gtin, Gtin) else Gtin.parse(gtin).value
    bundle = lot_bundle(store, ledger, gtin14, lot)
    report = verify_bundle(bundle, chain, trusted_keys, contract)
    in_ledger = {item["entry"]["record_id"] for item in bundle["items"]}
    extra: list[Check] = []
    events = store.events_for_lot(gtin14, lot)
    if not events and not in_ledger:
        extra.append(
            Check(
                name="events",
                outcome=Outcome.FAIL,
                subject=f"lot {lot}",
                detail=f"no events recorded for lot {lot} of {gtin14}; nothing to verify",
            )
        )
    for event in events:
        if event.id not in in_ledger:
            extra.append(
                Check(
                    name="anchored",
                    outcome=Outcome.PENDING,
                    subject=f"epcis-event {event.id}",
                    detail="not yet anchored: not yet handed to the ledger",
                    record_id=event.id,
                )
            )
    if not extra:
        return report
    return report.model_copy(update={"checks": (*extra, *report.checks)})


def report_json(report: Report, extra: dict[str, object] | None = None) -> str:
    """The report as indented JSON, for ``tracehub verify --json``."""
    return json.dumps(
        {
            **(extra or {}),
            "subject": report.subject,
            "ok": report.verdict == 0,
            "verdict": report.verdict.name,
            "online": report.online,
            "checks": [
                {**c.model_dump(), "ok": c.ok, "outcome": c.outcome.value} for c in report.checks
            ],
        },
        indent=2,
    )
