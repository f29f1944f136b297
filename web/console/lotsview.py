"""What the console's lot pages show, gathered from the records (no HTML here).

* ``stock``: per place, the lots there now (custody: each unit's current stay, so a lot
  split over two rooms is listed in both with its units there), first expiry first
  (the records' FEFO order); the lots expired or near expiry, first expiry first, with
  where they are; and for each lot in stock the stability budget left (``LotExposure``:
  the exposure service the lot pages use; "not computed" without one).
* ``recall``: which lots were at a place at any time in ``[start, end]``
  (``CustodyService.lots_at``, the query an excursion's incident uses), each with its
  stays there that touch the window and where its units are now.

Both read the database and, for budgets, the telemetry: callers run them in a worker
thread. A budget costs one exposure (~200 ms on a 90-day lot), so only lots in stock
get one, and at most ``max_budgets`` per page (first expiry first; the rest say "not
computed"): a site with thousands of lots in stock must not hold a worker for minutes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict

from traceability.coldchain.exposure import Exposure
from traceability.custody import CustodyService
from traceability.errors import TraceabilityError
from traceability.expiry import ExpiryStatus, expiry_status, near_expiry
from traceability.records.entities import Lot, Product
from traceability.records.store import RecordStore
from web.resolver import Target


class LotExposure(Protocol):
    """A lot's cold-chain exposure (``traceability.coldchain.exposure.ExposureService``)."""

    def exposure(self, gtin: str, lot: str) -> Exposure: ...


BudgetState = Literal["left", "no_budget", "not_computed", "unavailable"]


class BudgetLeft(BaseModel):
    """The stability budget a lot has left: the least minutes (and share) over its steps."""

    model_config = ConfigDict(frozen=True)

    state: BudgetState
    left_min: float | None = None
    share_left: float | None = None  # 0..1
    exhausted: bool = False


NOT_COMPUTED = BudgetLeft(state="not_computed")


class LotHere(BaseModel):
    """One lot at one place now."""

    model_config = ConfigDict(frozen=True)

    gtin: str
    lot: str
    product: str  # the product's name
    expiry: ExpiryStatus
    units: int  # the lot's identifiers (units, or lot-level quantities) there now
    budget: BudgetLeft
    page: str  # the consumer page (GS1 Digital Link path)


class Place(BaseModel):
    model_config = ConfigDict(frozen=True)

    urn: str
    name: str | None  # None: a place the records do not describe
    lots: tuple[LotHere, ...]


class Expiring(BaseModel):
    """A lot expired or near expiry, and where its units are now."""

    model_config = ConfigDict(frozen=True)

    status: ExpiryStatus
    product: str
    places: tuple[str, ...]  # place names (or URNs); empty: in transit or shipped
    page: str


class Stock(BaseModel):
    model_config = ConfigDict(frozen=True)

    today: date
    near_days: int
    places: tuple[Place, ...]
    expiring: tuple[Expiring, ...]
    budgets: bool  # an exposure port was given


class RecallHit(BaseModel):
    model_config = ConfigDict(frozen=True)

    gtin: str
    lot: str
    product: str
    stays: tuple[tuple[datetime, datetime | None], ...]  # at the place, touching the window
    now_at: tuple[str, ...]  # where its units are now (names or URNs)
    page: str


class Recall(BaseModel):
    model_config = ConfigDict(frozen=True)

    place: str
    place_name: str | None
    start: datetime
    end: datetime
    hits: tuple[RecallHit, ...]


MAX_BUDGETS = 50  # exposures per page load (module docstring)


class LotBook:
    """The console's reads of lots over the records (and an exposure port, if any)."""

    def __init__(
        self,
        store: RecordStore,
        exposure: LotExposure | None = None,
        near_days: int = 7,
        max_budgets: int = MAX_BUDGETS,
    ) -> None:
        self._max_budgets = max_budgets
        self._store = store
        self._custody = CustodyService(store)
        self._exposure = exposure
        self._near = near_days

    def places(self) -> dict[str, str]:
        """Every described place: URN → name, by name."""
        found = {p.urn: p.name for p in self._store.locations()}
        return dict(sorted(found.items(), key=lambda item: (item[1], item[0])))

    def stock(self, today: date) -> Stock:
        names = self.places()
        lots = self._store.lots()  # FEFO: the order lots are listed in at each place
        products = self._products(lots)
        lives = {gtin: p.shelf_life_days for gtin, p in products.items()}
        at: dict[str, list[LotHere]] = defaultdict(list)
        where: dict[tuple[str, str], list[str]] = {}
        computed = 0
        for lot in lots:
            product = products[lot.gtin]
            counts = _count(self._custody.where_now(lot.gtin, lot.lot).values())
            where[(lot.gtin, lot.lot)] = list(counts)
            if not counts:
                continue
            status = expiry_status(lot, today, self._near, product.shelf_life_days)
            budget = NOT_COMPUTED
            if computed < self._max_budgets:
                budget, computed = self._budget(lot), computed + 1
            for place, units in counts.items():
                at[place].append(
                    LotHere(
                        gtin=lot.gtin,
                        lot=lot.lot,
                        product=product.name,
                        expiry=status,
                        units=units,
                        budget=budget,
                        page=_page(lot.gtin, lot.lot),
                    )
                )
        # Described places by name, then any the records do not describe, by URN.
        order = {urn: index for index, urn in enumerate(names)}
        ranked = sorted(at, key=lambda urn: (order.get(urn, len(order)), urn))
        places = tuple(Place(urn=u, name=names.get(u), lots=tuple(at[u])) for u in ranked)
        expiring = tuple(
            Expiring(
                status=status,
                product=products[status.gtin].name,
                places=tuple(names.get(u, u) for u in where.get((status.gtin, status.lot), [])),
                page=_page(status.gtin, status.lot),
            )
            for status in near_expiry(lots, today, self._near, lives)
        )
        return Stock(
            today=today,
            near_days=self._near,
            places=places,
            expiring=expiring,
            budgets=self._exposure is not None,
        )

    def recall(self, place: str, start: datetime, end: datetime) -> Recall:
        names = self.places()
        hits = []
        products: dict[str, Product | None] = {}
        for gtin, lot in self._custody.lots_at(place, start, end):
            if gtin not in products:
                products[gtin] = self._store.get_product(gtin)
            product = products[gtin]
            spans = self._custody.lot_timeline(gtin, lot).locations().get(place, [])
            touching = tuple((s, e) for s, e in spans if s <= end and (e is None or e >= start))
            now_at = _count(self._custody.where_now(gtin, lot).values())
            hits.append(
                RecallHit(
                    gtin=gtin,
                    lot=lot,
                    product=product.name if product is not None else gtin,
                    stays=touching,
                    now_at=tuple(names.get(u, u) for u in now_at),
                    page=_page(gtin, lot),
                )
            )
        return Recall(
            place=place,
            place_name=names.get(place),
            start=start,
            end=end,
            hits=tuple(hits),
        )

    def _products(self, lots: Iterable[Lot]) -> dict[str, Product]:
        found: dict[str, Product] = {}
        for lot in lots:
            if lot.gtin not in found:
                product = self._store.get_product(lot.gtin)
                # A lot is added only for a known product (the store checks it).
                assert product is not None, lot.gtin
                found[lot.gtin] = product
        return found

    def _budget(self, lot: Lot) -> BudgetLeft:
        if self._exposure is None:
            return NOT_COMPUTED
        try:
            use = self._exposure.exposure(lot.gtin, lot.lot).budget
        except TraceabilityError:  # telemetry down, a record unreadable: say so, per lot
            return BudgetLeft(state="unavailable")
        if use is None:
            return BudgetLeft(state="no_budget")
        return BudgetLeft(
            state="left", left_min=use.left_min, share_left=use.share_left, exhausted=use.exhausted
        )


def _count(places: Iterable[str | None]) -> dict[str, int]:
    """Identifiers per current place, in order of first appearance (None: nowhere now)."""
    counts: dict[str, int] = {}
    for place in places:
        if place is not None:
            counts[place] = counts.get(place, 0) + 1
    return counts


def _page(gtin: str, lot: str) -> str:
    return Target(gtin=gtin, lot=lot).path
