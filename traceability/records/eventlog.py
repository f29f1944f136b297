"""Captured EPCIS events and the EPC links that index them (by unit, lot, role)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

from gs1.identifiers import Gtin
from traceability.errors import RecordConflict
from traceability.records.database import Database, from_db, now_utc, to_db
from traceability.records.database import gtin_digits as _gtin
from traceability.records.entities import (
    INDEXED_COLUMNS,
    EpcLink,
    IndexMismatch,
    LastLocation,
    NewEvent,
    StoredEvent,
    StoreResult,
    as_text,
    event_index,
)
from traceability.records.schema import event_epcs, events

# Runs inside the capture transaction with the newly stored events and their record time.
StoredHook = Callable[[Connection, Sequence[NewEvent], datetime], None]
_TICK = timedelta(microseconds=1)  # the resolution of a stored record time


class EventRecords(Database):
    """The event log: store once by id, query by EPC, lot, location, time."""

    def store_event(self, event: NewEvent) -> StoreResult:
        """Store an event once; storing the same id again returns ``created=False``."""
        return self.store_events([event])[0]

    def store_events(
        self, new_events: Sequence[NewEvent], *, then: StoredHook | None = None
    ) -> list[StoreResult]:
        """Store events in one transaction (all or none); known ids are skipped.

        An id repeated within ``new_events`` is stored once (later copies report
        ``created=False``). ``then(conn, created, captured_at)`` runs in the same
        transaction with the events that were new (the subscription outbox is written
        there, so an event is never stored without its deliveries, nor the reverse).

        Their record time (``captured_at``) is read once the transaction holds the
        write-order lock, and is later than every stored one: record time order is
        commit order, so a reader paging by record time (or polling with
        ``GE_recordTime``) never finds an event committed behind its position.
        """
        if not new_events:
            return []
        try:
            with self._tx(ordered=True) as conn:
                return self._insert_events(conn, new_events, then)
        except sa_exc.IntegrityError as exc:
            # Another writer stored one of the ids between our check and insert; a retry
            # sees it as known and skips it.
            try:
                with self._tx(ordered=True) as conn:
                    return self._insert_events(conn, new_events, then)
            except sa_exc.IntegrityError:
                raise RecordConflict(f"events could not be stored: {exc.orig}") from exc

    def _insert_events(
        self,
        conn: Connection,
        new_events: Sequence[NewEvent],
        then: StoredHook | None,
    ) -> list[StoreResult]:
        now = _record_time(conn)
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
        created: list[NewEvent] = []
        for event in new_events:
            if event.id in known:
                results.append(StoreResult(event_id=event.id, created=False))
                continue
            known.add(event.id)
            created.append(event)
            rows.append(
                {
                    "id": event.id,
                    "event_time": to_db(event.event_time),
                    "type": event.type,
                    "biz_step": event.biz_step,
                    "read_point": event.read_point,
                    "biz_location": event.biz_location,
                    "body": event.body,
                    "captured_at": now,
                    "action": event.action,
                    "disposition": event.disposition,
                    "flags": json.dumps(list(event.flags)) if event.flags else None,
                }
            )
            links.extend({"event_id": event.id, **link.model_dump()} for link in event.epcs)
            results.append(StoreResult(event_id=event.id, created=True))
        if rows:
            conn.execute(events.insert(), rows)
        if links:
            conn.execute(event_epcs.insert(), links)
        if then is not None and created:
            then(conn, created, now)
        return results

    @staticmethod
    def _has_event(conn: Connection, event_id: str) -> bool:
        found = conn.execute(sa.select(events.c.id).where(events.c.id == event_id)).first()
        return found is not None

    def get_event(self, event_id: str) -> StoredEvent | None:
        with self._tx() as conn:
            row = conn.execute(sa.select(events).where(events.c.id == event_id)).first()
        return None if row is None else stored_event(row)

    def events_for_lot(self, gtin: Gtin | str, lot: str) -> list[StoredEvent]:
        """Every event naming a unit of the lot, oldest first (ties by id).

        The EPC links find the candidates; an event is the lot's only if its body
        names one of the linked EPCs in the linked role (a link row added in SQL
        does not pull a foreign event into the lot). Time order is the bodies'.
        """
        linked = sa.select(event_epcs.c.event_id, event_epcs.c.epc, event_epcs.c.role).where(
            event_epcs.c.gtin == _gtin(gtin), event_epcs.c.lot == lot
        )
        ids = sa.select(linked.subquery().c.event_id).distinct()
        query = sa.select(events).where(events.c.id.in_(ids))
        with self._tx() as conn:
            links: dict[str, list[tuple[str, str]]] = defaultdict(list)
            for row in conn.execute(linked):
                links[row.event_id].append((row.epc, row.role))
            found = [stored_event(row) for row in conn.execute(query)]
        kept = [e for e in found if _names_any(e, links[e.id])]
        return sorted(kept, key=lambda e: (e.event_time, e.id))

    def event_links(self, event_ids: Sequence[str]) -> dict[str, list[EpcLink]]:
        """The EPC link rows of each event (for ``verify`` to hold them against bodies)."""
        found: dict[str, list[EpcLink]] = {event_id: [] for event_id in event_ids}
        with self._tx() as conn:
            for start in range(0, len(event_ids), 500):
                chunk = list(event_ids[start : start + 500])
                query = sa.select(event_epcs).where(event_epcs.c.event_id.in_(chunk))
                for row in conn.execute(query):
                    data = row._asdict()
                    found[data.pop("event_id")].append(EpcLink.model_validate(data))
        return found

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
        """``(event, epc, role)`` for every stored event naming one of ``epcs``, by time.

        Only what the bodies say: a link row whose event body does not name the EPC in
        that role is skipped, and the time order is the bodies'.
        """
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
                    event = _stored_dict(data)
                    if backed(event, epc, role):  # a link row the body denies is no fact
                        found.append((event, epc, role))
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
            query = query.where(events.c.event_time >= to_db(start))
        if end is not None:
            query = query.where(events.c.event_time <= to_db(end))
        with self._tx() as conn:
            rows = conn.execute(query.order_by(events.c.event_time, events.c.id))
            found = [stored_event(row) for row in rows]
        return _by_body(found, location=location, start=start, end=end)

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
            query = query.where(events.c.event_time >= to_db(start))
        if end is not None:
            query = query.where(events.c.event_time <= to_db(end))
        query = query.order_by(events.c.event_time, events.c.id).limit(limit)
        with self._tx() as conn:
            found = [stored_event(row) for row in conn.execute(query)]
        found = _by_body(found, location=location, start=start, end=end)
        return [e for e in found if biz_step is None or e.biz_step == biz_step]

    def last_location(self, gtin: Gtin | str, lot: str) -> LastLocation | None:
        """Where the lot was last seen: the latest event's bizLocation, else its readPoint."""
        for event in reversed(self.events_for_lot(gtin, lot)):
            where = event.biz_location or event.read_point
            if where:
                return LastLocation(location=where, event_time=event.event_time, event_id=event.id)
        return None

    def pending_events(
        self, limit: int, after: tuple[datetime, str] | None = None
    ) -> list[StoredEvent]:
        """Events not yet in a batch, in capture order (ties by id); ``after`` a
        ``(captured_at, id)`` of the previous page.

        Capture order, not event time: a late-arriving event with an old timestamp joins
        the end of the queue, so a retried batch holds the same events as the first try.
        """
        if limit < 1:
            raise ValueError(f"limit {limit}: must be at least 1")
        query = sa.select(events).where(events.c.batch_id.is_(None))
        if after is not None:
            moment, last = to_db(after[0]), after[1]
            query = query.where(
                sa.or_(
                    events.c.captured_at > moment,
                    sa.and_(events.c.captured_at == moment, events.c.id > last),
                )
            )
        query = query.order_by(events.c.captured_at, events.c.id).limit(limit)
        with self._tx() as conn:
            return [stored_event(row) for row in conn.execute(query)]


def _record_time(conn: Connection) -> datetime:
    """The record time of a capture in ``conn`` (naive UTC, as stored): the clock, or
    just after the latest stored record time when the clock is not past it (a step back
    of the wall clock, or two captures within one microsecond), so it is strictly
    later than every committed one. ``conn`` holds the write-order lock."""
    clock = to_db(now_utc())
    latest: datetime | None = conn.execute(sa.select(sa.func.max(events.c.captured_at))).scalar()
    if latest is not None and clock <= latest:
        return latest + _TICK
    return clock


def stored_event(row: sa.Row[Any]) -> StoredEvent:
    return _stored_dict(row._asdict())


def _stored_dict(data: dict[str, Any]) -> StoredEvent:
    """A row as a ``StoredEvent`` whose indexed fields are its body's.

    The columns are compared with what the body says; each one that differs is kept in
    ``mismatches`` (``tracehub verify`` names it) and the body's value is used. A body
    that is not JSON keeps the columns and is itself the mismatch (its ledger digest
    check fails too).
    """
    data["event_time"] = from_db(data["event_time"])
    data["captured_at"] = from_db(data["captured_at"])
    data["leaf_hash"] = None if data["leaf_hash"] is None else bytes.fromhex(data["leaf_hash"])
    flags = data.get("flags")
    data["flags"] = tuple(json.loads(flags)) if flags else ()
    try:
        document = json.loads(data["body"])
        truth = event_index(document)
    except (ValueError, TypeError, AttributeError) as exc:
        data["mismatches"] = (IndexMismatch(column="body", stored=None, body=f"unreadable: {exc}"),)
        return StoredEvent.model_validate(data)
    mismatches = [
        IndexMismatch(column=name, stored=as_text(data[name]), body=as_text(truth[name]))
        for name in INDEXED_COLUMNS
        if data[name] != truth[name]
    ]
    data.update(truth)
    data["mismatches"] = tuple(mismatches)
    event = StoredEvent.model_validate(data)
    event._document = document  # parsed once here, not again per document() call
    return event


def _by_body(
    found: list[StoredEvent],
    *,
    location: str | None,
    start: datetime | None,
    end: datetime | None,
) -> list[StoredEvent]:
    """The candidates the columns found that the bodies agree with, in body time order."""
    kept = [
        e
        for e in found
        if (location is None or location in (e.biz_location, e.read_point))
        and (start is None or e.event_time >= start)
        and (end is None or e.event_time <= end)
    ]
    if any(e.mismatches for e in found):
        kept.sort(key=lambda e: (e.event_time, e.id))
    return kept


def _names_any(event: StoredEvent, links: list[tuple[str, str]]) -> bool:
    roles = event.roles()
    return any(roles.get(epc) == role for epc, role in links)


def backed(event: StoredEvent, epc: str, role: str) -> bool:
    """Whether ``event``'s body names ``epc`` in ``role`` (an EPC link row is a cache)."""
    return event.roles().get(epc) == role
