"""``AuditTrail``: records each change as the next entry of the hash chain, signs it into
the ledger, lists, exports and verifies the trail.

Order and crash window: the records first (the entry, chained after the last one, in
one transaction holding the write-order lock), then the ledger: every entry not signed
yet is submitted in seq order (kind ``audit-entry``, stream ``audit`` and each lot's,
kept by the ledger so the lot's evidence bundle carries it) and noted as signed. A
ledger that cannot sign (an outage, a refused key) does not fail the write: the entry
is recorded and ``sign_pending`` — the next ``record``, or the hub's loop — signs it
(``verify`` lists it as unsigned meanwhile, not as tampered). An entry that no longer
hashes to its stored digest, or does not follow the one before it, is never signed:
signing would vouch for an edit; the signer stops there and ``verify`` names it. Nor is
a row the trail did not write: each row carries a tag, an HMAC of its digest under a key
derived from the site's signing key (``TAG_LABEL``), which is not in the database, so a
row inserted or edited with a recomputed digest before signing is refused as forged.

The write the entry is about comes first (its caller records the entry once the write
committed): a crash between the two leaves a change without its entry, never an entry
for a change that was not made.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol, TextIO

from ledger.batch import BatchRecord, StoredEntry, Submission
from ledger.errors import LedgerError
from ledger.errors import StoreUnavailable as LedgerStoreUnavailable
from ledger.signing import PublicKey, Signer
from ledger.submitter import LeafStore, RecordSubmitter
from traceability.audit.check import AuditReport, BatchLeaves, check_batches, check_trail
from traceability.audit.entry import (
    KIND,
    STREAM,
    AuditActor,
    AuditChange,
    AuditEntry,
    AuditSubject,
    ESignature,
    change_of,
    entry_of,
    from_row,
    record_id,
    to_row,
)
from traceability.audit.errors import AuditError
from traceability.audit.export import write_csv
from traceability.errors import RecordConflict, StoreUnavailable, TraceabilityError
from traceability.records.store import RecordStore

log = logging.getLogger(__name__)
_CHUNK = 500
TAG_LABEL = b"tracehub-audit-row"
LotHook = Callable[[str, str], None]  # (gtin14, lot): the hub drops the lot's cached pages


class AuditLedger(LeafStore, Protocol):
    """What the trail needs of the ledger (``ledger.store.sqlstore.LedgerStore``)."""

    def stream(self, stream: str) -> list[StoredEntry]: ...

    def entries(self, kind: str, record_ids: Sequence[str]) -> dict[str, StoredEntry]: ...

    def kept_record(self, kind: str, record_id: str) -> Any | None: ...

    def public_keys(self) -> list[PublicKey]: ...

    def batch(self, batch_id: int) -> BatchRecord | None: ...

    def batch_leaves(self, batch_id: int) -> tuple[bytes, ...]: ...


class AuditTrail:
    """Implements ``traceability.audit.port.AuditLog``; see the module docstring."""

    def __init__(
        self,
        store: RecordStore,
        ledger: AuditLedger,
        signer: Signer,
        clock: Callable[[], datetime] | None = None,
        renew: Callable[[], Signer] | None = None,
        on_lot: LotHook | None = None,
        trusted: Callable[[], Sequence[PublicKey]] | None = None,
    ) -> None:
        """``renew`` loads the site's current key when the ledger refuses the one held.
        ``trusted`` lists the site's public keys from outside the records and ledger
        database (the keystore): ``verify`` holds signatures to these only, as anyone who
        can write that database can also add a key of their own to its key table.
        Without it, only ``signer``'s key is trusted."""
        self._store = store
        self._ledger = ledger
        self._clock = clock or (lambda: datetime.now(UTC))
        self._submitter = RecordSubmitter(ledger, signer, self._clock, renew=renew)
        self._on_lot = on_lot
        self._trusted = trusted or (lambda: [signer.public])
        self._tag_key = signer.derive(TAG_LABEL)
        self._refused: int | None = None  # the entry the signer stopped at (logged once)

    # writing ----------------------------------------------------------------------

    def record(
        self,
        actor: AuditActor,
        action: str,
        subject: AuditSubject,
        before: Any,
        after: Any,
        reason: str | None,
        signature: ESignature | None = None,
        lots: Sequence[str] = (),
    ) -> AuditEntry:
        """Record one change (``AuditRefused`` naming what is wrong with it)."""
        change = change_of(
            actor=actor,
            action=action,
            subject=subject,
            before=before,
            after=after,
            reason=reason,
            signature=signature,
            lots=tuple(lots),
        )
        (entry,) = self.record_many([change])
        return entry

    def record_many(self, changes: Sequence[AuditChange]) -> list[AuditEntry]:
        """Record the changes as consecutive entries (all or none), then sign them."""
        built: list[AuditEntry] = []

        def builder(change: AuditChange) -> Callable[[int, str | None], dict[str, Any]]:
            def build(seq: int, prev: str | None) -> dict[str, Any]:
                entry = entry_of(change, seq, self._clock(), prev)
                built.append(entry)
                row = to_row(entry)
                return {**row, "tag": self._tag(str(row["digest"]))}

            return build

        if not changes:
            return []
        self._store.append_audit([builder(c) for c in changes])
        try:
            self.sign_pending()
        except TraceabilityError as exc:
            log.warning("audit entries %s recorded, not signed yet: %s", _seqs(built), exc)
        return built

    def sign_pending(self) -> int:
        """Sign every entry the ledger does not hold yet, in seq order; how many. Raises
        ``StoreUnavailable`` (the ledger is down: retry) or ``RecordConflict``."""
        total = 0
        while True:
            rows = self._store.unsigned_audit(_CHUNK)
            entries = self._signable(rows)
            if not entries:
                return total
            items = [
                Submission(
                    kind=KIND,
                    record_id=e.record_id,
                    record=e.record(),
                    streams=e.streams,
                    keep_record=True,
                )
                for e in entries
            ]
            try:
                self._submitter.submit_many(items)
            except LedgerStoreUnavailable as exc:
                raise StoreUnavailable(
                    f"signing audit entries {_seqs(entries)}: {exc}; they are recorded, retry"
                ) from exc
            except LedgerError as exc:
                raise RecordConflict(f"signing audit entries {_seqs(entries)}: {exc}") from exc
            self._store.mark_audit_signed([e.seq for e in entries], self._clock())
            total += len(entries)
            if self._on_lot is not None:
                for key in sorted({lot for e in entries for lot in e.lots}):
                    self._on_lot(*key.split("/", 1))
            if len(entries) < len(rows) or len(rows) < _CHUNK:
                return total

    def _signable(self, rows: Sequence[dict[str, Any]]) -> list[AuditEntry]:
        """The leading rows that read back as entries hashing to their stored digests,
        each after the one before it; the first that does not is logged, not signed."""
        if not rows:
            return []
        first = int(rows[0]["seq"])
        before = self._store.audit_row(first - 1) if first > 1 else None
        prev = None if before is None else str(before["digest"])
        entries: list[AuditEntry] = []
        for row in rows:
            try:
                entry = from_row(row)
            except ValueError as exc:
                self._refuse(int(row["seq"]), f"cannot be read ({exc})")
                break
            if entry.digest() != row["digest"] or entry.prev != prev:
                why = "no longer hashes to its stored digest or does not follow the one before"
                self._refuse(entry.seq, why)
                break
            if not self._tagged(row, entry.digest()):
                self._refuse(entry.seq, "is forged or was edited before signing (its tag fails)")
                break
            entries.append(entry)
            prev = entry.digest()
        return entries

    def _tag(self, digest: str) -> str:
        return hmac.new(self._tag_key, digest.encode("ascii"), hashlib.sha256).hexdigest()

    def _tagged(self, row: Mapping[str, Any], digest: str) -> bool:
        return hmac.compare_digest(str(row.get("tag") or ""), self._tag(digest))

    def _refuse(self, seq: int, why: str) -> None:
        if self._refused != seq:  # once, not at every round of the hub's loop
            log.error("audit entry %s %s: not signed; see `tracehub audit verify`", seq, why)
        self._refused = seq

    # reading ----------------------------------------------------------------------

    def entries(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        actor: str | None = None,
        subject: str | None = None,
        kind: str | None = None,
        action: str | None = None,
        limit: int | None = 100,
        newest_first: bool = False,
    ) -> list[AuditEntry]:
        """The entries matching (``AuditRecords.audit_rows``); ``AuditError`` naming a row
        that cannot be read back (edited outside tracehub: ``verify`` says how)."""
        rows = self._store.audit_rows(
            since=since,
            until=until,
            actor=actor,
            subject=subject,
            subject_kind=kind,
            action=action,
            limit=limit,
            newest_first=newest_first,
        )
        found = []
        for row in rows:
            try:
                found.append(from_row(row))
            except ValueError as exc:
                raise AuditError(
                    f"audit entry {row['seq']} cannot be read ({exc}); run `tracehub audit verify`"
                ) from exc
        return found

    def ledger_states(self, entries: Sequence[AuditEntry]) -> dict[int, str]:
        """Per entry: ``anchored`` (in batch N), ``signed`` (not yet anchored) or
        ``unsigned``."""
        found = self._ledger.entries(KIND, [e.record_id for e in entries])
        states: dict[int, str] = {}
        for entry in entries:
            stored = found.get(entry.record_id)
            if stored is None:
                states[entry.seq] = "unsigned"
            elif stored.batch_id is None:
                states[entry.seq] = "signed"
            else:
                states[entry.seq] = f"anchored (batch {stored.batch_id})"
        return states

    def export_csv(self, out: TextIO, **filters: Any) -> int:
        """Write the entries matching ``filters`` (those of ``entries``; all, oldest first,
        by default) as CSV with their ledger state; how many."""
        filters.setdefault("limit", None)
        entries = self.entries(**filters)
        return write_csv(out, entries, self.ledger_states(entries))

    # verifying --------------------------------------------------------------------

    def verify(self) -> AuditReport:
        """The chain recomputed over the rows and held against the signed records, under
        the ``trusted`` keys only (``traceability.audit.check``)."""
        rows: list[dict[str, Any]] = []
        while batch := self._store.audit_rows(after_seq=rows[-1]["seq"] if rows else 0, limit=5000):
            rows.extend(batch)
        keys = {key.key_id: key for key in self._trusted()}
        untagged = set()
        for row in rows:
            try:
                if not self._tagged(row, from_row(row).digest()):
                    untagged.add(int(row["seq"]))
            except ValueError:
                continue  # check_trail names it unreadable
        stream = self._ledger.stream(STREAM)
        report = check_trail(
            rows,
            stream,
            lambda seq: self._ledger.kept_record(KIND, record_id(seq)),
            self._store.audit_signed_seqs(),
            keys,
            untagged,
        )
        batched = check_batches(self._batches(stream), stream, int(rows[-1]["seq"]) if rows else 0)
        if not batched:
            return report
        problems = sorted([*report.problems, *batched], key=lambda p: p.seq)
        return report.model_copy(update={"problems": tuple(problems)})

    def _batches(self, stream: Sequence[StoredEntry]) -> list[BatchLeaves]:
        """Every batch from the first that holds an audit entry to the newest cut: one
        that lost its only audit entry is among them, as batch ids have no gaps."""
        ids = [s.batch_id for s in stream if s.batch_id is not None]
        found: list[BatchLeaves] = []
        number = min(ids, default=0)
        while number and (batch := self._ledger.batch(number)) is not None:
            leaves = self._ledger.batch_leaves(number)
            found.append(BatchLeaves(id=number, root=batch.root, size=batch.size, leaves=leaves))
            number += 1
        return found


def _seqs(entries: Sequence[AuditEntry]) -> str:
    if not entries:
        return "none"
    return str(entries[0].seq) if len(entries) == 1 else f"{entries[0].seq}-{entries[-1].seq}"
