"""Any JSON record → a signed, chained ledger leaf, for callers that only have a record.

The gateway's sealed telemetry windows, carbon reports and exposure
summaries arrive as ``(kind, record)``. ``RecordSubmitter`` gives them the
site's signature and, unless the caller names one, a content-derived record id
(``sha256:<digest>``), so offering the same record twice is harmless and a
revised record (different content) is a new leaf.

Any JSON record can be a leaf this way: carbon-footprint reports
(``kind="carbon-report"``) and lot exposure summaries (``kind="lot-exposure"``)
go in with the lot's stream, ``lot:{gtin14}/{lot}``, so they sit in the lot's hash
chain next to its EPCIS events and come out in its evidence bundle. Such records
live nowhere else, so the ledger keeps each one (``keep_records``, on by default)
and bundles carry it.

A key rotated while the process runs (``tracehub ledger rotate-key``) makes the
store refuse the old signer (``KeyOutOfPeriod``); with ``renew`` (e.g. the
keystore's current key for the owner) the submitter loads the new key once and
submits again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from ledger.batch import StoredEntry, Submission
from ledger.entry import record_digest
from ledger.errors import KeyOutOfPeriod
from ledger.signing import Signer


class LeafStore(Protocol):
    """What the submitter writes to (``ledger.store.sqlstore.LedgerStore``; the caller
    builds it, so this module stays free of SQLAlchemy)."""

    def submit(
        self,
        kind: str,
        record_id: str,
        record: Any,
        streams: Iterable[str],
        signer: Signer,
        now: datetime | None = None,
        keep_record: bool = False,
    ) -> StoredEntry: ...

    def submit_many(
        self, items: Sequence[Submission], signer: Signer, now: datetime | None = None
    ) -> list[StoredEntry]: ...


class RecordSubmitter:
    def __init__(
        self,
        store: LeafStore,
        signer: Signer,
        clock: Callable[[], datetime] | None = None,
        renew: Callable[[], Signer] | None = None,
        keep_records: bool = True,
    ) -> None:
        self._store = store
        self._keep = keep_records
        self._signer = signer
        self._clock = clock or (lambda: datetime.now(UTC))
        self._renew = renew

    @property
    def signer(self) -> Signer:
        return self._signer

    def submit(
        self,
        kind: str,
        record: Any,
        record_id: str | None = None,
        streams: Iterable[str] = (),
    ) -> StoredEntry:
        """Queue ``record`` as a leaf; raises ``LedgerError`` subclasses (retry on
        ``StoreUnavailable``; ``EntryError``/``CanonicalizationError`` are permanent)."""
        rid = record_id or "sha256:" + record_digest(record).hex()
        names = list(streams)
        try:
            return self._store.submit(
                kind, rid, record, names, self._signer, self._clock(), keep_record=self._keep
            )
        except KeyOutOfPeriod:
            if self._renew is None:
                raise
            self._signer = self._renew()
            return self._store.submit(
                kind, rid, record, names, self._signer, self._clock(), keep_record=self._keep
            )

    def submit_many(
        self, items: Sequence[Submission], now: datetime | None = None
    ) -> list[StoredEntry]:
        """Many leaves in one ledger transaction (all or none), each as the caller built
        it (record id, streams, kept or not), signed at ``now`` (default: the clock); the
        same key renewal as ``submit``."""
        now = now or self._clock()
        try:
            return self._store.submit_many(items, self._signer, now)
        except KeyOutOfPeriod:
            if self._renew is None:
                raise
            self._signer = self._renew()
            return self._store.submit_many(items, self._signer, now)
