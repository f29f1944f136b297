"""A lot's evidence bundle: its hash-chain stream, the events, proofs and anchors.

The ledger assembles bundles for any streams (``ledger.evidence.build_bundle``);
this module says which stream is the lot's and where its records come from (the
stored event JSON, by event id). An event the ledger holds but the records lost
appears with ``record: null`` — the verifier reports it as missing. The lot's own
records in the same stream (carbon reports, exposure summaries, submitted with
``traceability.anchoring.feeder.submit_lot_record``) come from the ledger's kept copy.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gs1.identifiers import Gtin
from ledger.evidence import build_bundle
from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from traceability.anchoring.feeder import EVENT_KIND, lot_stream
from traceability.records.store import RecordStore


def lot_subject(gtin: str, lot: str) -> dict[str, Any]:
    return {"type": "lot", "gtin": gtin, "lot": lot, "stream": lot_stream(gtin, lot)}


def lot_bundle(
    store: RecordStore,
    ledger: LedgerStore,
    gtin: Gtin | str,
    lot: str,
    signer: Signer | None = None,
    now: datetime | None = None,
    confirmations: int = 1,
) -> dict[str, Any]:
    """The evidence bundle of a lot (signed by the site when ``signer`` is given)."""
    gtin14 = gtin.value if isinstance(gtin, Gtin) else Gtin.parse(gtin).value

    def record(kind: str, record_id: str) -> Any:
        if kind != EVENT_KIND:
            return None
        event = store.get_event(record_id)
        return None if event is None else event.document()

    return build_bundle(
        ledger,
        lot_subject(gtin14, lot),
        [lot_stream(gtin14, lot)],
        record,
        signer,
        now or datetime.now(UTC),
        confirmations,
    )
