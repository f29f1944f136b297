"""What a carrier held when an event named it: the lots an event moves through a pallet.

An event that names only a pallet's SSCC (an ObjectEvent shipping it, an
AggregationEvent observing it, a DELETE emptying it) or an asset's GIAI/GRAI links no
lot itself, yet custody moves every unit packed in (or associated with) the carrier
with it. ``carried_lots`` gives capture the lots of what each such carrier held at the
event's time, by custody's own rule (``CustodyService.carried_in``) over the stored
events plus those being captured with it (a document may pack a pallet and ship it),
so the event is signed into those lots' streams and is part of their evidence.

An event captured before the packing it depends on is filed by what is known at its
capture; ``tracehub verify`` then names the stay it carries as not covered.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from gs1.identifiers import Sgtin
from traceability.custody import CustodyService, is_carrier
from traceability.records.locations import Location
from traceability.records.store import NewEvent, RecordStore, StoredEvent


def carried_lots(store: RecordStore, events: Sequence[NewEvent]) -> list[list[tuple[str, str]]]:
    """Per event, the ``(gtin, lot)`` pairs of what the carriers it names held at its time
    (empty for an event naming no carrier; no query at all when none does)."""
    named = [
        [link.epc for link in new.epcs if link.role in ("epc", "parent") and is_carrier(link.epc)]
        for new in events
    ]
    if not any(named):
        return [[] for _ in events]
    records = _WithUnstored(store, events)
    custody = CustodyService(records)
    return [
        records.lots_of([epc for c in carriers for epc in custody.carried_in(c, new.event_time)])
        if carriers
        else []
        for new, carriers in zip(events, named, strict=True)
    ]


class _WithUnstored:
    """The records as custody reads them, plus events this capture has not stored yet."""

    def __init__(self, store: RecordStore, pending: Sequence[NewEvent]) -> None:
        self._store = store
        now = datetime.now(UTC)
        self._pending = [
            (
                StoredEvent(
                    id=new.id,
                    event_time=new.event_time,
                    type=new.type,
                    biz_step=new.biz_step,
                    read_point=new.read_point,
                    biz_location=new.biz_location,
                    body=new.body,
                    captured_at=now,
                    batch_id=None,
                    leaf_index=None,
                    leaf_hash=None,
                    action=new.action,
                    disposition=new.disposition,
                ),
                new.epcs,
            )
            for new in pending
        ]
        self._linked = {
            link.epc: (link.gtin, link.lot)
            for new in pending
            for link in new.epcs
            if link.gtin and link.lot
        }

    def locations(self) -> Sequence[Location]:
        return self._store.locations()

    def epcs_of_lot(self, gtin: str, lot: str) -> list[str]:
        return self._store.epcs_of_lot(gtin, lot)

    def events_at(
        self, location: str, start: datetime | None = None, end: datetime | None = None
    ) -> list[StoredEvent]:
        return self._store.events_at(location, start, end)

    def events_naming(self, epcs: Iterable[str]) -> list[tuple[StoredEvent, str, str]]:
        wanted = set(epcs)
        found = self._store.events_naming(wanted)
        seen = {(event.id, epc) for event, epc, _ in found}
        for event, links in self._pending:
            for link in links:
                if link.epc in wanted and (event.id, link.epc) not in seen:
                    seen.add((event.id, link.epc))
                    found.append((event, link.epc, link.role))
        return sorted(found, key=lambda item: (item[0].event_time, item[0].id))

    def children_ever(self, parent: str) -> list[tuple[str, str]]:
        found = self._store.children_ever(parent)
        for event, links in self._pending:
            if any(link.epc == parent and link.role == "parent" for link in links):
                found += [(link.epc, event.id) for link in links if link.role == "child"]
        return found

    def lot_link(self, epc: str) -> tuple[str, str] | None:
        return self._linked.get(epc) or self._store.lot_link(epc)

    def lots_of(self, epcs: Sequence[str]) -> list[tuple[str, str]]:
        """The lots of ``epcs`` (units by the units table, in one query; lot classes)."""
        found: list[tuple[str, str]] = []
        units: list[tuple[str, str]] = []
        for epc in epcs:
            if epc in self._linked:
                found.append(self._linked[epc])
            elif epc.startswith("urn:epc:id:sgtin:"):
                sgtin = Sgtin.parse(epc)  # stored or validated by capture
                units.append((sgtin.gtin.value, sgtin.serial.value))
            else:
                linked = self._store.lot_link(epc)  # a lot class, as capture linked it
                if linked is not None:
                    found.append(linked)
        found += [(gtin, lot) for (gtin, _), lot in self._store.lots_of_units(units).items()]
        return list(dict.fromkeys(found))
