"""A lot's events held against their signed bodies: one source of truth for events.

``tracehub verify`` re-hashes each event body against its signed ledger entry
(``ledger.verify``). What the page and custody use besides the bodies is the
records' index: the event columns (time, place, type, action, ...) and the EPC link
rows that say which lot an event belongs to. This module checks that index against
the bodies and that the hub captured every event it shows:

* ``captured``  every event the records give the lot has a capture entry (signed at
  capture, ``feeder.EventLeaves``) in the lot's stream; a row without one was not
  captured by this hub (an INSERT by hand) and fails, it is never "pending";
* ``index``     every indexed column re-derived from the body; a difference fails,
  naming the event, the column and both values; the same for EPC link rows;
* ``linked``    every event of the lot's signed stream is still linked to the lot by
  the records (a deleted link row hides it from the page); an event naming a pallet or
  asset the lot travelled in (``traceability.carriers``) is reached through the
  carrier instead, so its index is checked and the journey shows its use;
* ``journey``   the lot's stays re-derived from the verified bodies alone (custody
  over ``SignedEvents``) and compared with what the records give the page;
* ``adopted``   events signed after the fact by the operator (``tracehub ledger
  adopt``) are named as adopted, with when, never passed off as captured live;
* ``source``    who sent the events, from their signed capture receipts ("captured by
  erp-1: 3 events"); an altered receipt fails, an event without one is "source not
  recorded" (``receipts``).

Pure over the bundle plus reads of the records; the ledger is asked only which
events it holds.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from gs1.errors import InvalidIdentifier
from gs1.identifiers import Sgtin
from ledger.entry import record_digest
from ledger.errors import LedgerError
from ledger.store.sqlstore import LedgerStore
from ledger.verify.report import Check, Outcome
from traceability.anchoring.feeder import ADOPTION_KIND, EVENT_KIND, lot_stream
from traceability.anchoring.receipts import lot_source_checks
from traceability.custody import CustodyService, Stay, is_carrier
from traceability.epclinks import class_link
from traceability.records.entities import event_index, event_roles
from traceability.records.locations import Location
from traceability.records.store import RecordStore, StoredEvent

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CARRIER_ROLES = frozenset({"parent"})


def event_checks(
    store: RecordStore, ledger: LedgerStore, bundle: dict[str, Any], gtin: str, lot: str
) -> list[Check]:
    """The checks of the module docstring for lot ``gtin``/``lot`` and its bundle."""
    checks: list[Check] = []
    signed = signed_bodies(bundle)
    in_stream = _stream_ids(bundle, lot_stream(gtin, lot))
    events = store.events_for_lot(gtin, lot)
    shown = {event.id for event in events}
    outside = [event.id for event in events if event.id not in in_stream]
    held = ledger.entries(EVENT_KIND, outside) if outside else {}
    for event in events:
        if event.id in in_stream:
            continue
        detail = (
            "signed at capture, but not into this lot's stream: the records link it to "
            "the lot, its signed entry does not"
            if event.id in held
            else "not captured by this hub: no capture entry signed for it (a row put "
            "into the events table outside capture); it is never anchored"
        )
        checks.append(_fail("captured", event.id, detail))
    # Events naming a pallet or asset the lot travelled in are in its stream (capture
    # files them under the lots the carrier held), but the records reach them through
    # the carrier, not the lot: their index is checked, and the journey shows their use.
    carried = {
        rid
        for rid in in_stream
        if rid not in shown and rid in signed and _names_carrier(signed[rid])
    }
    # The index is held against signed bodies only: an altered body is named by the
    # record check, and its columns then disagree with it as a mere consequence.
    proven = [event for event in events if event.id in signed]
    proven += [e for e in map(store.get_event, sorted(carried)) if e is not None]
    links = store.event_links([event.id for event in proven])
    for event in proven:
        checks.extend(_index_checks(event, links.get(event.id, [])))
    for record_id in in_stream:
        if record_id not in shown and record_id in signed and record_id not in carried:
            checks.append(
                _fail(
                    "linked",
                    record_id,
                    "is in the lot's signed stream, but the records no longer link it to "
                    "the lot (its EPC link rows were changed or deleted): the page leaves "
                    "it out",
                )
            )
    checks.append(_journey_check(store, gtin, lot, signed, ledger))
    checks.extend(adoption_checks(bundle, lot))
    checks.extend(lot_source_checks(bundle))  # who sent each event (capture receipts)
    return checks


def adoption_checks(bundle: dict[str, Any], lot: str) -> list[Check]:
    """Say of every signed ``events-adopted`` record that its events were adopted later
    (``feeder.adopt_events``): signed by the operator, not at capture."""
    found: list[Check] = []
    for item in bundle.get("items") or []:
        entry = item.get("entry") if isinstance(item, dict) else None
        record = item.get("record") if isinstance(item, dict) else None
        if not isinstance(entry, dict) or entry.get("kind") != ADOPTION_KIND:
            continue
        if not isinstance(record, dict):
            continue  # the record check names a missing or altered record
        listed = record.get("events")
        events = listed if isinstance(listed, list) else []
        found.append(
            Check(
                name="adopted",
                outcome=Outcome.OK,
                subject=f"lot {lot}",
                detail=f"{len(events)} event(s) adopted by the site's operator at "
                f"{record.get('adopted_at')}: stored without a capture entry and signed "
                "later (`tracehub ledger adopt`), not at capture",
                record_id=str(entry.get("record_id")),
            )
        )
    return found


def signed_bodies(bundle: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The event bodies of the bundle that hash to their signed entry's record digest.

    (The verifier checks each entry's signature, link and proof; a body that fails
    here fails there too and is left out of the re-derived journey.)
    """
    found: dict[str, dict[str, Any]] = {}
    for item in bundle.get("items") or []:
        entry = item.get("entry") if isinstance(item, dict) else None
        record = item.get("record") if isinstance(item, dict) else None
        if not isinstance(entry, dict) or entry.get("kind") != EVENT_KIND:
            continue
        if not isinstance(record, dict):
            continue
        try:
            if record_digest(record).hex() == entry.get("record_digest"):
                found[str(entry["record_id"])] = record
        except LedgerError:
            continue
    return found


def _names_carrier(body: dict[str, Any]) -> bool:
    return any(
        role in _CARRIER_ROLES | {"epc"} and is_carrier(epc)
        for epc, role in event_roles(body).items()
    )


def _stream_ids(bundle: dict[str, Any], stream: str) -> set[str]:
    """The events signed into ``stream`` (the lot's): a room's sensor events come in
    through its place's stream and are no event of the lot."""
    return {
        str(item["entry"]["record_id"])
        for item in bundle.get("items") or []
        if isinstance(item, dict)
        and isinstance(item.get("entry"), dict)
        and item["entry"].get("kind") == EVENT_KIND
        and any(
            isinstance(link, dict) and link.get("stream") == stream
            for link in item["entry"].get("links") or []
        )
    }


def _index_checks(event: StoredEvent, links: Sequence[Any]) -> list[Check]:
    checks = [_fail("index", event.id, m.describe()) for m in event.mismatches]
    if any(m.column == "body" for m in event.mismatches):
        return checks
    roles = event.roles()
    rows = {link.epc: link.role for link in links}
    for epc, role in sorted(rows.items()):
        said = roles.get(epc)
        if said != role:
            checks.append(
                _fail(
                    "index",
                    event.id,
                    f"EPC link row ({epc}, role {role}) is not in the signed body"
                    + ("" if said is None else f" (the body names it as {said})"),
                )
            )
    for epc, role in sorted(roles.items()):
        if epc not in rows:
            checks.append(
                _fail(
                    "index",
                    event.id,
                    f"the signed body names {epc} ({role}) but the records have no "
                    "EPC link row for it: custody does not see it",
                )
            )
    return checks


# the journey ---------------------------------------------------------------------------


class SignedEvents:
    """``CustodyRecords`` over signed event bodies alone (no records index involved).

    Which lot a unit belongs to and each location's custodian still come from the
    records' master data (``units_lots``, ``places``): those are checked elsewhere.
    """

    def __init__(
        self,
        bodies: dict[str, dict[str, Any]],
        unit_lots: dict[tuple[str, str], str],
        places: Sequence[Location],
    ) -> None:
        self._places = list(places)
        self._unit_lots = unit_lots
        self._events: list[StoredEvent] = []
        self._naming: dict[str, list[tuple[StoredEvent, str, str]]] = defaultdict(list)
        for record_id, body in bodies.items():
            try:
                event = StoredEvent(
                    id=record_id,
                    body=json.dumps(body),
                    captured_at=_EPOCH,
                    batch_id=None,
                    leaf_index=None,
                    leaf_hash=None,
                    **event_index(body),
                )
            except ValueError:
                continue
            self._events.append(event)
            for epc, role in event.roles().items():
                self._naming[epc].append((event, epc, role))

    def locations(self) -> Sequence[Location]:
        return self._places

    def lot_link(self, epc: str) -> tuple[str, str] | None:
        if epc.startswith("urn:epc:id:sgtin:"):
            try:
                sgtin = Sgtin.parse(epc)
            except InvalidIdentifier:
                return None
            key = (sgtin.gtin.value, sgtin.serial.value)
            found = self._unit_lots.get(key)
            return None if found is None else (key[0], found)
        link = class_link(epc, "class")
        return (link.gtin, link.lot) if link.gtin and link.lot else None

    def epcs_of_lot(self, gtin: str, lot: str) -> list[str]:
        return sorted(epc for epc in self._naming if self.lot_link(epc) == (gtin, lot))

    def events_naming(self, epcs: Iterable[str]) -> list[tuple[StoredEvent, str, str]]:
        found = [item for epc in dict.fromkeys(epcs) for item in self._naming.get(epc, [])]
        return sorted(found, key=lambda item: (item[0].event_time, item[0].id))

    def events_at(
        self, location: str, start: datetime | None = None, end: datetime | None = None
    ) -> list[StoredEvent]:
        return [
            e
            for e in sorted(self._events, key=lambda e: (e.event_time, e.id))
            if location in (e.biz_location, e.read_point)
            and (start is None or e.event_time >= start)
            and (end is None or e.event_time <= end)
        ]

    def children_ever(self, parent: str) -> list[tuple[str, str]]:
        return [
            (child, event.id)
            for event, _, role in self._naming.get(parent, [])
            if role in _CARRIER_ROLES
            for child in event.document().get("childEPCs") or []
        ]


def journey_from(
    store: RecordStore, gtin: str, lot: str, bodies: dict[str, dict[str, Any]]
) -> tuple[Stay, ...]:
    """The lot's stays as the signed bodies alone tell them."""
    serials: list[tuple[str, str]] = []
    for body in bodies.values():
        for epc in event_roles(body):
            if epc.startswith("urn:epc:id:sgtin:"):
                try:
                    sgtin = Sgtin.parse(epc)
                except InvalidIdentifier:
                    continue
                serials.append((sgtin.gtin.value, sgtin.serial.value))
    source = SignedEvents(bodies, store.lots_of_units(serials), store.locations())
    return CustodyService(source).lot_timeline(gtin, lot).stays


def _journey_check(
    store: RecordStore,
    gtin: str,
    lot: str,
    signed: dict[str, dict[str, Any]],
    ledger: LedgerStore,
) -> Check:
    proven = journey_from(store, gtin, lot, signed)
    shown = CustodyService(store).lot_timeline(gtin, lot).stays
    key = {(s.location, s.start, s.event_id) for s in proven}
    unproven = [s for s in shown if (s.location, s.start, s.event_id) not in key]
    page = {(s.location, s.start, s.event_id) for s in shown}
    hidden = [s for s in proven if (s.location, s.start, s.event_id) not in page]
    subject = f"lot {lot}"
    if not unproven and not hidden:
        detail = " → ".join(f"{s.location} from {_at(s.start)}" for s in proven) or "no stays"
        return Check(
            name="journey",
            outcome=Outcome.OK,
            subject=subject,
            detail=f"re-derived from the signed event bodies: {detail}",
        )
    held = ledger.entries(EVENT_KIND, [s.event_id for s in unproven]) if unproven else {}
    problems: list[str] = []
    outcome = Outcome.FAIL
    for stay in unproven:
        if stay.event_id in held and stay.event_id not in signed:
            problems.append(
                f"the stay at {stay.location} from {_at(stay.start)} rests on event "
                f"{stay.event_id}, signed outside the lot's stream (a pallet or asset it "
                "travelled in): not covered by this lot's evidence"
            )
        else:
            problems.append(
                f"the records put the lot at {stay.location} from {_at(stay.start)} "
                f"(event {stay.event_id}); the signed bodies do not"
            )
    for stay in hidden:
        problems.append(
            f"the signed bodies put the lot at {stay.location} from {_at(stay.start)} "
            f"(event {stay.event_id}); the records' journey does not"
        )
    if all("not covered" in p for p in problems):
        outcome = Outcome.SKIPPED
    return Check(name="journey", outcome=outcome, subject=subject, detail="; ".join(problems))


def _fail(name: str, event_id: str, detail: str) -> Check:
    return Check(
        name=name,
        outcome=Outcome.FAIL,
        subject=f"epcis-event {event_id}",
        detail=detail,
        record_id=event_id,
    )


def _at(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
