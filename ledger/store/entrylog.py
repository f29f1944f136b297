"""The entry log: signed leaves, their hash-chain links and the keys that signed them.

``submit`` turns a record into a signed entry linked into its streams and queues
it as a pending leaf (``ledger_entries``, ``ledger_links``); every public key that
signed something is kept (``ledger_keys``) so bundles can carry it. A record with
no other home (a lot exposure summary, a carbon report) is kept too, as its
canonical JSON (``keep_record=True``, ``ledger_records``).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine

from ledger.batch import PendingSummary, StoredEntry, Submission
from ledger.canonical import canonicalize
from ledger.digest import sha256
from ledger.entry import Entry, Link, sign_entry, stream_problem
from ledger.errors import EntryError, StoreUnavailable
from ledger.merkle import leaf_hash
from ledger.signing import PublicKey, Signer
from ledger.store.database import LedgerDatabase, aware, from_db, to_db
from ledger.store.schema import entries, kept_records, keys, links
from ledger.store.setaside import not_set_aside

_SUBMIT_ATTEMPTS = 20
_CHUNK = 500


class EntryLog(LedgerDatabase):
    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self._known_keys: set[str] = set()

    # submission ---------------------------------------------------------------------

    def submit(
        self,
        kind: str,
        record_id: str,
        record: Any,
        streams: Iterable[str],
        signer: Signer,
        now: datetime | None = None,
        keep_record: bool = False,
    ) -> StoredEntry:
        """Sign ``record`` into an entry, link it into ``streams`` and queue it as a leaf.

        ``keep_record`` stores the record's canonical JSON with the entry, for
        records that live nowhere else (``kept_record`` reads it back; evidence
        bundles carry it).

        Idempotent on (kind, record_id): the same record again returns the stored
        entry; different content under the same id is an ``EntryError``. A signer
        whose key is outside its validity period at ``now`` (by its own record or
        by the store's, where ``close_key`` ended it, e.g. a rotation by another
        process) is refused with ``KeyOutOfPeriod`` before anything is stored.
        """
        item = Submission(
            kind=kind,
            record_id=record_id,
            record=record,
            streams=tuple(streams),
            keep_record=keep_record,
        )
        (stored,) = self.submit_many([item], signer, now)
        return stored

    def submit_many(
        self, items: Sequence[Submission], signer: Signer, now: datetime | None = None
    ) -> list[StoredEntry]:
        """``submit`` for many records in one transaction, in order (same rules).

        One commit instead of one per record: what a feeder with a backlog wants.
        All or nothing: an ``EntryError`` for one record (a conflicting content)
        stores none of them.
        """
        moment = now or datetime.now(UTC)
        signer.public.require_cover(moment)
        prepared = []
        for item in items:
            if problem := next(filter(None, map(stream_problem, item.streams)), None):
                raise EntryError(f"{item.kind} {item.record_id}: {problem}")
            canonical = canonicalize(item.record)
            prepared.append((item, canonical, sha256(canonical), sorted(set(item.streams))))
        if not prepared:
            return []
        self._register_key(signer.public)
        all_streams = sorted({name for *_, names in prepared for name in names})
        for _attempt in range(_SUBMIT_ATTEMPTS):
            try:
                with self._tx() as conn:
                    return self._append(conn, prepared, all_streams, signer, moment)
            except sa_exc.IntegrityError:
                # A concurrent submitter took the same stream position or record id.
                continue
        first = prepared[0][0]
        raise StoreUnavailable(
            f"submitting {first.kind} {first.record_id} (and {len(prepared) - 1} more): "
            f"the streams kept changing under {_SUBMIT_ATTEMPTS} attempts; retry"
        )

    def _append(
        self,
        conn: Connection,
        prepared: list[tuple[Submission, bytes, bytes, list[str]]],
        all_streams: list[str],
        signer: Signer,
        moment: datetime,
    ) -> list[StoredEntry]:
        """Sign what is new, chain it after the streams' heads, insert it in bulk."""
        existing = self._existing(conn, [(item.kind, item.record_id) for item, *_ in prepared])
        heads: dict[str, Link] = {}  # the next link of each stream, as appended so far
        done: dict[tuple[str, str], StoredEntry | Entry] = {}
        fresh: list[tuple[Entry, bytes, bytes]] = []  # (entry, leaf data, leaf hash)
        keep: dict[tuple[str, str], bytes] = {}
        checked = False
        for item, canonical, digest, stream_names in prepared:
            key = (item.kind, item.record_id)
            if item.keep_record:
                keep[key] = canonical
            seen = done.get(key)
            if seen is not None:
                signed = seen.entry if isinstance(seen, StoredEntry) else seen
                if signed.record_digest != digest:
                    raise EntryError(
                        f"{item.kind} {item.record_id} is submitted twice with different "
                        "content; records are immutable, give the revision a new record_id"
                    )
                continue
            row = existing.get(key)
            if row is not None:
                done[key] = _same_or_conflict(row, digest)
                continue
            if not checked:
                # Only new entries are signed; re-offering stored ones needs no key.
                self._registered(conn, signer.public).require_cover(moment)
                if self._postgres:
                    # Serialise appends per stream (sorted: no deadlock) instead of
                    # letting concurrent submitters race for the same seq and retry.
                    for name in all_streams:
                        conn.execute(
                            sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:s, 0))"),
                            {"s": name},
                        )
                checked = True
            chain = tuple(
                heads[s] if s in heads else self._next_link(conn, s) for s in stream_names
            )
            entry = sign_entry(item.kind, item.record_id, digest, chain, signer, moment)
            data = entry.leaf_data()  # canonicalised once, for both the hash and the row
            leaf = leaf_hash(data)
            fresh.append((entry, data, leaf))
            done[key] = entry
            for link in chain:
                heads[link.stream] = Link(stream=link.stream, seq=link.seq + 1, prev=leaf)
        for stored in self._insert(conn, fresh, moment):
            done[(stored.entry.kind, stored.entry.record_id)] = stored
        for key, canonical in keep.items():
            kept = done[key]
            assert isinstance(kept, StoredEntry)
            self._keep(conn, kept.id, canonical)
        out: list[StoredEntry] = []
        for item, *_ in prepared:
            result = done[(item.kind, item.record_id)]
            assert isinstance(result, StoredEntry)  # every new entry was inserted above
            out.append(result)
        return out

    def _existing(
        self, conn: Connection, keys_: list[tuple[str, str]]
    ) -> dict[tuple[str, str], sa.Row[Any]]:
        by_kind: dict[str, list[str]] = {}
        for kind, record_id in dict.fromkeys(keys_):
            by_kind.setdefault(kind, []).append(record_id)
        found: dict[tuple[str, str], sa.Row[Any]] = {}
        for kind, ids in by_kind.items():
            for i in range(0, len(ids), _CHUNK):
                query = sa.select(entries).where(
                    entries.c.kind == kind, entries.c.record_id.in_(ids[i : i + _CHUNK])
                )
                for row in conn.execute(query):
                    found[(row.kind, row.record_id)] = row
        return found

    def _next_link(self, conn: Connection, stream: str) -> Link:
        head = conn.execute(
            sa.select(links.c.seq, links.c.leaf_hash)
            .where(links.c.stream == stream)
            .order_by(links.c.seq.desc())
            .limit(1)
        ).first()
        if head is None:
            return Link(stream=stream, seq=0, prev=None)
        return Link(stream=stream, seq=head.seq + 1, prev=bytes.fromhex(head.leaf_hash))

    def _insert(
        self, conn: Connection, fresh: list[tuple[Entry, bytes, bytes]], moment: datetime
    ) -> list[StoredEntry]:
        """Insert new entries and their links, two statements for all of them."""
        if not fresh:
            return []
        at = to_db(moment)
        rows = conn.execute(
            entries.insert().returning(entries.c.id, sort_by_parameter_order=True),
            [
                {
                    "kind": entry.kind,
                    "record_id": entry.record_id,
                    "record_digest": entry.record_digest.hex(),
                    "leaf_hash": leaf.hex(),
                    "leaf_data": data.decode("utf-8"),
                    "submitted_at": at,
                }
                for entry, data, leaf in fresh
            ],
        ).all()
        ids = [int(row.id) for row in rows]
        link_rows = [
            {"stream": k.stream, "seq": k.seq, "entry_id": entry_id, "leaf_hash": leaf.hex()}
            for (entry, _, leaf), entry_id in zip(fresh, ids, strict=True)
            for k in entry.links
        ]
        if link_rows:
            conn.execute(links.insert(), link_rows)
        return [
            StoredEntry(
                id=entry_id,
                entry=entry,
                leaf_hash=leaf,
                submitted_at=moment,
                batch_id=None,
                leaf_index=None,
            )
            for (entry, _, leaf), entry_id in zip(fresh, ids, strict=True)
        ]

    @staticmethod
    def _keep(conn: Connection, entry_id: int, canonical: bytes) -> None:
        found = conn.execute(
            sa.select(kept_records.c.entry_id).where(kept_records.c.entry_id == entry_id)
        ).first()
        if found is None:
            conn.execute(
                kept_records.insert().values(entry_id=entry_id, canonical=canonical.decode())
            )

    def kept_record(self, kind: str, record_id: str) -> Any | None:
        """The record kept with its entry (``keep_record=True``), or None."""
        query = (
            sa.select(kept_records.c.canonical)
            .join(entries, entries.c.id == kept_records.c.entry_id)
            .where(entries.c.kind == kind, entries.c.record_id == record_id)
        )
        with self._tx() as conn:
            text = conn.execute(query).scalar()
        return None if text is None else json.loads(text)

    # keys ---------------------------------------------------------------------------

    def _register_key(self, key: PublicKey) -> None:
        if key.key_id in self._known_keys:
            return
        with contextlib.suppress(sa_exc.IntegrityError), self._tx() as conn:
            found = conn.execute(sa.select(keys.c.key_id).where(keys.c.key_id == key.key_id))
            if found.first() is None:
                conn.execute(
                    keys.insert().values(
                        key_id=key.key_id,
                        public_key=key.public_key.hex(),
                        owner=key.owner,
                        valid_from=to_db(key.valid_from),
                        valid_until=None if key.valid_until is None else to_db(key.valid_until),
                    )
                )
        self._known_keys.add(key.key_id)

    @staticmethod
    def _registered(conn: Connection, key: PublicKey) -> PublicKey:
        """``key`` with the validity period the store has on record for it."""
        row = conn.execute(
            sa.select(keys.c.valid_from, keys.c.valid_until).where(keys.c.key_id == key.key_id)
        ).first()
        if row is None:
            return key
        return key.model_copy(
            update={"valid_from": aware(row.valid_from), "valid_until": from_db(row.valid_until)}
        )

    def close_key(self, key_id: str, valid_until: datetime) -> None:
        """Record that a key was rotated out at ``valid_until``."""
        with self._tx() as conn:
            conn.execute(
                keys.update().where(keys.c.key_id == key_id).values(valid_until=to_db(valid_until))
            )

    def public_keys(self) -> list[PublicKey]:
        with self._tx() as conn:
            rows = conn.execute(sa.select(keys).order_by(keys.c.valid_from)).all()
        return [
            PublicKey(
                key_id=r.key_id,
                public_key=bytes.fromhex(r.public_key),
                owner=r.owner,
                valid_from=aware(r.valid_from),
                valid_until=from_db(r.valid_until),
            )
            for r in rows
        ]

    # reading entries ----------------------------------------------------------------

    def entry(self, kind: str, record_id: str) -> StoredEntry | None:
        with self._tx() as conn:
            row = self._entry_row(conn, kind, record_id)
        return None if row is None else stored_entry(row)

    def entries(self, kind: str, record_ids: Sequence[str]) -> dict[str, StoredEntry]:
        """The stored entries of those ``record_ids`` that were submitted, by record id;
        ``EntryError`` when one does not read back (``readable_entries`` goes on)."""
        found, unreadable = self.readable_entries(kind, record_ids)
        if unreadable:
            raise EntryError(f"{kind} entries that do not read back: {unreadable}")
        return found

    def readable_entries(
        self, kind: str, record_ids: Sequence[str]
    ) -> tuple[dict[str, StoredEntry], dict[str, tuple[int, str]]]:
        """``entries``, and apart those that do not read back: record id → (entry id, why)."""
        found: dict[str, StoredEntry] = {}
        unreadable: dict[str, tuple[int, str]] = {}
        with self._tx() as conn:
            for i in range(0, len(record_ids), _CHUNK):
                chunk = list(record_ids[i : i + _CHUNK])
                query = sa.select(entries).where(
                    entries.c.kind == kind, entries.c.record_id.in_(chunk)
                )
                for row in conn.execute(query):
                    try:
                        found[row.record_id] = stored_entry(row)
                    except ValueError as exc:  # EntryError, bad JSON or hex: a poison row
                        unreadable[row.record_id] = (int(row.id), str(exc))
        return found, unreadable

    def stream(self, stream: str) -> list[StoredEntry]:
        """Every entry of a hash-chain stream, in chain order."""
        query = (
            sa.select(entries)
            .join(links, links.c.entry_id == entries.c.id)
            .where(links.c.stream == stream)
            .order_by(links.c.seq)
        )
        with self._tx() as conn:
            return [stored_entry(row) for row in conn.execute(query)]

    def pending(self) -> PendingSummary:
        """How many leaves wait for a batch (set-aside ones do not), since when."""
        query = sa.select(sa.func.count(), sa.func.min(entries.c.submitted_at)).where(
            entries.c.batch_id.is_(None), not_set_aside()
        )
        with self._tx() as conn:
            count, oldest = conn.execute(query).one()
        return PendingSummary(count=int(count), oldest_submitted_at=from_db(oldest))

    @staticmethod
    def _entry_row(conn: Connection, kind: str, record_id: str) -> sa.Row[Any] | None:
        return conn.execute(
            sa.select(entries).where(entries.c.kind == kind, entries.c.record_id == record_id)
        ).first()


def _same_or_conflict(row: sa.Row[Any], digest: bytes) -> StoredEntry:
    if row.record_digest != digest.hex():
        raise EntryError(
            f"{row.kind} {row.record_id} was already submitted with digest "
            f"{row.record_digest}, not {digest.hex()}; records are immutable, "
            "submit a changed record under a new record_id"
        )
    return stored_entry(row)


def stored_entry(row: sa.Row[Any]) -> StoredEntry:
    """A ``ledger_entries`` row as a ``StoredEntry`` (a ``ValueError`` when it does not read)."""
    return StoredEntry(
        id=row.id,
        entry=Entry.from_json(json.loads(row.leaf_data)),
        leaf_hash=bytes.fromhex(row.leaf_hash),
        submitted_at=aware(row.submitted_at),
        batch_id=row.batch_id,
        leaf_index=row.leaf_index,
    )
