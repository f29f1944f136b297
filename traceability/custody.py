"""Custody: where an object (unit, lot, SSCC) was, from when to when, and who held it.

Derived from the stored EPCIS events, not stored separately (one source of truth):

* an event naming an object puts it at the event's bizLocation (else readPoint) from the
  event time until the next event that puts it somewhere else;
* leaving: a ``shipping`` or ``departing`` event ends the object's stay at the event
  time. Per CBV the bizLocation is where the object is after the event and the readPoint
  only where it was read, so such an event places the object only by its bizLocation
  (a new stay starts there, e.g. a truck's); without one (shipping omits it) the object
  is in transit, at no stay, until the next event places it (receiving, arriving, ...).
  So a shipped lot's last stay closes at departure and its exposure stops there;
* aggregation: between a packing ``AggregationEvent`` ADD and the matching DELETE the
  children move with their parent, so events naming the pallet place its contents too;
* association: between an ``AssociationEvent`` ADD and its DELETE the children go where
  the associated parent goes (a lot tied to a reefer trailer's GIAI or a returnable
  crate's GRAI moves when the trailer is read elsewhere), as with aggregation;
* transformation: ``trace_back`` follows outputs to inputs, ``trace_forward`` inputs to
  outputs (repacking keeps the lineage);
* custodian of a stay: the ``possessing_party`` (else ``owning_party``) in the
  ``destinationList`` of the event that put the object there, else the custodian
  recorded for the location (``RecordStore.add_location``), else unknown.

Times, places, types and actions are the event bodies' (``StoredEvent`` carries the
body's values; an EPC link row the body does not back is skipped by the store), so
an indexed column edited in SQL does not move a stay. The events come through the
``CustodyRecords`` port: the records store for the page, the signed bodies of a
lot's evidence bundle for ``tracehub verify`` (``anchoring.eventcheck``), which
re-derives the journey and compares.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from traceability.records.locations import Location
from traceability.records.store import StoredEvent

_FAR_FUTURE = datetime.max.replace(tzinfo=UTC)  # event times are aware
# Events whose children travel with their parent between ADD and DELETE.
_CONTAINING = frozenset({"AggregationEvent", "AssociationEvent"})
# Identifiers of things that carry others: SSCC, GIAI (a trailer), GRAI (a crate).
_CARRIER_KEYS = (":sscc:", "/00/", ":giai:", "/8004/", ":grai:", "/8003/")
# Party source/destination types, most specific first (CBV 2.0 SDT).
# Steps after which the object is no longer where it was read (CBV: in transit).
_LEAVING = frozenset({"shipping", "departing"})
_PARTY_TYPES = ("possessing_party", "owning_party")


class Stay(BaseModel):
    """One object (or lot) at one location over ``[start, end)``; ``end`` None = still there."""

    model_config = ConfigDict(frozen=True)

    location: str
    start: datetime
    end: datetime | None
    event_id: str  # the event that put it there
    via: str | None = None  # the parent (pallet SSCC, associated asset) it travelled in
    custodian: str | None = None  # the party holding it there (GLN URN or name)


class Timeline(BaseModel):
    model_config = ConfigDict(frozen=True)

    subject: str  # an EPC, or "gtin/lot"
    stays: tuple[Stay, ...]

    @property
    def current(self) -> Stay | None:
        return self.stays[-1] if self.stays and self.stays[-1].end is None else None

    def locations(self) -> dict[str, list[tuple[datetime, datetime | None]]]:
        """Per location, the merged intervals the subject spent there."""
        spans: dict[str, list[tuple[datetime, datetime | None]]] = defaultdict(list)
        for stay in sorted(self.stays, key=lambda s: (s.location, s.start)):
            merged = spans[stay.location]
            if merged and (merged[-1][1] is None or merged[-1][1] >= stay.start):
                last_end = merged[-1][1]
                end = None if last_end is None or stay.end is None else max(last_end, stay.end)
                merged[-1] = (merged[-1][0], end)
            else:
                merged.append((stay.start, stay.end))
        return dict(spans)


class CustodyRecords(Protocol):
    """What custody reads (``RecordStore`` serves it; so does a bundle's signed events)."""

    def locations(self) -> Sequence[Location]: ...

    def epcs_of_lot(self, gtin: str, lot: str) -> list[str]: ...

    def events_naming(self, epcs: Iterable[str]) -> list[tuple[StoredEvent, str, str]]: ...

    def events_at(
        self, location: str, start: datetime | None = None, end: datetime | None = None
    ) -> list[StoredEvent]: ...

    def children_ever(self, parent: str) -> list[tuple[str, str]]: ...

    def lot_link(self, epc: str) -> tuple[str, str] | None: ...


class CustodyService:
    def __init__(self, store: CustodyRecords) -> None:
        self._store = store
        self._custodians: dict[str, str] | None = None

    def _location_custodian(self, location: str) -> str | None:
        if self._custodians is None:
            self._custodians = {
                place.urn: place.custodian for place in self._store.locations() if place.custodian
            }
        return self._custodians.get(location)

    def timeline(self, epc: str) -> Timeline:
        """The stays of one object, following the containers it was packed into."""
        return Timeline(subject=epc, stays=tuple(self._stays(epc)))

    def lot_timeline(self, gtin: str, lot: str) -> Timeline:
        """Every stay of every unit (and lot-level quantity) of the lot."""
        stays: list[Stay] = []
        epcs = self._store.epcs_of_lot(gtin, lot)
        grouped = self._grouped(epcs)
        for epc in epcs:
            stays.extend(self._stays(epc, grouped.get(epc, [])))
        stays.sort(key=lambda s: (s.start, s.location))
        return Timeline(subject=f"{gtin}/{lot}", stays=tuple(stays))

    def where_now(self, gtin: str, lot: str) -> dict[str, str | None]:
        """Forward trace: each EPC of the lot → its current location (None if unknown)."""
        result: dict[str, str | None] = {}
        epcs = self._store.epcs_of_lot(gtin, lot)
        grouped = self._grouped(epcs)
        for epc in epcs:
            stays = self._stays(epc, grouped.get(epc, []))
            result[epc] = stays[-1].location if stays and stays[-1].end is None else None
        return result

    def lots_at(self, location: str, start: datetime, end: datetime) -> list[tuple[str, str]]:
        """Which lots were at ``location`` at any time in ``[start, end]`` (an excursion)."""
        candidates: set[str] = set()
        for event in self._store.events_at(location, None, end):
            for named, _ in _named(self._store, event):
                candidates.add(named)
        found: set[tuple[str, str]] = set()
        lots_of = self._lots_of(candidates)
        for epc, lot_key in lots_of.items():
            for stay in self._stays(epc):
                if stay.location != location:
                    continue
                if stay.start <= end and (stay.end is None or stay.end >= start):
                    found.add(lot_key)
                    break
        return sorted(found)

    def trace_back(self, epc: str) -> list[str]:
        """Backward trace: everything that went into ``epc`` (inputs and packed children)."""
        seen: set[str] = set()
        frontier = [epc]
        while frontier:
            current = frontier.pop()
            for event, named, role in self._store.events_naming([current]):
                body = event.document()
                if event.type == "TransformationEvent" and role == "output":
                    sources = body.get("inputEPCList", []) + [
                        q["epcClass"] for q in body.get("inputQuantityList", [])
                    ]
                elif event.type == "AggregationEvent" and role == "parent":
                    sources = list(body.get("childEPCs", []))
                else:
                    continue
                for source in sources:
                    if source not in seen and source != named:
                        seen.add(source)
                        frontier.append(source)
        return sorted(seen)

    def trace_forward(self, epc: str) -> list[str]:
        """Forward trace through transformations: everything made from ``epc``."""
        seen: set[str] = set()
        frontier = [epc]
        while frontier:
            current = frontier.pop()
            for event, _, role in self._store.events_naming([current]):
                if event.type != "TransformationEvent" or role != "input":
                    continue
                body = event.document()
                outputs = body.get("outputEPCList", []) + [
                    q["epcClass"] for q in body.get("outputQuantityList", [])
                ]
                for output in outputs:
                    if output not in seen:
                        seen.add(output)
                        frontier.append(output)
        return sorted(seen)

    def carried_in(self, parent: str, moment: datetime) -> list[str]:
        """What was packed in (or associated with) ``parent`` at ``moment``: added at or
        before it, not removed before it (one level, as ``_stays`` follows it).

        Capture files an event naming a carrier into the streams of these objects'
        lots, so the events that move a lot on a pallet are in the lot's evidence.
        """
        children = sorted({child for child, _ in self._store.children_ever(parent)})
        inside: set[str] = set()
        for event, epc, role in self._store.events_naming([parent, *children]):
            if event.event_time > moment:
                break
            body = event.document()
            if event.type not in _CONTAINING or body.get("parentID") != parent:
                continue
            if event.action == "ADD" and role == "child":
                inside.add(epc)
            elif event.action == "DELETE" and event.event_time < moment:
                if role == "child":
                    inside.discard(epc)
                elif role == "parent" and not body.get("childEPCs"):
                    inside.clear()  # a DELETE naming no children empties the carrier
        return sorted(inside)

    # ------------------------------------------------------------------------------

    def _lots_of(self, epcs: Iterable[str]) -> dict[str, tuple[str, str]]:
        lots: dict[str, tuple[str, str]] = {}
        for epc in epcs:
            link = self._store.lot_link(epc)
            if link is not None:
                lots[epc] = link
        return lots

    def _grouped(self, epcs: list[str]) -> dict[str, list[tuple[StoredEvent, str, str]]]:
        """One query for many objects' events (recall speed), grouped per EPC."""
        grouped: dict[str, list[tuple[StoredEvent, str, str]]] = defaultdict(list)
        for item in self._store.events_naming(epcs):
            grouped[item[1]].append(item)
        return grouped

    def _stays(
        self, epc: str, named: list[tuple[StoredEvent, str, str]] | None = None
    ) -> list[Stay]:
        if named is None:
            named = self._store.events_naming([epc])
        # time, location (None: in transit), event, via, custodian named by the event
        moves: list[tuple[datetime, str | None, str, str | None, str | None]] = []
        containers: list[tuple[str, datetime, datetime]] = []
        for event, _, role in named:
            location = _placed_at(event)
            if event.type in _CONTAINING and role == "child":
                parent = event.document().get("parentID")
                if parent and event.action == "ADD":
                    containers.append((parent, event.event_time, _FAR_FUTURE))
                elif parent and event.action == "DELETE":
                    containers = [
                        (p, s, event.event_time) if p == parent and e == _FAR_FUTURE else (p, s, e)
                        for p, s, e in containers
                    ]
            # A transformation consumes its inputs; only its outputs appear there.
            if (location or event.biz_step in _LEAVING) and (
                event.type != "TransformationEvent" or role == "output"
            ):
                moves.append((event.event_time, location, event.id, None, _party(event)))
        for parent, since, until in containers:
            # A DELETE naming no children empties the whole pallet.
            for event, _, role in self._store.events_naming([parent]):
                if role != "parent" and role != "epc":
                    continue
                if event.type in _CONTAINING and event.action == "DELETE":
                    body = event.document()
                    if not body.get("childEPCs") and since <= event.event_time < until:
                        until = event.event_time
                location = _placed_at(event)
                if (location or event.biz_step in _LEAVING) and since < event.event_time < until:
                    moves.append((event.event_time, location, event.id, parent, _party(event)))
        moves.sort(key=lambda m: (m[0], m[2]))
        stays: list[Stay] = []
        for moment, location, event_id, via, party in moves:
            here = stays[-1] if stays and stays[-1].end is None else None
            if here is not None and here.location == location:
                continue
            if here is not None:
                stays[-1] = here.model_copy(update={"end": moment})
            if location is None:
                continue  # in transit until an event places it again
            stays.append(
                Stay(
                    location=location,
                    start=moment,
                    end=None,
                    event_id=event_id,
                    via=via,
                    custodian=party or self._location_custodian(location),
                )
            )
        return stays


def is_carrier(epc: str) -> bool:
    """Whether ``epc`` names something that carries others (SSCC, GIAI, GRAI)."""
    return any(key in epc for key in _CARRIER_KEYS)


def _placed_at(event: StoredEvent) -> str | None:
    """Where an event leaves the object: its bizLocation, else (unless it left) readPoint."""
    if event.biz_step in _LEAVING:
        return event.biz_location
    return event.biz_location or event.read_point


def _party(event: StoredEvent) -> str | None:
    """The party an event hands its objects to: its destination possessing/owning party."""
    found: dict[str, str] = {}
    for entry in event.document().get("destinationList") or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("destination"), str):
            continue
        kind = str(entry.get("type", ""))
        short = kind.rsplit("SDT-", 1)[-1].rsplit(":", 1)[-1]
        found.setdefault(short, entry["destination"])
    return next((found[t] for t in _PARTY_TYPES if t in found), None)


def _named(store: CustodyRecords, event: StoredEvent) -> list[tuple[str, str]]:
    body = event.document()
    names = list(body.get("epcList", [])) + list(body.get("childEPCs", []))
    if body.get("parentID"):
        names.append(body["parentID"])
    names += [q["epcClass"] for q in body.get("quantityList", []) if "epcClass" in q]
    children: list[tuple[str, str]] = [(n, "epc") for n in names]
    # Objects packed in a named pallet (or associated with a named asset) were there too.
    parents = {n for n in names if any(k in n for k in _CARRIER_KEYS)}
    if body.get("parentID"):
        parents.add(body["parentID"])
    for parent in sorted(parents):
        for packed, _ in store.children_ever(parent):
            children.append((packed, "child"))
    return children
