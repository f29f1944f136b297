"""Anchoring: sign events at capture, and show the ledger's anchors on the records.

``EventLeaves`` is capture's ledger port (``traceability.capture.CaptureLedger``):
every event capture accepts becomes a ledger entry of kind ``epcis-event`` (record =
the event JSON as stored, record id = the event id), linked into one hash-chain
stream per lot it names (``lot_stream``; a sensor-only event reporting a room's
temperatures into that place's stream, ``seals.location_stream``, next to its sealed
telemetry) and signed by the site, *before* the event
is stored, with a capture receipt naming who sent it (``receipts``) in the same
transaction. The entry is the event's capture receipt: a row that appears in the
records' events table without one was not captured by this hub, and nothing here
signs it on its own (``tracehub verify`` fails it as "not captured"). Only the
operator can, explicitly: ``adopt_events`` (``tracehub ledger adopt``) signs such rows
together with an ``events-adopted`` record naming them, so the evidence shows they
were adopted later, not captured live.

Ledger first closes the crash window: a crash after the entry and before the row
leaves a signed event that the sender (the gateway's spool, an EPCIS client) was
never told was captured, so it offers it again and the row is stored then (the
entry is idempotent on the event id and its content). Until then ``verify`` names
the event as missing from the records, which is the truth.

``EventFeeder`` is what the anchoring loop runs: the ledger batches and anchors
entries (``ledger.worker``); once an entry's batch is confirmed, the feeder mirrors
the batch onto the records (batch id, leaf index and leaf hash per event) so the
lot page can show it. Idempotent and driven by the records' still-unmirrored
events, so a crash anywhere loses nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from gs1.identifiers import Gtin
from ledger.anchor import AnchorReceipt
from ledger.batch import BatchRecord, BatchStatus, SetAsideRecord, StoredEntry, Submission
from ledger.entry import record_digest, stream_problem
from ledger.errors import EntryError, KeyOutOfPeriod
from ledger.errors import StoreUnavailable as LedgerUnavailable
from ledger.signing import Signer
from ledger.submitter import LeafStore
from traceability.anchoring.receipts import EVENT_KIND as EVENT_KIND  # defined with receipts
from traceability.anchoring.receipts import RECEIPT_KIND, receipt_id, receipt_record
from traceability.anchoring.seals import location_stream
from traceability.coldchain.sensorreadings import room_place
from traceability.epclinks import lot_stream as lot_stream  # capture checks it fits
from traceability.errors import StoreUnavailable
from traceability.records.store import NewEvent, RecordStore

log = logging.getLogger(__name__)

# Recorded when a batch was recovered from the contract, which does not keep tx hashes.
UNKNOWN_TX_HASH = "0x" + "0" * 64


class EvidenceLedger(LeafStore, Protocol):
    """What traceability needs from the ledger store (``ledger.store.sqlstore.LedgerStore``):
    its leaves (``submit``, ``submit_many``) and reading entries back."""

    def entries(self, kind: str, record_ids: Sequence[str]) -> dict[str, StoredEntry]: ...

    def readable_entries(
        self, kind: str, record_ids: Sequence[str]
    ) -> tuple[dict[str, StoredEntry], dict[str, tuple[int, str]]]: ...

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


def _room(body: dict[str, Any]) -> tuple[str, ...]:
    """The stream of the place a sensor-only event reports temperatures of: with the
    place's sealed telemetry, so every lot that stayed there carries it in its bundle
    (``bundle``) and ``verify`` recomputes the page's readings from it (``claimcheck``).
    A place too long to name a stream leaves the event in no place's stream."""
    place = room_place(body)
    if place is None or stream_problem(location_stream(place)) is not None:
        return ()
    return (location_stream(place),)


class EventLeaves:
    """Capture's ledger: each accepted event becomes its signed leaf before it is stored."""

    def __init__(
        self,
        ledger: EvidenceLedger,
        signer: Signer,
        renew_signer: Callable[[], Signer] | None = None,
    ) -> None:
        """``renew_signer`` loads the site's current key when the ledger refuses the
        one held (``KeyOutOfPeriod``: rotated by ``tracehub ledger rotate-key``)."""
        self._ledger = ledger
        self._signer = signer
        self._renew = renew_signer

    def sign(
        self,
        events: Sequence[tuple[NewEvent, Sequence[tuple[str, str]]]],
        source: str | None = None,
    ) -> None:
        """Sign ``(event, its (gtin, lot) pairs)`` into the lots' streams, in one
        transaction; events the ledger already holds (a redelivery) are left as they are.
        With ``source`` (who sent them), the same transaction signs one capture receipt
        naming it and the new events (``receipts``), kept in those events' lot streams.

        Raises ``StoreUnavailable`` (retry) when the ledger cannot sign now.
        """
        moment = datetime.now(UTC)
        # An id whose entry does not read back was signed once (a poison entry the feeder
        # sets aside): it counts as known, so its redelivery is not refused for ever.
        found, unreadable = self._ledger.readable_entries(EVENT_KIND, [new.id for new, _ in events])
        known = found.keys() | unreadable.keys()
        items: dict[str, Submission] = {}
        for new, lots in events:
            if new.id in known or new.id in items:
                continue
            body = json.loads(new.body)
            items[new.id] = Submission(
                kind=EVENT_KIND,
                record_id=new.id,
                record=body,
                streams=(*dict.fromkeys(lot_stream(g, lot) for g, lot in lots), *_room(body)),
            )
        if not items:
            return
        if source is not None:
            record = receipt_record(source, items, moment)
            streams = (name for item in items.values() for name in item.streams)
            items[RECEIPT_KIND] = Submission(
                kind=RECEIPT_KIND,
                record_id=receipt_id(record),
                record=record,
                streams=tuple(dict.fromkeys(streams)),
                keep_record=True,
            )
        try:
            self._submit(list(items.values()), moment)
        except (LedgerUnavailable, KeyOutOfPeriod, EntryError) as exc:
            # EntryError: another capture signed one of these ids meanwhile; a retry
            # sees it as known. KeyOutOfPeriod: no current key until one is rotated in.
            raise StoreUnavailable(
                f"the ledger cannot sign the captured events now ({exc}); retry"
            ) from exc

    def _submit(self, items: list[Submission], moment: datetime) -> list[StoredEntry]:
        try:
            return self._ledger.submit_many(items, self._signer, moment)
        except KeyOutOfPeriod:
            if self._renew is None:
                raise
            self._signer = self._renew()
            log.info("site signing key renewed: now %s", self._signer.key_id)
            return self._ledger.submit_many(items, self._signer, datetime.now(UTC))


ADOPTION_KIND = "events-adopted"
ADOPTION_FORMAT = "tracehub-adoption/1"


class Adoption(BaseModel):
    """What ``adopt_events`` signed (``record`` None: nothing needed adopting)."""

    model_config = ConfigDict(frozen=True)

    record_id: str | None
    events: tuple[str, ...]
    record: dict[str, Any] | None = None


def adopt_events(
    store: RecordStore,
    ledger: EvidenceLedger,
    signer: Signer,
    gtin: Gtin | str,
    lot: str,
    now: datetime | None = None,
) -> Adoption:
    """Sign the lot's event rows that have no capture entry, as an explicit, recorded act.

    For events stored before capture signed them (or by a records-only tool): each row
    the records give the lot without a capture entry becomes its ``epcis-event`` entry
    (its body as stored, into the streams of the lots its link rows name), and one
    ``events-adopted`` record, kept in the lot's stream, names them, how many and when.
    All in one transaction. The evidence then shows those events were adopted later by
    the site's key, not captured live (``tracehub verify`` says so): the operator vouches
    for rows nobody signed at capture. Run by the operator, never by the hub itself.
    """
    gtin14 = gtin.value if isinstance(gtin, Gtin) else Gtin.parse(gtin).value
    moment = now or datetime.now(UTC)
    rows = store.events_for_lot(gtin14, lot)
    known = ledger.entries(EVENT_KIND, [e.id for e in rows])
    orphans = [e for e in rows if e.id not in known]
    if not orphans:
        return Adoption(record_id=None, events=())
    links = store.event_links([e.id for e in orphans])
    own = lot_stream(gtin14, lot)
    items = [
        Submission(
            kind=EVENT_KIND,
            record_id=event.id,
            record=event.document(),
            streams=tuple(
                dict.fromkeys(
                    [own]
                    + [
                        lot_stream(k.gtin, k.lot)
                        for k in links.get(event.id, [])
                        if k.gtin and k.lot
                    ]
                )
            ),
        )
        for event in orphans
    ]
    record: dict[str, Any] = {
        "format": ADOPTION_FORMAT,
        "gtin": gtin14,
        "lot": lot,
        "adopted_at": moment.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "count": len(orphans),
        "events": [e.id for e in orphans],
        "note": "stored without a capture entry; signed later by the site's operator",
    }
    record_id = "adoption:sha256:" + record_digest(record).hex()
    items.append(
        Submission(
            kind=ADOPTION_KIND, record_id=record_id, record=record, streams=(own,), keep_record=True
        )
    )
    ledger.submit_many(items, signer, moment)
    return Adoption(record_id=record_id, events=tuple(e.id for e in orphans), record=record)


class FeedResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    mirrored: int
    batches: tuple[int, ...]  # records batch ids that received events
    uncaptured: int = 0  # unmirrored rows with no capture entry: never signed here
    set_aside: int = 0  # unmirrored rows whose capture entry does not read back: set aside


class MirrorLedger(Protocol):
    """What the feeder reads from the ledger (``ledger.store.sqlstore.LedgerStore``)."""

    def readable_entries(
        self, kind: str, record_ids: Sequence[str]
    ) -> tuple[dict[str, StoredEntry], dict[str, tuple[int, str]]]: ...

    def batch(self, batch_id: int) -> BatchRecord | None: ...

    def set_aside(
        self, entry_id: int, kind: str, record_id: str, stage: str, reason: str, now: datetime
    ) -> SetAsideRecord | None: ...


class EventFeeder:
    """Mirrors confirmed ledger batches onto the records' events; signs nothing."""

    def __init__(self, store: RecordStore, ledger: MirrorLedger, limit: int = 1000) -> None:
        self._store = store
        self._ledger = ledger
        self._limit = limit
        self._uncaptured_told = 0

    def sync(self) -> FeedResult:
        """Mirror every unmirrored event whose capture entry's batch is confirmed.

        Pages through the unmirrored events, so rows that will never be anchored (no
        capture entry: put there by hand) cannot hold back the others; nor can a capture
        entry that does not read back (a poison row): it is set aside in the ledger with
        its reason (``ledger.store.setaside``) and skipped. Outages raise, to retry.
        """
        mirrored, batch_ids, uncaptured, aside = 0, [], 0, 0
        after: tuple[datetime, str] | None = None
        while True:
            page = self._store.pending_events(self._limit, after=after)
            if not page:
                break
            known, unreadable = self._ledger.readable_entries(EVENT_KIND, [e.id for e in page])
            aside += self._set_aside(unreadable)
            uncaptured += sum(1 for e in page if e.id not in known and e.id not in unreadable)
            by_batch: dict[int, list[tuple[str, int, bytes]]] = {}
            for event in page:
                stored = known.get(event.id)
                if stored is not None and stored.batch_id is not None:
                    assert stored.leaf_index is not None  # set with the batch
                    by_batch.setdefault(stored.batch_id, []).append(
                        (event.id, stored.leaf_index, stored.leaf_hash)
                    )
            for batch_id, leaves in sorted(by_batch.items()):
                batch = self._ledger.batch(batch_id)
                if batch is None or batch.status is not BatchStatus.CONFIRMED:
                    continue
                record = self._store.mark_anchored(receipt_of(batch), leaves)
                mirrored += len(leaves)
                if record.id not in batch_ids:
                    batch_ids.append(record.id)
            if len(page) < self._limit:
                break
            after = (page[-1].captured_at, page[-1].id)
        if uncaptured and uncaptured != self._uncaptured_told:
            # Said when the count changes, not every round: the rows stay until adopted.
            self._uncaptured_told = uncaptured
            log.warning(
                "%d event row(s) have no capture entry in the ledger: not captured by "
                "this hub, never signed (tracehub verify names them)",
                uncaptured,
            )
        return FeedResult(
            mirrored=mirrored, batches=tuple(batch_ids), uncaptured=uncaptured, set_aside=aside
        )

    def _set_aside(self, unreadable: Mapping[str, tuple[int, str]]) -> int:
        now = datetime.now(UTC)
        for record_id, (entry_id, reason) in unreadable.items():
            told = self._ledger.set_aside(entry_id, EVENT_KIND, record_id, "mirror", reason, now)
            if told is not None:
                log.warning(
                    "set aside %s %s: its capture entry does not read back (%s); the "
                    "other events go on (tracehub status lists it)",
                    EVENT_KIND,
                    record_id,
                    reason,
                )
        return len(unreadable)


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
