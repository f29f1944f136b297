"""What the alarm engine knows of places: their master data and the products at them.

A port (``Places``) so evaluation and engine tests can hand in plain values, and its
adapter over the records store and the custody view. Which lots are at a place comes from
the EPCIS events (``CustodyService.lots_at``), a query per place; the engine asks for every
series every few seconds, so answers are cached for ``ttl_s`` (a lot moved in is alarmed
on with its band within that time). ``located`` (every place) and ``lots_at`` serve the
lot rules (``lotwatch.LotPlaces``), cached the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from traceability.records.entities import Product
from traceability.records.locations import Location


class Places(Protocol):
    def place(self, urn: str) -> Location | None:
        """The place's master data, or None when it is not (yet) known."""
        ...

    def products_at(self, urn: str, start: datetime, end: datetime) -> Sequence[Product]:
        """The products of the lots at ``urn`` at any time in ``[start, end]``."""
        ...


class _Locations(Protocol):
    def get_location(self, urn: str) -> Location | None: ...

    def get_product(self, gtin: str) -> Product | None: ...

    def locations(self) -> list[Location]: ...


class _Custody(Protocol):
    def lots_at(self, location: str, start: datetime, end: datetime) -> list[tuple[str, str]]: ...


class RecordPlaces:
    """``Places`` over the records (locations, products) and custody (lots at a place)."""

    def __init__(
        self,
        records: _Locations,
        custody: _Custody,
        clock: Callable[[], datetime],
        ttl_s: float = 30.0,
    ) -> None:
        self._records = records
        self._custody = custody
        self._clock = clock
        self._ttl = timedelta(seconds=ttl_s)
        self._places: dict[str, tuple[datetime, Location | None]] = {}
        self._products: dict[str, tuple[datetime, tuple[Product, ...]]] = {}
        self._lots: dict[str, tuple[datetime, tuple[tuple[str, str], ...]]] = {}
        self._located: tuple[datetime, tuple[Location, ...]] | None = None

    def place(self, urn: str) -> Location | None:
        now = self._clock()
        cached = self._places.get(urn)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        found = self._records.get_location(urn)
        self._places[urn] = (now, found)
        return found

    def products_at(self, urn: str, start: datetime, end: datetime) -> Sequence[Product]:
        now = self._clock()
        cached = self._products.get(urn)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        gtins = sorted({gtin for gtin, _lot in self._custody.lots_at(urn, start, end)})
        products = tuple(p for p in (self._records.get_product(g) for g in gtins) if p is not None)
        self._products[urn] = (now, products)
        return products

    def located(self) -> Sequence[Location]:
        now = self._clock()
        if self._located is not None and now - self._located[0] < self._ttl:
            return self._located[1]
        found = tuple(self._records.locations())
        self._located = (now, found)
        return found

    def lots_at(self, urn: str, start: datetime, end: datetime) -> Sequence[tuple[str, str]]:
        now = self._clock()
        cached = self._lots.get(urn)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        lots = tuple(sorted(set(self._custody.lots_at(urn, start, end))))
        self._lots[urn] = (now, lots)
        return lots
