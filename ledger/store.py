"""The ledger's SQL store: pending leaves, hash chains, batches, keys and the lease.

SQLAlchemy Core over any URL: SQLite by default (it may be the records' own file;
the tables are prefixed ``ledger_``), PostgreSQL when several anchor workers run.
On SQLite every transaction starts with ``BEGIN IMMEDIATE``: a deferred
transaction that upgrades from read to write can fail at once with "database is
locked", and the store is shared by threads and processes.

Every state change of a batch is fenced: it runs in the same transaction as a
check that the caller still holds the lease with the same token, so a worker that
was paused past its lease (and replaced) cannot overwrite its successor's work.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

from ledger.batch import (
    BatchRecord,
    BatchStatus,
    Inclusion,
    Lease,
    PendingSummary,
    SentTx,
    StoredEntry,
)
from ledger.canonical import canonicalize
from ledger.digest import sha256
from ledger.entry import Entry, Link, record_digest, sign_entry
from ledger.errors import EntryError, LeaseLost, StoreUnavailable
from ledger.merkle import MerkleTree, merkle_root
from ledger.schema import batches, entries, keys, leases, links, metadata
from ledger.signing import PublicKey, Signer, format_instant

BATCH_FORMAT = "tracehub-batch/2"
ANCHOR_LEASE = "anchor"
_SUBMIT_ATTEMPTS = 20
_CHUNK = 500


def _to_db(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("the ledger store needs aware datetimes; attach a timezone")
    return moment.astimezone(UTC).replace(tzinfo=None)


def _from_db(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.replace(tzinfo=UTC)


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC)


class LedgerStore:
    """Build with ``LedgerStore.open(url)``; ``close()`` when done. Thread-safe."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._known_keys: set[str] = set()
        self._postgres = engine.dialect.name == "postgresql"
        self._leaves_cache = lru_cache(maxsize=64)(self._load_batch_leaves)
        self._tree = lru_cache(maxsize=8)(lambda batch_id: MerkleTree(self.batch_leaves(batch_id)))
        with self._tx() as conn:
            metadata.create_all(conn)

    @classmethod
    def open(cls, url: str) -> LedgerStore:
        try:
            sa_url = sa.make_url(url)
        except sa_exc.ArgumentError as exc:
            raise StoreUnavailable(
                f"ledger URL {url!r} is not a database URL; use e.g. 'sqlite:///ledger.db'"
            ) from exc
        kwargs: dict[str, Any] = {}
        sqlite = sa_url.get_backend_name() == "sqlite"
        if sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            if sa_url.database in (None, "", ":memory:"):
                kwargs["poolclass"] = StaticPool
        try:
            engine = sa.create_engine(sa_url, **kwargs)
        except (sa_exc.ArgumentError, ImportError) as exc:
            raise StoreUnavailable(f"ledger URL {url!r}: {exc}") from exc
        if sqlite:
            sa.event.listen(engine, "connect", _sqlite_connect)
            sa.event.listen(engine, "begin", _sqlite_begin)
        return cls(engine)

    def close(self) -> None:
        self._engine.dispose()

    @contextlib.contextmanager
    def _tx(self) -> Iterator[Connection]:
        try:
            with self._engine.begin() as conn:
                yield conn
        except sa_exc.IntegrityError:
            raise
        except sa_exc.DBAPIError as exc:
            raise StoreUnavailable(
                f"ledger database failed: {exc.orig}; check that it is reachable and writable"
            ) from exc

    # submission ---------------------------------------------------------------------

    def submit(
        self,
        kind: str,
        record_id: str,
        record: Any,
        streams: Iterable[str],
        signer: Signer,
        now: datetime | None = None,
    ) -> StoredEntry:
        """Sign ``record`` into an entry, link it into ``streams`` and queue it as a leaf.

        Idempotent on (kind, record_id): the same record again returns the stored
        entry; different content under the same id is an ``EntryError``.
        """
        digest = record_digest(record)
        stream_names = sorted(set(streams))
        moment = now or datetime.now(UTC)
        self._register_key(signer.public)
        for _attempt in range(_SUBMIT_ATTEMPTS):
            try:
                with self._tx() as conn:
                    existing = self._entry_row(conn, kind, record_id)
                    if existing is not None:
                        return _same_or_conflict(existing, digest)
                    if self._postgres:
                        # Serialise appends per stream (sorted: no deadlock) instead of
                        # letting concurrent submitters race for the same seq and retry.
                        for name in stream_names:
                            conn.execute(
                                sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:s, 0))"),
                                {"s": name},
                            )
                    chain = tuple(self._next_link(conn, s) for s in stream_names)
                    entry = sign_entry(kind, record_id, digest, chain, signer, moment)
                    return self._insert(conn, entry, moment)
            except sa_exc.IntegrityError:
                # A concurrent submitter took the same stream position or record id.
                continue
        raise StoreUnavailable(
            f"submitting {kind} {record_id}: the streams kept changing under "
            f"{_SUBMIT_ATTEMPTS} attempts; retry"
        )

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

    def _insert(self, conn: Connection, entry: Entry, moment: datetime) -> StoredEntry:
        leaf = entry.leaf_hash()
        result = conn.execute(
            entries.insert().values(
                kind=entry.kind,
                record_id=entry.record_id,
                record_digest=entry.record_digest.hex(),
                leaf_hash=leaf.hex(),
                leaf_data=entry.leaf_data().decode("utf-8"),
                submitted_at=_to_db(moment),
            )
        )
        pk = result.inserted_primary_key
        assert pk is not None  # an INSERT always reports its primary key
        entry_id = int(pk[0])
        if entry.links:
            conn.execute(
                links.insert(),
                [
                    {
                        "stream": k.stream,
                        "seq": k.seq,
                        "entry_id": entry_id,
                        "leaf_hash": leaf.hex(),
                    }
                    for k in entry.links
                ],
            )
        return StoredEntry(
            id=entry_id,
            entry=entry,
            leaf_hash=leaf,
            submitted_at=moment,
            batch_id=None,
            leaf_index=None,
        )

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
                        valid_from=_to_db(key.valid_from),
                        valid_until=None if key.valid_until is None else _to_db(key.valid_until),
                    )
                )
        self._known_keys.add(key.key_id)

    def close_key(self, key_id: str, valid_until: datetime) -> None:
        """Record that a key was rotated out at ``valid_until``."""
        with self._tx() as conn:
            conn.execute(
                keys.update().where(keys.c.key_id == key_id).values(valid_until=_to_db(valid_until))
            )

    def public_keys(self) -> list[PublicKey]:
        with self._tx() as conn:
            rows = conn.execute(sa.select(keys).order_by(keys.c.valid_from)).all()
        return [
            PublicKey(
                key_id=r.key_id,
                public_key=bytes.fromhex(r.public_key),
                owner=r.owner,
                valid_from=_aware(r.valid_from),
                valid_until=_from_db(r.valid_until),
            )
            for r in rows
        ]

    # reading entries ----------------------------------------------------------------

    def entry(self, kind: str, record_id: str) -> StoredEntry | None:
        with self._tx() as conn:
            row = self._entry_row(conn, kind, record_id)
        return None if row is None else _stored(row)

    def entries(self, kind: str, record_ids: Sequence[str]) -> dict[str, StoredEntry]:
        """The stored entries of those ``record_ids`` that were submitted, by record id."""
        found: dict[str, StoredEntry] = {}
        with self._tx() as conn:
            for i in range(0, len(record_ids), _CHUNK):
                chunk = list(record_ids[i : i + _CHUNK])
                query = sa.select(entries).where(
                    entries.c.kind == kind, entries.c.record_id.in_(chunk)
                )
                for row in conn.execute(query):
                    found[row.record_id] = _stored(row)
        return found

    def stream(self, stream: str) -> list[StoredEntry]:
        """Every entry of a hash-chain stream, in chain order."""
        query = (
            sa.select(entries)
            .join(links, links.c.entry_id == entries.c.id)
            .where(links.c.stream == stream)
            .order_by(links.c.seq)
        )
        with self._tx() as conn:
            return [_stored(row) for row in conn.execute(query)]

    def pending(self) -> PendingSummary:
        """How many leaves wait for a batch, and since when the oldest waits."""
        query = sa.select(sa.func.count(), sa.func.min(entries.c.submitted_at)).where(
            entries.c.batch_id.is_(None)
        )
        with self._tx() as conn:
            count, oldest = conn.execute(query).one()
        return PendingSummary(count=int(count), oldest_submitted_at=_from_db(oldest))

    @staticmethod
    def _entry_row(conn: Connection, kind: str, record_id: str) -> sa.Row[Any] | None:
        return conn.execute(
            sa.select(entries).where(entries.c.kind == kind, entries.c.record_id == record_id)
        ).first()

    # batches ------------------------------------------------------------------------

    def batch(self, batch_id: int) -> BatchRecord | None:
        with self._tx() as conn:
            row = conn.execute(sa.select(batches).where(batches.c.id == batch_id)).first()
        return None if row is None else _batch(row)

    def unfinished_batches(self) -> list[BatchRecord]:
        """Batches cut but not yet confirmed, oldest first."""
        query = (
            sa.select(batches)
            .where(batches.c.status != BatchStatus.CONFIRMED.value)
            .order_by(batches.c.id)
        )
        with self._tx() as conn:
            return [_batch(row) for row in conn.execute(query)]

    def confirmed_batches(self, after_id: int = 0, limit: int = 100) -> list[BatchRecord]:
        query = (
            sa.select(batches)
            .where(batches.c.status == BatchStatus.CONFIRMED.value, batches.c.id > after_id)
            .order_by(batches.c.id)
            .limit(limit)
        )
        with self._tx() as conn:
            return [_batch(row) for row in conn.execute(query)]

    def batch_leaves(self, batch_id: int) -> tuple[bytes, ...]:
        """The leaf hashes of a batch in leaf order (a cut batch never changes)."""
        return self._leaves_cache(batch_id)

    def _load_batch_leaves(self, batch_id: int) -> tuple[bytes, ...]:
        query = (
            sa.select(entries.c.leaf_hash)
            .where(entries.c.batch_id == batch_id)
            .order_by(entries.c.leaf_index)
        )
        with self._tx() as conn:
            return tuple(bytes.fromhex(h) for h in conn.execute(query).scalars())

    def proof(self, stored: StoredEntry) -> tuple[bytes, ...]:
        """The RFC 6962 inclusion proof of a batched entry in its batch."""
        if stored.batch_id is None or stored.leaf_index is None:
            raise EntryError(f"{stored.entry.kind} {stored.entry.record_id} is not batched yet")
        return self._tree(stored.batch_id).proof(stored.leaf_index)

    def cut_batch(self, lease: Lease, max_leaves: int, now: datetime) -> BatchRecord | None:
        """Fix the oldest pending leaves (at most ``max_leaves``) into a new batch."""
        if max_leaves < 1:
            raise ValueError(f"max_leaves {max_leaves}: must be at least 1")
        with self._tx() as conn:
            self._check_lease(conn, lease)
            rows = conn.execute(
                sa.select(entries.c.id, entries.c.leaf_hash, entries.c.submitted_at)
                .where(entries.c.batch_id.is_(None))
                .order_by(entries.c.id)
                .limit(max_leaves)
            ).all()
            if not rows:
                return None
            leaves = [bytes.fromhex(r.leaf_hash) for r in rows]
            doc = {
                "format": BATCH_FORMAT,
                "size": len(rows),
                "first_entry": rows[0].id,
                "last_entry": rows[-1].id,
                "cut_at": format_instant(now),
            }
            oldest = min(r.submitted_at for r in rows)
            result = conn.execute(
                batches.insert().values(
                    root=merkle_root(leaves).hex(),
                    size=len(rows),
                    metadata=sha256(canonicalize(doc)).hex(),
                    metadata_doc=json.dumps(doc, sort_keys=True),
                    status=BatchStatus.CUT.value,
                    created_at=_to_db(now),
                    oldest_submitted_at=oldest,
                    recovered=False,
                )
            )
            pk = result.inserted_primary_key
            assert pk is not None
            batch_id = int(pk[0])
            conn.execute(
                entries.update()
                .where(entries.c.id == sa.bindparam("entry_id"))
                .values(batch_id=batch_id, leaf_index=sa.bindparam("index")),
                [{"entry_id": r.id, "index": i} for i, r in enumerate(rows)],
            )
            row = conn.execute(sa.select(batches).where(batches.c.id == batch_id)).one()
        return _batch(row)

    def mark_sent(self, lease: Lease, batch_id: int, tx: SentTx, now: datetime) -> BatchRecord:
        return self._move(
            lease,
            batch_id,
            {BatchStatus.CUT, BatchStatus.SENT},
            status=BatchStatus.SENT.value,
            chain_id=tx.chain_id,
            contract=tx.contract,
            sender=tx.sender,
            tx_hash=tx.tx_hash,
            nonce=tx.nonce,
            raw_tx=tx.raw.hex(),
            gas_limit=tx.gas_limit,
            max_fee_per_gas=tx.max_fee_per_gas,
            max_priority_fee_per_gas=tx.max_priority_fee_per_gas,
            sent_at=_to_db(now),
        )

    def mark_included(
        self, lease: Lease, batch_id: int, inclusion: Inclusion, *, recovered: bool = False
    ) -> BatchRecord:
        values: dict[str, Any] = {
            "status": BatchStatus.INCLUDED.value,
            "chain_id": inclusion.chain_id,
            "contract": inclusion.contract,
            "block_number": inclusion.block_number,
            "block_hash": inclusion.block_hash,
            "block_time": _to_db(inclusion.block_time),
            "recovered": recovered,
        }
        if inclusion.tx_hash is not None:
            values["tx_hash"] = inclusion.tx_hash
        return self._move(
            lease, batch_id, {BatchStatus.CUT, BatchStatus.SENT, BatchStatus.INCLUDED}, **values
        )

    def mark_confirmed(self, lease: Lease, batch_id: int, now: datetime) -> BatchRecord:
        return self._move(
            lease,
            batch_id,
            {BatchStatus.INCLUDED},
            status=BatchStatus.CONFIRMED.value,
            confirmed_at=_to_db(now),
        )

    def mark_reorged(self, lease: Lease, batch_id: int) -> BatchRecord:
        """The including block is gone: back to SENT (keep the tx to re-broadcast)."""
        return self._move(
            lease,
            batch_id,
            {BatchStatus.INCLUDED},
            status=BatchStatus.SENT.value,
            block_number=None,
            block_hash=None,
            block_time=None,
            recovered=False,
        )

    def mark_unsent(self, lease: Lease, batch_id: int) -> BatchRecord:
        """The recorded transaction can never be mined (nonce used elsewhere): start over."""
        return self._move(
            lease,
            batch_id,
            {BatchStatus.SENT},
            status=BatchStatus.CUT.value,
            tx_hash=None,
            nonce=None,
            raw_tx=None,
            gas_limit=None,
            max_fee_per_gas=None,
            max_priority_fee_per_gas=None,
            sent_at=None,
        )

    def _move(
        self, lease: Lease, batch_id: int, allowed: set[BatchStatus], **values: Any
    ) -> BatchRecord:
        with self._tx() as conn:
            self._check_lease(conn, lease)
            row = conn.execute(
                sa.select(batches).where(batches.c.id == batch_id).with_for_update()
            ).first()
            if row is None:
                raise EntryError(f"batch {batch_id} does not exist")
            if BatchStatus(row.status) not in allowed:
                raise EntryError(
                    f"batch {batch_id} is {row.status}; expected one of "
                    f"{sorted(s.value for s in allowed)}"
                )
            conn.execute(batches.update().where(batches.c.id == batch_id).values(**values))
            row = conn.execute(sa.select(batches).where(batches.c.id == batch_id)).one()
        return _batch(row)

    # the lease ----------------------------------------------------------------------

    def acquire_lease(
        self, holder: str, ttl_s: float, now: datetime, name: str = ANCHOR_LEASE
    ) -> Lease | None:
        """Take or renew the lease; None while another holder's lease is unexpired.

        A takeover increments the fencing token, so the previous holder's next
        fenced write fails with ``LeaseLost``.
        """
        expires = _to_db(now + timedelta(seconds=ttl_s))
        try:
            with self._tx() as conn:
                row = conn.execute(
                    sa.select(leases).where(leases.c.name == name).with_for_update()
                ).first()
                if row is None:
                    token = 1
                    conn.execute(
                        leases.insert().values(
                            name=name, holder=holder, token=token, expires_at=expires
                        )
                    )
                elif row.holder == holder:
                    token = int(row.token)
                    conn.execute(
                        leases.update().where(leases.c.name == name).values(expires_at=expires)
                    )
                elif _aware(row.expires_at) <= now:
                    token = int(row.token) + 1
                    conn.execute(
                        leases.update()
                        .where(leases.c.name == name)
                        .values(holder=holder, token=token, expires_at=expires)
                    )
                else:
                    return None
        except sa_exc.IntegrityError:
            return None  # another worker created the lease row first
        return Lease(name=name, holder=holder, token=token, expires_at=_aware(expires))

    def release_lease(self, lease: Lease) -> None:
        """Give the lease up at once (a clean shutdown), if still ours."""
        with self._tx() as conn:
            conn.execute(
                leases.update()
                .where(
                    leases.c.name == lease.name,
                    leases.c.holder == lease.holder,
                    leases.c.token == lease.token,
                )
                .values(expires_at=datetime(1970, 1, 1))
            )

    @staticmethod
    def _check_lease(conn: Connection, lease: Lease) -> None:
        row = conn.execute(
            sa.select(leases).where(leases.c.name == lease.name).with_for_update()
        ).first()
        if row is None or row.holder != lease.holder or int(row.token) != lease.token:
            holder = "nobody" if row is None else f"{row.holder} (token {row.token})"
            raise LeaseLost(
                f"lease {lease.name!r} token {lease.token} of {lease.holder} was taken over "
                f"by {holder}; this worker stops anchoring until it wins the lease again"
            )


def _same_or_conflict(row: sa.Row[Any], digest: bytes) -> StoredEntry:
    if row.record_digest != digest.hex():
        raise EntryError(
            f"{row.kind} {row.record_id} was already submitted with digest "
            f"{row.record_digest}, not {digest.hex()}; records are immutable, "
            "submit a changed record under a new record_id"
        )
    return _stored(row)


def _stored(row: sa.Row[Any]) -> StoredEntry:
    return StoredEntry(
        id=row.id,
        entry=Entry.from_json(json.loads(row.leaf_data)),
        leaf_hash=bytes.fromhex(row.leaf_hash),
        submitted_at=_aware(row.submitted_at),
        batch_id=row.batch_id,
        leaf_index=row.leaf_index,
    )


def _batch(row: sa.Row[Any]) -> BatchRecord:
    data = row._asdict()
    data["root"] = bytes.fromhex(data["root"])
    data["metadata"] = bytes.fromhex(data["metadata"])
    data["metadata_doc"] = json.loads(data["metadata_doc"])
    data["raw_tx"] = None if data["raw_tx"] is None else bytes.fromhex(data["raw_tx"])
    for name in ("created_at", "oldest_submitted_at", "sent_at", "block_time", "confirmed_at"):
        data[name] = _from_db(data[name])
    return BatchRecord.model_validate(data)


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" hook issue BEGIN IMMEDIATE instead of pysqlite's BEGIN.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
    finally:
        cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")
