"""Anchoring: hand captured events to the ledger, and show its anchors on the records.

``EventFeeder`` is what the hub runs. Every captured event becomes a ledger entry
of kind ``epcis-event`` (record = the stored event JSON, record id = the event id),
linked into one hash-chain stream per lot it names (``lot_stream``), and signed by
the site. The ledger batches and anchors entries (``ledger.worker``); once an
entry's batch is confirmed, the feeder mirrors the batch onto the records (batch
id, leaf index and leaf hash per event) so the lot page can show it. Both steps
are idempotent and driven by the records' still-unmirrored events, so a crash
anywhere loses nothing.

``AnchoringService`` below is the skeleton's direct path (records → one batch →
``Anchorer``), kept for tests that need anchored records without a ledger store.

The skeleton path:

A batch is the pending events in capture order. Leaf ``i`` is
``leaf_hash(canonicalize(stored event JSON))``; the root (RFC 6962) and a metadata
digest go on chain in one transaction through a ``ledger.anchor.Anchorer``; then the
batch and every event's leaf index are recorded in one database transaction.

Failure and crash safety:

* The chain fails (``ledger.errors.ChainError``): nothing is recorded, the events stay
  pending, ``AnchoringUnavailable`` is raised; the next call retries the same batch.
* The root went on chain but the process died (or the database failed) before the
  batch was recorded: the retry rebuilds the same batch (capture order is stable, see
  ``RecordStore.pending_events``), so it has the same root. Re-anchoring it would be
  refused by the contract, so the service first asks ``lookup(root)``: a root already
  on chain is recorded with what the contract says (size, metadata, block) and
  ``BatchSummary.recovered`` is True. The tx hash is not known then (the contract
  stores no tx hash); it is recorded as ``UNKNOWN_TX_HASH`` (all zeros).
* If more events were captured before the retry and ``max_events`` allows them in, the
  retried batch differs and gets a new root: the earlier root stays on chain unrecorded.
  Harmless (every event is still anchored exactly once in the records), and avoided
  by retrying with the same ``max_events``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from gs1.epcis.event import format_time, parse_event
from gs1.identifiers import Gtin, Sgtin
from ledger.anchor import Anchorer, AnchorReceipt, OnChainAnchor
from ledger.batch import BatchRecord, BatchStatus, StoredEntry, Submission
from ledger.canonical import canonicalize
from ledger.digest import sha256
from ledger.entry import record_digest
from ledger.errors import AnchorRejected, ChainError, EntryError, KeyOutOfPeriod
from ledger.merkle import leaf_hash, merkle_root
from ledger.signing import Signer
from traceability.capture import _class_link
from traceability.errors import AnchoringUnavailable, TraceabilityError
from traceability.records.store import RecordStore, StoredEvent

log = logging.getLogger(__name__)
EVENT_KIND = "epcis-event"

BATCH_FORMAT = "tracehub-batch/1"
# Recorded when a batch is recovered from the contract, which does not keep tx hashes.
UNKNOWN_TX_HASH = "0x" + "0" * 64
DEFAULT_MAX_EVENTS = 1000


class BatchSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    batch_id: int
    root: bytes
    size: int
    chain_id: int
    contract: str
    tx_hash: str
    block_number: int
    recovered: bool  # True: found already on chain (crash recovery), not sent now


def event_leaf(event: StoredEvent) -> bytes:
    """The Merkle leaf hash of a stored event."""
    return leaf_hash(canonicalize(event.document()))


def batch_metadata(events: Sequence[StoredEvent]) -> bytes:
    """The 32-byte metadata digest anchored next to a batch root."""
    times = sorted(e.event_time for e in events)
    return sha256(
        canonicalize(
            {
                "format": BATCH_FORMAT,
                "size": len(events),
                "first_event_time": format_time(times[0]),
                "last_event_time": format_time(times[-1]),
            }
        )
    )


class AnchoringService:
    def __init__(self, store: RecordStore, anchorer: Anchorer) -> None:
        self._store = store
        self._anchorer = anchorer

    def anchor_pending(self, max_events: int = DEFAULT_MAX_EVENTS) -> BatchSummary | None:
        """Anchor up to ``max_events`` pending events as one batch; None if none pending.

        Raises ``AnchoringUnavailable`` when the chain fails (nothing recorded, retry
        later) and ``StoreUnavailable`` when recording fails after anchoring (the retry
        recovers the batch from the chain, see the module docstring).
        """
        pending = self._store.pending_events(max_events)
        if not pending:
            return None
        leaves = [event_leaf(e) for e in pending]
        root = merkle_root(leaves)
        receipt, recovered = self._anchor(root, len(leaves), batch_metadata(pending))
        batch = self._store.record_batch(
            receipt,
            [(e.id, i, leaf) for i, (e, leaf) in enumerate(zip(pending, leaves, strict=True))],
        )
        return BatchSummary(
            batch_id=batch.id,
            root=batch.root,
            size=batch.size,
            chain_id=batch.chain_id,
            contract=batch.contract,
            tx_hash=batch.tx_hash,
            block_number=batch.block_number,
            recovered=recovered,
        )

    def _anchor(self, root: bytes, size: int, metadata: bytes) -> tuple[AnchorReceipt, bool]:
        try:
            existing = self._anchorer.lookup(root)
            if existing is None:
                try:
                    return self._anchorer.anchor(root, size, metadata), False
                except AnchorRejected:
                    # Someone (another worker) anchored it between lookup and anchor.
                    existing = self._anchorer.lookup(root)
                    if existing is None:
                        raise
        except ChainError as exc:
            raise AnchoringUnavailable(
                f"anchoring batch root {root.hex()} ({size} events) failed: {exc}; "
                "the events stay pending, retry when the chain is reachable"
            ) from exc
        return self._recovered_receipt(existing, size), True

    def _recovered_receipt(self, existing: OnChainAnchor, size: int) -> AnchorReceipt:
        if existing.size != size:
            raise AnchoringUnavailable(
                f"root {existing.root.hex()} is on chain with size {existing.size}, but the "
                f"pending batch has {size} events; inspect the contract before retrying"
            )
        return AnchorReceipt(
            root=existing.root,
            size=existing.size,
            metadata=existing.metadata,
            chain_id=self._anchorer.chain_id,
            contract=self._anchorer.contract,
            tx_hash=UNKNOWN_TX_HASH,
            block_number=existing.block_number,
        )


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
        except (TraceabilityError, ValueError) as exc:
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
