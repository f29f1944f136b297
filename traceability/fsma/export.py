"""The FSMA 204 export over the records: the CTE events of a window, mapped to rows.

``Fsma204Export(store).rows(start, end, product=, lot=)`` reads the events through the
EPCIS query (``RecordStore.run_query``: the bodies decide, keyset pages), narrowed to what
can be a CTE (``traceability.fsma.cte.CTE_STEPS`` and every ``TransformationEvent``),
looks up what the mapping needs (the lots of named units, what a named pallet held, the
products, the places, each lot's TLC source, the harvest and cooling of each lot packed)
and hands it to the pure mapping (``traceability.fsma.row``) and selection
(``traceability.fsma.trace``).

Days are the events' own (``eventTimeZoneOffset``): the query reads 14 hours beyond the
window on each side (the widest UTC offsets) and keeps the events whose local date is in
``[start, end]``. An event declared erroneous (an error declaration stored beside it)
is left out with its declaration.

Work is bounded by the work done, not only by the events (``traceability.fsma.budget``):
the CTE events, rows and lots of the window and the wall time; past any bound the
export is refused (``ExportRefused`` naming ``to``), never a partial answer. A lot's TLC
source, harvest and cooling from before the window are read for a page of 500 lots per
query, each lot's oldest few candidate events only (``RecordStore.first_events_of_lots``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_start

from pydantic import BaseModel, ConfigDict

from gs1.epcis.event import DECLARATION_SUFFIX, declared_id, format_time
from gs1.epcis.query import EventQuery, parse_query
from gs1.errors import InvalidIdentifier
from gs1.identifiers import Sgtin
from traceability.custody import CustodyService, is_carrier
from traceability.fsma.budget import Budget, Clock, Tally
from traceability.fsma.cte import (
    ASSIGNING,
    ASSIGNING_STEPS,
    CTE_STEPS,
    ORIGIN_STEPS,
    Cte,
    cte_of,
    requirement,
)
from traceability.fsma.errors import ExportRefused
from traceability.fsma.lots import Key, LotLine, carriers, lot_lines, unit_keys
from traceability.fsma.origin import OriginEvent, origins
from traceability.fsma.row import MasterData, Row, local_time, place_of, rows_of
from traceability.fsma.trace import LotKey, lot_key, selected
from traceability.records.entities import Product, StoredEvent
from traceability.records.store import RecordStore

DEFAULT_MAX_EVENTS = 20_000
_MARGIN = timedelta(hours=14)  # UTC-12 … UTC+14: a local day spans these UTC hours
_PAGE = 500
_LOT_PAGE = 500  # lots per query for what happened to them before the window
_HISTORY = 20  # a lot's oldest candidate events read (its TLC is assigned first)
_TRANSFORMATION = "TransformationEvent"


class CteEvent(BaseModel):
    """A stored event that is a CTE, with the lots it moves."""

    model_config = ConfigDict(frozen=True)

    event: StoredEvent
    cte: Cte
    lines: tuple[LotLine, ...]


class Fsma204Export:
    """The sortable spreadsheet's rows from the records (see the module docstring)."""

    def __init__(
        self,
        store: RecordStore,
        *,
        max_events: int = DEFAULT_MAX_EVENTS,
        max_rows: int = 50_000,
        max_lots: int = 20_000,
        seconds: float | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        for name, bound in (
            ("max_events", max_events),
            ("max_rows", max_rows),
            ("max_lots", max_lots),
        ):
            if bound < 1:
                raise ValueError(f"{name} {bound}: must be at least 1")
        self._store = store
        self._budget = Budget(
            max_events=max_events, max_rows=max_rows, max_lots=max_lots, seconds=seconds
        )
        self._clock = clock

    def rows(
        self, start: date, end: date, *, product: str | None = None, lot: str | None = None
    ) -> list[Row]:
        """One row per CTE and lot with a local date in ``[start, end]`` (a GTIN-14
        ``product``, a ``lot``'s trace), sorted by lot then time."""
        if end < start:
            raise ExportRefused("to", f"{end} is before from {start}; give from ≤ to")
        tally = Tally(self._budget, start, end, self._clock)
        found = [e for e in self._cte_events(start, end, tally) if start <= _day(e.event) <= end]
        products = self._products({line.gtin for e in found for line in e.lines if line.gtin})
        master = MasterData(
            products=products, locations={p.urn: p for p in self._store.locations()}
        )
        if product is not None or lot is not None:
            # Select first (pure, cheap): TLC sources only for the lots the answer holds.
            picked = selected(_rows(found, master, tally), product, lot)
            wanted = {row.event_id for row in picked}
            found = [e for e in found if e.event.id in wanted]
            keys = {key for row in picked if (key := lot_key(row)) is not None}
        else:
            keys = {(ln.gtin, ln.lot) for e in found for ln in e.lines if ln.gtin and ln.lot}
        sources, history = self._history(keys, found, tally)
        master = master.model_copy(update={"tlc_sources": sources, "origins": history})
        return selected(_rows(found, master, tally), product, lot)

    def _cte_events(self, start: date, end: date, tally: Tally) -> list[CteEvent]:
        since = datetime.combine(start, day_start(), UTC) - _MARGIN
        until = datetime.combine(end + timedelta(days=1), day_start(), UTC) + _MARGIN
        window = [("GE_eventTime", format_time(since)), ("LT_eventTime", format_time(until))]
        queries = (
            parse_query([*window, ("EQ_bizStep", "|".join(CTE_STEPS)), ("orderBy", "eventTime")]),
            parse_query([*window, ("eventType", _TRANSFORMATION), ("orderBy", "eventTime")]),
        )
        events: dict[str, StoredEvent] = {}
        for query in queries:
            for event in self._paged(query, tally):
                events[event.id] = event
                tally.events(len(events))
        void = {declared_id(i) for i in events if i.endswith(DECLARATION_SUFFIX)}
        kept = [e for i, e in events.items() if not i.endswith(DECLARATION_SUFFIX)]
        return self._with_lines([e for e in kept if e.id not in void], tally)

    def _paged(self, query: EventQuery, tally: Tally) -> Iterator[StoredEvent]:
        token: str | None = None
        while True:
            tally.check_time()
            page = self._store.run_query(query, per_page=_PAGE, token=token)
            yield from page.events
            token = page.next_token
            if token is None:
                return

    def _with_lines(
        self, events: Sequence[StoredEvent], tally: Tally, *, counted: bool = True
    ) -> list[CteEvent]:
        """The CTE events among ``events`` with their lot lines (a query per 500 units,
        two per pallet named); ``counted``: their rows and lots count against the bound."""
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
                tally.check_time()
                carried[carrier] = self._contents(custody, carrier, event.event_time)
            lines = lot_lines(document, unit_lots, carried)
            if counted:
                named = ((ln.gtin, ln.lot) for ln in lines if ln.gtin and ln.lot)
                tally.rows(max(1, len(lines)), named)
            else:
                tally.check_time()
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

    def _history(
        self, keys: set[LotKey], window: Sequence[CteEvent], tally: Tally
    ) -> tuple[dict[LotKey, str], dict[LotKey, list[OriginEvent]]]:
        """Each lot's TLC source (the place of its first assigning CTE) and its harvests
        and coolings: from the window, and for what the window lacks, from the lots'
        oldest candidate events before it (one query per page of lots)."""
        sources = _assigned(window, keys)
        history = _origins(window, keys)
        packed = {
            (ln.gtin, ln.lot)
            for e in window
            if e.cte in ("initial_packing", "first_land_based_receiving")
            for ln in e.lines
            if ln.gtin and ln.lot
        } & keys
        wanted = sorted((keys - set(sources)) | (packed - set(history)))
        first = min((e.event.event_time for e in window), default=None)
        for at in range(0, len(wanted), _LOT_PAGE):
            tally.check_time()
            page = wanted[at : at + _LOT_PAGE]
            older = self._store.first_events_of_lots(
                page,
                until=first,
                biz_steps=(*ASSIGNING_STEPS, *ORIGIN_STEPS),
                outputs_of=(_TRANSFORMATION,),
                per_lot=_HISTORY,
            )
            mapped = self._with_lines(older, tally, counted=False)
            for key, place in _assigned(mapped, set(page)).items():
                sources.setdefault(key, place)
            for key, found in _origins(mapped, set(page) & packed).items():
                history[key] = sorted([*history.get(key, []), *found], key=lambda o: o.moment)
        return sources, history


def _rows(events: Sequence[CteEvent], master: MasterData, tally: Tally) -> list[Row]:
    rows: list[Row] = []
    for e in events:
        tally.check_time()
        document = e.event.document()
        rows.extend(rows_of(e.event.id, document, e.event.event_time, e.cte, e.lines, master))
    return rows


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


def _origins(events: Sequence[CteEvent], keys: set[LotKey]) -> dict[LotKey, list[OriginEvent]]:
    """The harvesting and cooling events of ``keys`` among ``events``."""
    found: list[OriginEvent] = []
    for e in events:
        if e.cte not in ("harvesting", "cooling"):
            continue
        document = e.event.document()
        moment = local_time(e.event.event_time, document.get("eventTimeZoneOffset"))
        for line in e.lines:
            key = (line.gtin, line.lot) if line.gtin and line.lot else None
            if key is not None and key in keys:
                found.append(
                    OriginEvent(
                        key=key,
                        cte=e.cte,
                        moment=moment,
                        read_point=_place_id(document.get("readPoint")),
                        biz_location=_place_id(document.get("bizLocation")),
                    )
                )
    return origins(found)


def _place_id(value: object) -> str | None:
    found = value.get("id") if isinstance(value, dict) else None
    return found if isinstance(found, str) and found else None


def _day(event: StoredEvent) -> date:
    return local_time(event.event_time, event.document().get("eventTimeZoneOffset")).date()
