"""Any JSON record → a signed, chained ledger leaf, for callers that only have a record.

The gateway's telemetry completeness digests, carbon reports and exposure
summaries arrive as ``(kind, record)``. ``RecordSubmitter`` gives them the
site's signature and, unless the caller names one, a content-derived record id
(``sha256:<digest>``), so offering the same record twice is harmless and a
revised record (different content) is a new leaf.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from ledger.batch import StoredEntry
from ledger.entry import record_digest
from ledger.signing import Signer
from ledger.store import LedgerStore


class RecordSubmitter:
    def __init__(
        self,
        store: LedgerStore,
        signer: Signer,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._store = store
        self._signer = signer
        self._clock = clock or (lambda: datetime.now(UTC))

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
        return self._store.submit(kind, rid, record, list(streams), self._signer, self._clock())
