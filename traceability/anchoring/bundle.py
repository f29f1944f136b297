"""A lot's evidence bundle: its hash-chain stream, the events, proofs and anchors.

The ledger assembles bundles for any streams (``ledger.evidence.build_bundle``);
this module says which stream is the lot's and where its records come from (the
stored event JSON, by event id). An event the ledger holds but the records lost
appears with ``record: null`` — the verifier reports it as missing. The lot's own
records in the same stream (carbon reports, exposure summaries, submitted with
``traceability.anchoring.feeder.submit_lot_record``) come from the ledger's kept copy.
The gateway's sealed telemetry windows come in through the streams of the locations
the lot stayed at (``telemetrycheck.location_stream``; the ledger's kept copy too),
so ``tracehub verify`` can hold InfluxDB against them.
The versions of the master data the lot depends on (its product, its lot record, the
locations of its journey: ``mastercheck.master_streams``) come in whole, so an auditor
holding only the bundle reads every version of them.
With ``claims`` (``traceability.anchoring.claims.PageClaims``), the bundle carries what
the lot page states (its ``claims`` section, signed with the rest): ``tracehub verify``
recomputes each number from the proven inputs (``claimcheck``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gs1.identifiers import Gtin
from ledger.evidence import ClaimSource, build_bundle
from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from traceability.anchoring.feeder import EVENT_KIND, lot_stream
from traceability.anchoring.mastercheck import master_streams
from traceability.anchoring.seals import spans_of, streams_for
from traceability.custody import CustodyService
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
    claims: ClaimSource | None = None,
) -> dict[str, Any]:
    """The evidence bundle of a lot (signed by the site when ``signer`` is given; with
    the page's claims when ``claims`` is given)."""
    gtin14 = gtin.value if isinstance(gtin, Gtin) else Gtin.parse(gtin).value

    def record(kind: str, record_id: str) -> Any:
        if kind != EVENT_KIND:
            return None
        event = store.get_event(record_id)
        return None if event is None else event.document()

    # Whole streams (the chain checks need every entry); only those that hold seals.
    spans = spans_of(CustodyService(store).lot_timeline(gtin14, lot).locations())
    places = [name for name in streams_for(spans) if ledger.stream(name)]
    return build_bundle(
        ledger,
        lot_subject(gtin14, lot),
        [lot_stream(gtin14, lot), *places, *master_streams(store, gtin14, lot)],
        record,
        signer,
        now or datetime.now(UTC),
        confirmations,
        claims,
    )
