"""What the alarm engine knows of places: their master data and the products at them.

A port (``Places``) so evaluation and engine tests can hand in plain values, and its
adapter over the records store and the custody view. Which lots are at a place comes from
the EPCIS events (``CustodyService.lots_at``), a query per place; the engine asks for every
series every few seconds, so answers are cached for ``ttl_s`` (a lot moved in is alarmed
on with its band within that time). ``located`` (every place) and ``lots_at`` serve the
lot rules (``lotwatch.LotPlaces``), cached the same way.

``products_at`` and ``lots_at`` are cached per place AND per window, the window's start and
end rounded down to ``ttl_s``: the live rounds' windows, which move by seconds, share an
entry, while a probe's backlog after a gateway outage (a window hours back) gets the lots
that were there then, not the current ones. Expired entries are dropped as new ones come.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from traceability.records.entities import Product
from traceability.records.locations import Location

T = TypeVar("T")
_Key = tuple[str, int, int]  # place, window start and end in ``ttl_s`` buckets


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
        self._products: dict[_Key, tuple[datetime, tuple[Product, ...]]] = {}
        self._lots: dict[_Key, tuple[datetime, tuple[tuple[str, str], ...]]] = {}
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
        def ask() -> tuple[Product, ...]:
            gtins = sorted({gtin for gtin, _lot in self._custody.lots_at(urn, start, end)})
            found = (self._records.get_product(g) for g in gtins)
            return tuple(p for p in found if p is not None)

        return self._cached(self._products, (urn, start, end), ask)

    def located(self) -> Sequence[Location]:
        now = self._clock()
        if self._located is not None and now - self._located[0] < self._ttl:
            return self._located[1]
        found = tuple(self._records.locations())
        self._located = (now, found)
        return found

    def lots_at(self, urn: str, start: datetime, end: datetime) -> Sequence[tuple[str, str]]:
        def ask() -> tuple[tuple[str, str], ...]:
            return tuple(sorted(set(self._custody.lots_at(urn, start, end))))

        return self._cached(self._lots, (urn, start, end), ask)

    def _cached(
        self,
        cache: dict[_Key, tuple[datetime, T]],
        window: tuple[str, datetime, datetime],
        ask: Callable[[], T],
    ) -> T:
        now = self._clock()
        urn, start, end = window
        size = self._ttl.total_seconds() or 1.0
        key = (urn, int(start.timestamp() // size), int(end.timestamp() // size))
        cached = cache.get(key)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        for old in [k for k, (at, _value) in cache.items() if now - at >= self._ttl]:
            del cache[old]
        found = ask()
        cache[key] = (now, found)
        return found
