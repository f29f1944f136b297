"""Anchoring: hand captured events to the ledger, and show its anchors on the records.

``EventFeeder`` is what the hub runs. Every captured event becomes a ledger entry
of kind ``epcis-event`` (record = the stored event JSON, record id = the event id),
linked into one hash-chain stream per lot it names (``lot_stream``), and signed by
the site. The ledger batches and anchors entries (``ledger.worker``); once an
entry's batch is confirmed, the feeder mirrors the batch onto the records (batch
id, leaf index and leaf hash per event) so the lot page can show it. Both steps
are idempotent and driven by the records' still-unmirrored events, so a crash
anywhere loses nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from gs1.epcis.event import parse_event
from gs1.errors import Gs1Error
from gs1.identifiers import Gtin, Sgtin
from ledger.anchor import AnchorReceipt
from ledger.batch import BatchRecord, BatchStatus, StoredEntry, Submission
from ledger.entry import record_digest
from ledger.errors import EntryError, KeyOutOfPeriod
from ledger.signing import Signer
from traceability.capture import _class_link
from traceability.errors import TraceabilityError
from traceability.records.store import RecordStore, StoredEvent

log = logging.getLogger(__name__)
EVENT_KIND = "epcis-event"

# Recorded when a batch was recovered from the contract, which does not keep tx hashes.
UNKNOWN_TX_HASH = "0x" + "0" * 64


def lot_stream(gtin: str, lot: str) -> str:
    """The ledger hash-chain stream of one lot."""
    return f"lot:{gtin}/{lot}"


class EvidenceLedger(Protocol):
    """What traceability needs from the ledger store (``ledger.store.sqlstore.LedgerStore``)."""

    def submit(
        self,
        kind: str,
        record_id: str,
        record: Any,
        streams: Sequence[str],
        signer: Signer,
        now: datetime | None = None,
        keep_record: bool = False,
    ) -> StoredEntry: ...

    def submit_many(
        self, items: Sequence[Submission], signer: Signer, now: datetime | None = None
    ) -> list[StoredEntry]: ...

    def entries(self, kind: str, record_ids: Sequence[str]) -> dict[str, StoredEntry]: ...

    def batch(self, batch_id: int) -> BatchRecord | None: ...


CARBON_REPORT_KIND = "carbon-report"
LOT_EXPOSURE_KIND = "lot-exposure"


def submit_lot_record(
    ledger: EvidenceLedger,
    signer: Signer,
    kind: str,
    gtin: Gtin | str,
    lot: str,
    record: Mapping[str, Any],
    record_id: str | None = None,
    now: datetime | None = None,
) -> StoredEntry:
    """Make a lot's own record a leaf in the lot's hash chain, next to its events.

    For carbon-footprint reports (``CARBON_REPORT_KIND``, the PACT/iLEAP report
    document) and lot exposure summaries (``LOT_EXPOSURE_KIND``), which live
    nowhere else: the ledger keeps the record, so the lot's evidence bundle
    carries it and ``tracehub verify`` re-hashes it like an event. ``record_id``
    defaults to ``sha256:<canonical digest>``: the same record again is the same
    leaf, a revised one (new figures, a later ``until``) a new one.
    """
    gtin14 = gtin.value if isinstance(gtin, Gtin) else Gtin.parse(gtin).value
    document = dict(record)
    rid = record_id or "sha256:" + record_digest(document).hex()
    return ledger.submit(
        kind,
        rid,
        document,
        [lot_stream(gtin14, lot)],
        signer,
        now or datetime.now(UTC),
        keep_record=True,
    )


class FeedResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    submitted: int
    mirrored: int
    batches: tuple[int, ...]  # records batch ids that received events


class EventFeeder:
    """Submits captured events to the ledger and mirrors confirmed batches back."""

    def __init__(
        self,
        store: RecordStore,
        ledger: EvidenceLedger,
        signer: Signer,
        limit: int = 1000,
        renew_signer: Callable[[], Signer] | None = None,
    ) -> None:
        """``renew_signer`` loads the site's current key when the ledger refuses the
        one held (``KeyOutOfPeriod``: rotated by ``tracehub ledger rotate-key``)."""
        self._store = store
        self._ledger = ledger
        self._signer = signer
        self._limit = limit
        self._renew = renew_signer

    def sync(self) -> FeedResult:
        """Submit not-yet-submitted events; mirror those whose batch is confirmed."""
        pending = self._store.pending_events(self._limit)
        if not pending:
            return FeedResult(submitted=0, mirrored=0, batches=())
        known = self._ledger.entries(EVENT_KIND, [e.id for e in pending])
        fresh = [event for event in pending if event.id not in known]
        for event, stored in zip(fresh, self._submit(fresh), strict=True):
            known[event.id] = stored
        submitted = len(fresh)
        by_batch: dict[int, list[tuple[str, int, bytes]]] = {}
        for event in pending:
            stored = known[event.id]
            if stored.batch_id is not None and stored.leaf_index is not None:
                by_batch.setdefault(stored.batch_id, []).append(
                    (event.id, stored.leaf_index, stored.leaf_hash)
                )
        mirrored, batch_ids = 0, []
        for batch_id, leaves in sorted(by_batch.items()):
            batch = self._ledger.batch(batch_id)
            if batch is None or batch.status is not BatchStatus.CONFIRMED:
                continue
            record = self._store.mark_anchored(receipt_of(batch), leaves)
            mirrored += len(leaves)
            batch_ids.append(record.id)
        return FeedResult(submitted=submitted, mirrored=mirrored, batches=tuple(batch_ids))

    def _submit(self, events: Sequence[StoredEvent]) -> list[StoredEntry]:
        """All of ``events`` in one ledger transaction (one by one if one is refused)."""
        if not events:
            return []
        items = [
            Submission(
                kind=EVENT_KIND,
                record_id=event.id,
                record=event.document(),
                streams=tuple(lot_stream(g, lot) for g, lot in self.lots_of(event)),
            )
            for event in events
        ]
        try:
            return self._submit_many(items)
        except KeyOutOfPeriod:
            raise
        except EntryError:
            pass
        # One refused record must not hold back the others: they go in one by one,
        # then the first refusal is raised (the round is retried; nothing is lost).
        refused: EntryError | None = None
        stored: list[StoredEntry] = []
        for item in items:
            try:
                stored += self._submit_many([item])
            except KeyOutOfPeriod:
                raise
            except EntryError as exc:
                refused = refused or exc
        if refused is not None:
            raise refused
        return stored  # the refusal was a race that has passed

    def _submit_many(self, items: list[Submission]) -> list[StoredEntry]:
        try:
            return self._ledger.submit_many(items, self._signer, datetime.now(UTC))
        except KeyOutOfPeriod:
            if self._renew is None:
                raise
            self._signer = self._renew()
            log.info("site signing key renewed: now %s", self._signer.key_id)
            return self._ledger.submit_many(items, self._signer, datetime.now(UTC))

    def lots_of(self, event: StoredEvent) -> list[tuple[str, str]]:
        """The (GTIN, lot) pairs an event names: its units' lots and lot classes."""
        try:
            parsed = parse_event(event.document())
        except (TraceabilityError, Gs1Error, ValueError) as exc:
            log.warning("event %s cannot be re-read for its lots: %s", event.id, exc)
            return []
        lots: dict[tuple[str, str], None] = {}
        for epc in (
            *parsed.epc_list,
            *parsed.child_epcs,
            *parsed.input_epc_list,
            *parsed.output_epc_list,
        ):
            if epc.startswith("urn:epc:id:sgtin:"):
                sgtin = Sgtin.parse(epc)
                lot = self._store.lot_of_unit(sgtin.gtin, sgtin.serial.value)
                if lot is not None:
                    lots[(sgtin.gtin.value, lot)] = None
        for element in (
            *parsed.quantity_list,
            *parsed.child_quantity_list,
            *parsed.input_quantity_list,
            *parsed.output_quantity_list,
        ):
            link = _class_link(element.epc_class, "class")
            if link.gtin and link.lot:
                lots[(link.gtin, link.lot)] = None
        return list(lots)


def receipt_of(batch: BatchRecord) -> AnchorReceipt:
    """A ledger batch on chain, as the records' ``AnchorReceipt``."""
    if batch.chain_id is None or batch.contract is None or batch.block_number is None:
        raise ValueError(f"batch {batch.id} is not on chain yet")
    return AnchorReceipt(
        root=batch.root,
        size=batch.size,
        metadata=batch.metadata,
        chain_id=batch.chain_id,
        contract=batch.contract,
        tx_hash=batch.tx_hash or UNKNOWN_TX_HASH,
        block_number=batch.block_number,
    )
