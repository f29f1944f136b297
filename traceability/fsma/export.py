"""The FSMA 204 export over the records: the CTE events of a window, mapped to rows.

``Fsma204Export(store).rows(start, end, product=, lot=)`` reads the events through the
EPCIS query (``RecordStore.run_query``: the bodies decide, keyset pages), narrowed to what
can be a CTE (``traceability.fsma.cte.CTE_STEPS`` and every ``TransformationEvent``),
looks up what the mapping needs (the lots of named units, what a named pallet held, the
products, the places, each lot's TLC source) and hands it to the pure mapping
(``traceability.fsma.row``) and selection (``traceability.fsma.trace``).

Days are the events' own (``eventTimeZoneOffset``): the query reads 14 hours beyond the
window on each side (the widest UTC offsets) and keeps the events whose local date is in
``[start, end]``. An event declared erroneous (an error declaration stored beside it)
is left out with its declaration. Work is bounded: more than ``max_events`` CTE events in
the window refuse the export (``ExportRefused`` naming ``to``), never a partial answer.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta

from pydantic import BaseModel, ConfigDict

from gs1.epcis.event import DECLARATION_SUFFIX, declared_id, format_time
from gs1.epcis.query import EventQuery, parse_query
from gs1.errors import InvalidIdentifier
from gs1.identifiers import Sgtin
from traceability.custody import CustodyService, is_carrier
from traceability.fsma.cte import ASSIGNING, CTE_STEPS, Cte, cte_of, requirement
from traceability.fsma.errors import ExportRefused
from traceability.fsma.lots import Key, LotLine, carriers, lot_lines, unit_keys
from traceability.fsma.row import MasterData, Row, local_time, place_of, rows_of
from traceability.fsma.trace import LotKey, lot_key, selected
from traceability.records.entities import Product, StoredEvent
from traceability.records.store import RecordStore

DEFAULT_MAX_EVENTS = 20_000
_MARGIN = timedelta(hours=14)  # UTC-12 … UTC+14: a local day spans these UTC hours
_PAGE = 500
_HISTORY = 200  # a lot's oldest events read for its TLC source (assigned first)


class CteEvent(BaseModel):
    """A stored event that is a CTE, with the lots it moves."""

    model_config = ConfigDict(frozen=True)

    event: StoredEvent
    cte: Cte
    lines: tuple[LotLine, ...]


class Fsma204Export:
    """The sortable spreadsheet's rows from the records (see the module docstring)."""

    def __init__(self, store: RecordStore, *, max_events: int = DEFAULT_MAX_EVENTS) -> None:
        if max_events < 1:
            raise ValueError(f"max_events {max_events}: must be at least 1")
        self._store = store
        self._max = max_events

    def rows(
        self, start: date, end: date, *, product: str | None = None, lot: str | None = None
    ) -> list[Row]:
        """One row per CTE and lot with a local date in ``[start, end]`` (a GTIN-14
        ``product``, a ``lot``'s trace), sorted by lot then time."""
        if end < start:
            raise ExportRefused("to", f"{end} is before from {start}; give from ≤ to")
        found = [e for e in self._cte_events(start, end) if start <= _day(e.event) <= end]
        products = self._products({line.gtin for e in found for line in e.lines if line.gtin})
        master = MasterData(
            products=products, locations={p.urn: p for p in self._store.locations()}
        )
        if product is not None or lot is not None:
            # Select first (pure, cheap): TLC sources only for the lots the answer holds.
            picked = selected(_rows(found, master), product, lot)
            wanted = {row.event_id for row in picked}
            found = [e for e in found if e.event.id in wanted]
            keys = {key for row in picked if (key := lot_key(row)) is not None}
        else:
            keys = {(ln.gtin, ln.lot) for e in found for ln in e.lines if ln.gtin and ln.lot}
        master = master.model_copy(update={"tlc_sources": self._tlc_sources(keys, found)})
        return selected(_rows(found, master), product, lot)

    def _cte_events(self, start: date, end: date) -> list[CteEvent]:
        since = datetime.combine(start, time(), UTC) - _MARGIN
        until = datetime.combine(end + timedelta(days=1), time(), UTC) + _MARGIN
        window = [("GE_eventTime", format_time(since)), ("LT_eventTime", format_time(until))]
        queries = (
            parse_query([*window, ("EQ_bizStep", "|".join(CTE_STEPS)), ("orderBy", "eventTime")]),
            parse_query([*window, ("eventType", "TransformationEvent"), ("orderBy", "eventTime")]),
        )
        events: dict[str, StoredEvent] = {}
        for query in queries:
            for event in self._paged(query):
                events[event.id] = event
                if len(events) > self._max:
                    raise ExportRefused(
                        "to",
                        f"from {start} to {end} holds more than {self._max} CTE events; "
                        "ask for a shorter window",
                    )
        void = {declared_id(i) for i in events if i.endswith(DECLARATION_SUFFIX)}
        kept = [e for i, e in events.items() if not i.endswith(DECLARATION_SUFFIX)]
        return self._with_lines([e for e in kept if e.id not in void])

    def _paged(self, query: EventQuery) -> Iterator[StoredEvent]:
        token: str | None = None
        while True:
            page = self._store.run_query(query, per_page=_PAGE, token=token)
            yield from page.events
            token = page.next_token
            if token is None:
                return

    def _with_lines(self, events: Sequence[StoredEvent]) -> list[CteEvent]:
        """The CTE events among ``events`` with their lot lines (a query per 500 units,
        two per pallet named)."""
        ctes = [(e, cte) for e in events if (cte := cte_of(e.document())) is not None]
        unit_lots = self._store.lots_of_units(
            key for e, _ in ctes for key in unit_keys(e.document())
        )
        custody = CustodyService(self._store)
        found: list[CteEvent] = []
        for event, cte in ctes:
            document = event.document()
            carried: dict[str, list[Key]] = {}
            for carrier in carriers(document, is_carrier):
                carried[carrier] = self._contents(custody, carrier, event.event_time)
            lines = lot_lines(document, unit_lots, carried)
            found.append(CteEvent(event=event, cte=cte, lines=lines))
        return found

    def _contents(self, custody: CustodyService, carrier: str, moment: datetime) -> list[Key]:
        """(gtin, lot) of each unit ``carrier`` held at ``moment`` (one level, as custody)."""
        children = custody.carried_in(carrier, moment)
        units: list[tuple[str, str]] = []
        for epc in children:
            try:
                sgtin = Sgtin.parse(epc) if epc.startswith("urn:epc:id:sgtin:") else None
            except InvalidIdentifier:
                sgtin = None
            if sgtin is not None:
                units.append((sgtin.gtin.value, sgtin.serial.value))
        lots = self._store.lots_of_units(units)
        return [(gtin, lots.get((gtin, serial))) for gtin, serial in units]

    def _products(self, gtins: set[str]) -> dict[str, Product]:
        found = {gtin: self._store.get_product(gtin) for gtin in sorted(gtins)}
        return {gtin: product for gtin, product in found.items() if product is not None}

    def _tlc_sources(self, keys: set[LotKey], window: Sequence[CteEvent]) -> dict[LotKey, str]:
        """Where each lot's TLC was assigned: the place of its first assigning CTE, in the
        window or, failing that, anywhere in the lot's events."""
        sources = _assigned(window, keys)
        first = min((e.event.event_time for e in window), default=None)
        for gtin, lot in sorted(keys - set(sources)):
            # Assigned before the window, if at all: the lot's oldest events, a bounded few.
            older = self._store.query_events(gtin=gtin, lot=lot, end=first, limit=_HISTORY)
            sources.update(_assigned(self._with_lines(older), {(gtin, lot)}))
        return sources


def _rows(events: Sequence[CteEvent], master: MasterData) -> list[Row]:
    return [
        row
        for e in events
        for row in rows_of(
            e.event.id, e.event.document(), e.event.event_time, e.cte, e.lines, master
        )
    ]


def _assigned(events: Sequence[CteEvent], keys: set[LotKey]) -> dict[LotKey, str]:
    found: dict[LotKey, str] = {}
    for e in sorted(events, key=lambda e: (e.event.event_time, e.event.id)):
        for line in e.lines:
            if not (line.gtin and line.lot):
                continue
            key = (line.gtin, line.lot)
            if key in found or key not in keys or requirement(e.cte, line.role) not in ASSIGNING:
                continue
            place = place_of(e.event.document(), e.cte)
            if place:
                found[key] = place
    return found


def _day(event: StoredEvent) -> date:
    return local_time(event.event_time, event.document().get("eventTimeZoneOffset")).date()
