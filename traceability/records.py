"""The records store: products, lots, units, captured EPCIS events and anchored batches.

SQLAlchemy Core 2 over any URL; SQLite (``sqlite:///path``) is the default and the SQL
stays portable to PostgreSQL (no SQLite-only statements outside the connect hook).
Tables are created on open. Times are stored as naive UTC and returned aware (UTC),
because SQLite has no timezone-aware column type.

Thread safety: one ``RecordStore`` is shared by the web app and the anchoring loop.
Every call opens its own pooled connection and transaction. On SQLite all calls also
take one process-wide lock: a deferred SQLite transaction that upgrades from read to
write can fail with "database is locked" immediately (the busy timeout does not apply),
and an in-memory database has a single connection that must not be used concurrently.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

from ledger.anchor import AnchorReceipt
from traceability import migrate
from traceability.entities import (
    Batch,
    BatchLeaf,
    EpcLink,
    LastLocation,
    Lot,
    NewEvent,
    Product,
    StoredEvent,
    StoreResult,
)
from traceability.errors import RecordConflict, RecordNotFound, StoreUnavailable
from traceability.gs1 import Gtin, LotNumber, SerialNumber, check_digit
from traceability.schema import (
    batches,
    event_epcs,
    events,
    logistic_units,
    lots,
    products,
    shipments,
    units,
)

DEFAULT_URL = "sqlite:///tracehub-records.db"

__all__ = [
    "DEFAULT_URL",
    "Batch",
    "BatchLeaf",
    "EpcLink",
    "LastLocation",
    "Lot",
    "NewEvent",
    "Product",
    "RecordStore",
    "StoreResult",
    "StoredEvent",
]


def _to_db(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("records store needs aware datetimes; attach a timezone")
    return moment.astimezone(UTC).replace(tzinfo=None)


def _from_db(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC)


def _now() -> datetime:
    return datetime.now(UTC)


class RecordStore:
    """The records database. Build with ``RecordStore.open(url)``; ``close()`` when done."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._sqlite = engine.dialect.name == "sqlite"
        self._lock: contextlib.AbstractContextManager[Any] = (
            threading.RLock() if self._sqlite else contextlib.nullcontext()
        )
        with self._tx() as conn:
            migrate.upgrade(conn)

    @classmethod
    def open(cls, url: str = DEFAULT_URL) -> RecordStore:
        """Open (and create the tables of) the database at ``url``."""
        try:
            sa_url = sa.make_url(url)
        except sa_exc.ArgumentError as exc:
            raise StoreUnavailable(
                f"records URL {url!r} is not a database URL; use e.g. 'sqlite:///records.db'"
            ) from exc
        kwargs: dict[str, Any] = {}
        if sa_url.get_backend_name() == "sqlite":
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            if sa_url.database in (None, "", ":memory:"):
                kwargs["poolclass"] = StaticPool
        try:
            engine = sa.create_engine(sa_url, **kwargs)
        except (sa_exc.ArgumentError, ImportError) as exc:
            raise StoreUnavailable(f"records URL {url!r}: {exc}") from exc
        if sa_url.get_backend_name() == "sqlite":
            sa.event.listen(engine, "connect", _sqlite_pragmas)
        return cls(engine)

    def close(self) -> None:
        self._engine.dispose()

    @contextlib.contextmanager
    def _tx(self) -> Iterator[Connection]:
        with self._lock:
            try:
                with self._engine.begin() as conn:
                    yield conn
            except sa_exc.IntegrityError:
                raise  # callers turn these into RecordConflict with context
            except sa_exc.DBAPIError as exc:
                raise StoreUnavailable(
                    f"records database {self._engine.url!r} failed: {exc.orig}; "
                    "check that it is reachable and writable"
                ) from exc

    # products and lots -------------------------------------------------------------

    def add_product(
        self,
        gtin: Gtin | str,
        name: str,
        temp_min_c: float | None = None,
        temp_max_c: float | None = None,
        *,
        excursion_budget_min: float | None = None,
        mkt_limit_c: float | None = None,
        shelf_life_days: int | None = None,
    ) -> Product:
        """Add a product; adding the identical product again is a no-op."""
        product = Product(
            gtin=_gtin(gtin),
            name=name,
            temp_min_c=temp_min_c,
            temp_max_c=temp_max_c,
            excursion_budget_min=excursion_budget_min,
            mkt_limit_c=mkt_limit_c,
            shelf_life_days=shelf_life_days,
        )
        if temp_min_c is not None and temp_max_c is not None and temp_min_c > temp_max_c:
            raise RecordConflict(
                f"product {product.gtin}: temp_min_c {temp_min_c} is above temp_max_c "
                f"{temp_max_c}; swap them"
            )
        with self._tx() as conn:
            existing = self._product(conn, product.gtin)
            if existing is None:
                conn.execute(products.insert().values(**product.model_dump()))
            elif existing != product:
                raise RecordConflict(
                    f"product {product.gtin} already exists with different details "
                    f"({existing.name!r}); products are not edited through add_product"
                )
        return product

    def get_product(self, gtin: Gtin | str) -> Product | None:
        with self._tx() as conn:
            return self._product(conn, _gtin(gtin))

    @staticmethod
    def _product(conn: Connection, gtin: str) -> Product | None:
        row = conn.execute(sa.select(products).where(products.c.gtin == gtin)).first()
        return None if row is None else Product.model_validate(row._asdict())

    def add_lot(
        self,
        gtin: Gtin | str,
        lot: str,
        *,
        expiry: date | None = None,
        origin: str | None = None,
        quantity: int | None = None,
        serials: Iterable[str | int] = (),
        production_date: date | None = None,
    ) -> Lot:
        """Add a lot of a known product and register its serialised units.

        ``serials`` may be any iterable, e.g. ``range(1001, 1101)``. A serial already
        registered in another lot is a ``RecordConflict``.
        """
        record = Lot(
            gtin=_gtin(gtin),
            lot=LotNumber.parse(lot).value,
            expiry=expiry,
            origin=origin,
            quantity=quantity,
            production_date=production_date,
        )
        serial_values = [SerialNumber.parse(str(s)).value for s in serials]
        with self._tx() as conn:
            if self._product(conn, record.gtin) is None:
                raise RecordNotFound(
                    f"product {record.gtin} is unknown; add_product it before its lots"
                )
            existing = self._lot(conn, record.gtin, record.lot)
            if existing is None:
                conn.execute(lots.insert().values(**record.model_dump()))
            elif existing != record:
                raise RecordConflict(
                    f"lot {record.lot} of {record.gtin} already exists with different details"
                )
            if serial_values:
                taken = {
                    row.serial: row.lot
                    for row in conn.execute(
                        sa.select(units.c.serial, units.c.lot).where(
                            units.c.gtin == record.gtin, units.c.serial.in_(serial_values)
                        )
                    )
                }
                clash = sorted(s for s, owner in taken.items() if owner != record.lot)
                if clash:
                    raise RecordConflict(
                        f"serial {clash[0]} of {record.gtin} already belongs to lot "
                        f"{taken[clash[0]]}; a unit can be in one lot only"
                    )
                new = [s for s in dict.fromkeys(serial_values) if s not in taken]
                if new:
                    conn.execute(
                        units.insert(),
                        [{"gtin": record.gtin, "serial": s, "lot": record.lot} for s in new],
                    )
        return record

    def import_rows(self, kind: str, rows: Sequence[dict[str, Any]]) -> None:
        """Insert validated import rows in ONE transaction (see traceability.importer).

        A row identical to a stored record is skipped; a different one is a
        ``RecordConflict`` naming its row, and nothing of the file is kept.
        """
        from traceability.importer import serial_list

        with self._tx() as conn:
            for number, row in enumerate(rows, start=1):
                if kind == "products":
                    existing = self._product(conn, row["gtin"])
                    if existing is None:
                        conn.execute(products.insert().values(**row))
                    elif existing.model_dump() != Product(**row).model_dump():
                        raise RecordConflict(
                            f"row {number}: product {row['gtin']} exists with other details"
                        )
                elif kind == "lots":
                    if self._product(conn, row["gtin"]) is None:
                        raise RecordNotFound(
                            f"row {number}, gtin: product {row['gtin']} is unknown; "
                            "import products first"
                        )
                    serials = serial_list(row.pop("serials") or "")
                    existing_lot = self._lot(conn, row["gtin"], row["lot"])
                    if existing_lot is None:
                        conn.execute(lots.insert().values(**row))
                    elif existing_lot != Lot(**row):
                        raise RecordConflict(
                            f"row {number}: lot {row['lot']} of {row['gtin']} exists with "
                            "other details"
                        )
                    if serials:
                        taken = set(
                            conn.execute(
                                sa.select(units.c.serial).where(
                                    units.c.gtin == row["gtin"], units.c.serial.in_(serials)
                                )
                            ).scalars()
                        )
                        new = [s for s in dict.fromkeys(serials) if s not in taken]
                        if new:
                            conn.execute(
                                units.insert(),
                                [
                                    {"gtin": row["gtin"], "serial": s, "lot": row["lot"]}
                                    for s in new
                                ],
                            )
                elif kind == "shipments":
                    found = conn.execute(
                        sa.select(shipments.c.id).where(shipments.c.id == row["id"])
                    ).first()
                    if found is None:
                        conn.execute(shipments.insert().values(**row))
                else:
                    raise ValueError(f"kind {kind!r}: use products, lots or shipments")

    def get_lot(self, gtin: Gtin | str, lot: str) -> Lot | None:
        with self._tx() as conn:
            return self._lot(conn, _gtin(gtin), lot)

    @staticmethod
    def _lot(conn: Connection, gtin: str, lot: str) -> Lot | None:
        row = conn.execute(sa.select(lots).where(lots.c.gtin == gtin, lots.c.lot == lot)).first()
        return None if row is None else Lot.model_validate(row._asdict())

    def add_logistic_unit(self, sscc: str, kind: str, description: str | None = None) -> str:
        """Register a logistic unit (pallet, container) by SSCC digits or EPC URN."""
        digits = _sscc_digits(sscc) if not sscc.isdigit() else sscc
        if digits is None or len(digits) != 18 or int(digits[-1]) != check_digit(digits[:17]):
            raise RecordConflict(
                f"sscc {sscc!r}: give 18 digits with a valid check digit or an SSCC EPC URN"
            )
        with self._tx() as conn:
            exists = conn.execute(
                sa.select(logistic_units.c.sscc).where(logistic_units.c.sscc == digits)
            ).first()
            if exists is None:
                conn.execute(
                    logistic_units.insert().values(sscc=digits, kind=kind, description=description)
                )
        return digits

    def lot_of_unit(self, gtin: Gtin | str, serial: str) -> str | None:
        """The lot a serialised unit belongs to, or None for an unknown unit."""
        with self._tx() as conn:
            value = conn.execute(
                sa.select(units.c.lot).where(units.c.gtin == _gtin(gtin), units.c.serial == serial)
            ).scalar_one_or_none()
        return None if value is None else str(value)

    # events ------------------------------------------------------------------------

    def store_event(self, event: NewEvent) -> StoreResult:
        """Store an event once; storing the same id again returns ``created=False``."""
        return self.store_events([event])[0]

    def store_events(self, new_events: Sequence[NewEvent]) -> list[StoreResult]:
        """Store events in one transaction (all or none); known ids are skipped.

        An id repeated within ``new_events`` is stored once (later copies report
        ``created=False``).
        """
        if not new_events:
            return []
        now = _to_db(_now())
        try:
            with self._tx() as conn:
                return self._insert_events(conn, new_events, now)
        except sa_exc.IntegrityError as exc:
            # Another process stored one of the ids between our check and insert
            # (PostgreSQL); a retry sees it as known and skips it.
            try:
                with self._tx() as conn:
                    return self._insert_events(conn, new_events, now)
            except sa_exc.IntegrityError:
                raise RecordConflict(f"events could not be stored: {exc.orig}") from exc

    def _insert_events(
        self, conn: Connection, new_events: Sequence[NewEvent], now: datetime
    ) -> list[StoreResult]:
        ids = list(dict.fromkeys(e.id for e in new_events))
        known: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            known.update(
                conn.execute(sa.select(events.c.id).where(events.c.id.in_(chunk))).scalars()
            )
        rows: list[dict[str, Any]] = []
        links: list[dict[str, Any]] = []
        results: list[StoreResult] = []
        for event in new_events:
            if event.id in known:
                results.append(StoreResult(event_id=event.id, created=False))
                continue
            known.add(event.id)
            rows.append(
                {
                    "id": event.id,
                    "event_time": _to_db(event.event_time),
                    "type": event.type,
                    "biz_step": event.biz_step,
                    "read_point": event.read_point,
                    "biz_location": event.biz_location,
                    "body": event.body,
                    "captured_at": now,
                    "action": event.action,
                    "disposition": event.disposition,
                }
            )
            links.extend({"event_id": event.id, **link.model_dump()} for link in event.epcs)
            results.append(StoreResult(event_id=event.id, created=True))
        if rows:
            conn.execute(events.insert(), rows)
        if links:
            conn.execute(event_epcs.insert(), links)
        return results

    def knows_object(self, epc: str) -> bool:
        """Whether ``epc`` is a registered logistic unit or was named by a stored event."""
        sscc = _sscc_digits(epc)
        with self._tx() as conn:
            if (
                sscc
                and conn.execute(
                    sa.select(logistic_units.c.sscc).where(logistic_units.c.sscc == sscc)
                ).first()
            ):
                return True
            found = conn.execute(
                sa.select(event_epcs.c.event_id).where(event_epcs.c.epc == epc).limit(1)
            ).first()
        return found is not None

    @staticmethod
    def _has_event(conn: Connection, event_id: str) -> bool:
        found = conn.execute(sa.select(events.c.id).where(events.c.id == event_id)).first()
        return found is not None

    def get_event(self, event_id: str) -> StoredEvent | None:
        with self._tx() as conn:
            row = conn.execute(sa.select(events).where(events.c.id == event_id)).first()
        return None if row is None else _stored(row)

    def events_for_lot(self, gtin: Gtin | str, lot: str) -> list[StoredEvent]:
        """Every event naming a unit of the lot, oldest first (ties by id)."""
        ids = (
            sa.select(event_epcs.c.event_id)
            .where(event_epcs.c.gtin == _gtin(gtin), event_epcs.c.lot == lot)
            .distinct()
        )
        query = (
            sa.select(events).where(events.c.id.in_(ids)).order_by(events.c.event_time, events.c.id)
        )
        with self._tx() as conn:
            return [_stored(row) for row in conn.execute(query)]

    def epcs_of_lot(self, gtin: Gtin | str, lot: str) -> list[str]:
        """Every EPC (unit or lot class) stored events linked to the lot."""
        query = (
            sa.select(event_epcs.c.epc)
            .where(event_epcs.c.gtin == _gtin(gtin), event_epcs.c.lot == lot)
            .distinct()
        )
        with self._tx() as conn:
            return sorted(conn.execute(query).scalars())

    def events_naming(self, epcs: Iterable[str]) -> list[tuple[StoredEvent, str, str]]:
        """``(event, epc, role)`` for every stored event naming one of ``epcs``, by time."""
        wanted = list(dict.fromkeys(epcs))
        found: list[tuple[StoredEvent, str, str]] = []
        with self._tx() as conn:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                query = (
                    sa.select(events, event_epcs.c.epc.label("named_epc"), event_epcs.c.role)
                    .join(event_epcs, event_epcs.c.event_id == events.c.id)
                    .where(event_epcs.c.epc.in_(chunk))
                )
                for row in conn.execute(query):
                    data = row._asdict()
                    epc, role = data.pop("named_epc"), data.pop("role")
                    found.append((_stored_dict(data), epc, role))
        found.sort(key=lambda item: (item[0].event_time, item[0].id))
        return found

    def lot_link(self, epc: str) -> tuple[str, str] | None:
        """The (gtin, lot) stored events linked ``epc`` to, if any."""
        query = (
            sa.select(event_epcs.c.gtin, event_epcs.c.lot)
            .where(event_epcs.c.epc == epc, event_epcs.c.lot.is_not(None))
            .limit(1)
        )
        with self._tx() as conn:
            row = conn.execute(query).first()
        return None if row is None else (str(row.gtin), str(row.lot))

    def children_ever(self, parent: str) -> list[tuple[str, str]]:
        """``(child, event_id)`` for every object ever packed into ``parent``."""
        packing = (
            sa.select(event_epcs.c.event_id)
            .where(event_epcs.c.epc == parent, event_epcs.c.role == "parent")
            .scalar_subquery()
        )
        query = sa.select(event_epcs.c.epc, event_epcs.c.event_id).where(
            event_epcs.c.event_id.in_(packing), event_epcs.c.role == "child"
        )
        with self._tx() as conn:
            return [(str(r.epc), str(r.event_id)) for r in conn.execute(query)]

    def events_at(
        self, location: str, start: datetime | None = None, end: datetime | None = None
    ) -> list[StoredEvent]:
        """Events whose bizLocation or readPoint is ``location``, in [start, end], by time."""
        where = sa.or_(events.c.biz_location == location, events.c.read_point == location)
        query = sa.select(events).where(where)
        if start is not None:
            query = query.where(events.c.event_time >= _to_db(start))
        if end is not None:
            query = query.where(events.c.event_time <= _to_db(end))
        with self._tx() as conn:
            rows = conn.execute(query.order_by(events.c.event_time, events.c.id))
            return [_stored(row) for row in rows]

    def query_events(
        self,
        *,
        epc: str | None = None,
        gtin: str | None = None,
        lot: str | None = None,
        location: str | None = None,
        biz_step: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 1000,
    ) -> list[StoredEvent]:
        """Events matching every given filter, oldest first (the EPCIS query API)."""
        query = sa.select(events)
        if epc is not None or gtin is not None or lot is not None:
            ids = sa.select(event_epcs.c.event_id)
            if epc is not None:
                ids = ids.where(event_epcs.c.epc == epc)
            if gtin is not None:
                ids = ids.where(event_epcs.c.gtin == _gtin(gtin))
            if lot is not None:
                ids = ids.where(event_epcs.c.lot == lot)
            query = query.where(events.c.id.in_(ids))
        if location is not None:
            query = query.where(
                sa.or_(events.c.biz_location == location, events.c.read_point == location)
            )
        if biz_step is not None:
            query = query.where(events.c.biz_step == biz_step)
        if start is not None:
            query = query.where(events.c.event_time >= _to_db(start))
        if end is not None:
            query = query.where(events.c.event_time <= _to_db(end))
        query = query.order_by(events.c.event_time, events.c.id).limit(limit)
        with self._tx() as conn:
            return [_stored(row) for row in conn.execute(query)]

    def lots(self, gtin: Gtin | str | None = None) -> list[Lot]:
        """Lots (of one product), first expiry first (FEFO); lots without expiry last."""
        query = sa.select(lots)
        if gtin is not None:
            query = query.where(lots.c.gtin == _gtin(gtin))
        with self._tx() as conn:
            found = [Lot.model_validate(row._asdict()) for row in conn.execute(query)]
        return sorted(found, key=lambda x: (x.expiry is None, x.expiry or date.max, x.gtin, x.lot))

    def last_location(self, gtin: Gtin | str, lot: str) -> LastLocation | None:
        """Where the lot was last seen: the latest event's bizLocation, else its readPoint."""
        for event in reversed(self.events_for_lot(gtin, lot)):
            where = event.biz_location or event.read_point
            if where:
                return LastLocation(location=where, event_time=event.event_time, event_id=event.id)
        return None

    def pending_events(self, limit: int) -> list[StoredEvent]:
        """Events not yet in a batch, in capture order (ties by id).

        Capture order, not event time: a late-arriving event with an old timestamp joins
        the end of the queue, so a retried batch holds the same events as the first try.
        """
        if limit < 1:
            raise ValueError(f"limit {limit}: must be at least 1")
        query = (
            sa.select(events)
            .where(events.c.batch_id.is_(None))
            .order_by(events.c.captured_at, events.c.id)
            .limit(limit)
        )
        with self._tx() as conn:
            return [_stored(row) for row in conn.execute(query)]

    # batches -----------------------------------------------------------------------

    def record_batch(
        self, receipt: AnchorReceipt, leaves: Sequence[tuple[str, int, bytes]]
    ) -> Batch:
        """Record an anchored batch and assign each ``(event_id, leaf_index, leaf_hash)``.

        All or nothing: an event that is unknown or already in a batch aborts the whole
        record with ``RecordConflict``.
        """
        if len(leaves) != receipt.size:
            raise RecordConflict(
                f"batch {receipt.root.hex()}: receipt size {receipt.size} but "
                f"{len(leaves)} leaves given; record exactly the anchored leaves"
            )
        indexes = sorted(index for _, index, _ in leaves)
        if indexes != list(range(len(leaves))):
            raise RecordConflict(
                f"batch {receipt.root.hex()}: leaf indexes must be 0..{len(leaves) - 1} each once"
            )
        try:
            with self._tx() as conn:
                result = conn.execute(
                    batches.insert().values(
                        root=receipt.root.hex(),
                        size=receipt.size,
                        metadata=receipt.metadata.hex(),
                        chain_id=receipt.chain_id,
                        contract=receipt.contract,
                        tx_hash=receipt.tx_hash,
                        block_number=receipt.block_number,
                        created_at=_to_db(_now()),
                    )
                )
                pk = result.inserted_primary_key
                assert pk is not None  # an INSERT always reports its primary key
                batch_id = int(pk[0])
                for event_id, index, leaf in leaves:
                    updated = conn.execute(
                        events.update()
                        .where(events.c.id == event_id, events.c.batch_id.is_(None))
                        .values(batch_id=batch_id, leaf_index=index, leaf_hash=leaf.hex())
                    )
                    if updated.rowcount != 1:
                        raise RecordConflict(
                            f"event {event_id} is unknown or already anchored; "
                            "build batches from pending_events()"
                        )
                row = conn.execute(sa.select(batches).where(batches.c.id == batch_id)).one()
        except sa_exc.IntegrityError as exc:
            raise RecordConflict(
                f"batch root {receipt.root.hex()} is already recorded: {exc.orig}"
            ) from exc
        return _batch(row)

    def batch(self, batch_id: int) -> Batch | None:
        with self._tx() as conn:
            row = conn.execute(sa.select(batches).where(batches.c.id == batch_id)).first()
        return None if row is None else _batch(row)

    def batch_by_root(self, root: bytes) -> Batch | None:
        with self._tx() as conn:
            row = conn.execute(sa.select(batches).where(batches.c.root == root.hex())).first()
        return None if row is None else _batch(row)

    def batch_leaves(self, batch_id: int) -> list[BatchLeaf]:
        """The recorded leaves of a batch, in leaf order."""
        query = (
            sa.select(events.c.id, events.c.leaf_index, events.c.leaf_hash)
            .where(events.c.batch_id == batch_id)
            .order_by(events.c.leaf_index)
        )
        with self._tx() as conn:
            return [
                BatchLeaf(
                    event_id=row.id,
                    leaf_index=row.leaf_index,
                    leaf_hash=bytes.fromhex(row.leaf_hash),
                )
                for row in conn.execute(query)
            ]

    # ledger mirror (issue #5: the ledger anchors; this shows it on the records) -------

    def mark_anchored(
        self, receipt: AnchorReceipt, leaves: Sequence[tuple[str, int, bytes]]
    ) -> Batch:
        """Mirror a confirmed ledger batch: record it once, mark these events as in it.

        Unlike ``record_batch``, the ledger's batch may also hold other leaves (carbon
        reports, telemetry digests), so ``leaves`` — ``(event_id, leaf_index,
        leaf_hash)`` — may be a subset. Events already in a batch are left alone;
        calling it again is harmless.
        """
        with self._tx() as conn:
            found = conn.execute(
                sa.select(batches.c.id).where(batches.c.root == receipt.root.hex())
            ).first()
            if found is None:
                result = conn.execute(
                    batches.insert().values(
                        root=receipt.root.hex(),
                        size=receipt.size,
                        metadata=receipt.metadata.hex(),
                        chain_id=receipt.chain_id,
                        contract=receipt.contract,
                        tx_hash=receipt.tx_hash,
                        block_number=receipt.block_number,
                        created_at=_to_db(_now()),
                    )
                )
                pk = result.inserted_primary_key
                assert pk is not None  # an INSERT always reports its primary key
                batch_id = int(pk[0])
            else:
                batch_id = int(found.id)
            for event_id, index, leaf in leaves:
                conn.execute(
                    events.update()
                    .where(events.c.id == event_id, events.c.batch_id.is_(None))
                    .values(batch_id=batch_id, leaf_index=index, leaf_hash=leaf.hex())
                )
            row = conn.execute(sa.select(batches).where(batches.c.id == batch_id)).one()
        return _batch(row)


def _sscc_digits(epc: str) -> str | None:
    """The 18-digit SSCC of an SSCC EPC URN or Digital Link, else None."""
    if epc.startswith("urn:epc:id:sscc:"):
        parts = epc[len("urn:epc:id:sscc:") :].split(".")
        if len(parts) == 2 and len(parts[0]) + len(parts[1]) == 17:
            body = parts[1][:1] + parts[0] + parts[1][1:]
            return body + str(check_digit(body))
        return None
    marker = "/00/"
    if epc.startswith(("http://", "https://")) and marker in epc:
        digits = epc.rsplit(marker, 1)[1][:18]
        return digits if len(digits) == 18 and digits.isdigit() else None
    return None


def _gtin(value: Gtin | str) -> str:
    return value.value if isinstance(value, Gtin) else Gtin.parse(value).value


def _stored(row: sa.Row[Any]) -> StoredEvent:
    return _stored_dict(row._asdict())


def _stored_dict(data: dict[str, Any]) -> StoredEvent:
    data["event_time"] = _from_db(data["event_time"])
    data["captured_at"] = _from_db(data["captured_at"])
    data["leaf_hash"] = None if data["leaf_hash"] is None else bytes.fromhex(data["leaf_hash"])
    return StoredEvent.model_validate(data)


def _batch(row: sa.Row[Any]) -> Batch:
    data = row._asdict()
    data["root"] = bytes.fromhex(data["root"])
    data["metadata"] = bytes.fromhex(data["metadata"])
    data["created_at"] = _from_db(data["created_at"])
    return Batch.model_validate(data)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
    finally:
        cursor.close()
