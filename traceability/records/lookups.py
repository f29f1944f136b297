"""What capture looks up about a whole document at once: the lots of its units, which of
its lots, objects and places the records know (its warnings: ``traceability.capturerules``).

Each lookup is one transaction and a query per 500 keys, never a query per event: a
document of 1,000 events costs a handful of round trips.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import sqlalchemy as sa

from traceability.records.database import Database, to_db
from traceability.records.entities import StoredEvent
from traceability.records.eventlog import stored_event
from traceability.records.logisticunits import sscc_digits
from traceability.records.schema import event_epcs, events, locations, logistic_units, lots, units


class CaptureLookups(Database):
    """Batch lookups of units, lots, objects and locations (``RecordStore`` mixin)."""

    def lots_of_units(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """``{(gtin14, serial): lot}`` for the known units among ``keys``, in one transaction.

        One query per GTIN and 500 serials: a document of 100 events costs one round
        trip instead of 100.
        """
        by_gtin: dict[str, list[str]] = {}
        for gtin, serial in dict.fromkeys(keys):
            by_gtin.setdefault(gtin, []).append(serial)
        found: dict[tuple[str, str], str] = {}
        if not by_gtin:
            return found
        with self._tx() as conn:
            for gtin, serials in by_gtin.items():
                for start in range(0, len(serials), 500):
                    query = sa.select(units.c.serial, units.c.lot).where(
                        units.c.gtin == gtin, units.c.serial.in_(serials[start : start + 500])
                    )
                    for row in conn.execute(query):
                        found[(gtin, str(row.serial))] = str(row.lot)
        return found

    def known_lots(self, keys: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """Those ``(gtin14, lot)`` of ``keys`` the records hold, one query per GTIN."""
        by_gtin: dict[str, list[str]] = {}
        for gtin, lot in dict.fromkeys(keys):
            by_gtin.setdefault(gtin, []).append(lot)
        found: set[tuple[str, str]] = set()
        if not by_gtin:
            return found
        with self._tx() as conn:
            for gtin, names in by_gtin.items():
                for start in range(0, len(names), 500):
                    query = sa.select(lots.c.lot).where(
                        lots.c.gtin == gtin, lots.c.lot.in_(names[start : start + 500])
                    )
                    found.update((gtin, str(lot)) for lot in conn.execute(query).scalars())
        return found

    def first_events_of_lots(
        self,
        keys: Iterable[tuple[str, str]],
        *,
        until: datetime | None,
        biz_steps: Sequence[str],
        outputs_of: Sequence[str],
        per_lot: int,
    ) -> list[StoredEvent]:
        """The oldest ``per_lot`` events (at or before ``until``) of each ``(gtin14, lot)``
        of ``keys`` that have one of ``biz_steps`` or are of a type in ``outputs_of``
        naming the lot as an output; oldest first, one query per GTIN and 500 lots
        (the FSMA export's TLC sources: where each lot was assigned).

        The columns narrow, the caller decides on the bodies (``StoredEvent`` holds them).
        """
        by_gtin: dict[str, list[str]] = {}
        for gtin, lot in dict.fromkeys(keys):
            by_gtin.setdefault(gtin, []).append(lot)
        found: dict[str, StoredEvent] = {}
        kind = sa.or_(
            events.c.biz_step.in_(biz_steps),
            sa.and_(events.c.type.in_(outputs_of), event_epcs.c.role == "output"),
        )
        with self._tx() as conn:
            for gtin, names in by_gtin.items():
                for start in range(0, len(names), 500):
                    where = [
                        event_epcs.c.gtin == gtin,
                        event_epcs.c.lot.in_(names[start : start + 500]),
                        kind,
                    ]
                    if until is not None:
                        where.append(events.c.event_time <= to_db(until))
                    rank = sa.func.dense_rank().over(
                        partition_by=event_epcs.c.lot, order_by=(events.c.event_time, events.c.id)
                    )
                    ranked = (
                        sa.select(event_epcs.c.event_id, rank.label("n"))
                        .join(events, events.c.id == event_epcs.c.event_id)
                        .where(*where)
                        .subquery()
                    )
                    first = sa.select(ranked.c.event_id).where(ranked.c.n <= per_lot)
                    query = sa.select(events).where(events.c.id.in_(first))
                    for row in conn.execute(query):
                        found.setdefault(str(row.id), stored_event(row))
        return sorted(found.values(), key=lambda e: (e.event_time, e.id))

    def knows_object(self, epc: str) -> bool:
        """Whether ``epc`` is a registered logistic unit or was named by a stored event."""
        sscc = sscc_digits(epc)
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

    def known_objects(self, epcs: Iterable[str]) -> set[str]:
        """Those of ``epcs`` that are registered logistic units or named by a stored event
        (``knows_object`` for a whole capture document, in one transaction)."""
        wanted = list(dict.fromkeys(epcs))
        found: set[str] = set()
        if not wanted:
            return found
        by_sscc = {digits: epc for epc in wanted if (digits := sscc_digits(epc))}
        with self._tx() as conn:
            ssccs = list(by_sscc)
            for start in range(0, len(ssccs), 500):
                query = sa.select(logistic_units.c.sscc).where(
                    logistic_units.c.sscc.in_(ssccs[start : start + 500])
                )
                found.update(by_sscc[str(sscc)] for sscc in conn.execute(query).scalars())
            rest = [epc for epc in wanted if epc not in found]
            for start in range(0, len(rest), 500):
                query = (
                    sa.select(event_epcs.c.epc)
                    .where(event_epcs.c.epc.in_(rest[start : start + 500]))
                    .distinct()
                )
                found.update(str(epc) for epc in conn.execute(query).scalars())
        return found

    def known_locations(self, urns: Iterable[str]) -> set[str]:
        """Those of ``urns`` that are recorded locations, in one transaction."""
        wanted = list(dict.fromkeys(urns))
        found: set[str] = set()
        if not wanted:
            return found
        with self._tx() as conn:
            for start in range(0, len(wanted), 500):
                query = sa.select(locations.c.urn).where(
                    locations.c.urn.in_(wanted[start : start + 500])
                )
                found.update(str(urn) for urn in conn.execute(query).scalars())
        return found
