"""Rendered pages kept for a short time, so a viewed lot costs a dictionary lookup.

A lot page needs the lot's exposure (~200 ms on a long journey), its proofs and its
footprint; a QR code on a pallet of salmon is scanned by many people within minutes.
``PageCache`` keeps each rendered page for ``ttl_s`` seconds (default 30) and at most
``max_entries`` pages (least recently used out), computes a missing page once however
many requests ask for it at the same moment (one lock per key), and drops a lot's pages
on ``invalidate(gtin, lot)`` (the capture endpoint calls it for the lots it touched;
the hub calls ``invalidate_all`` after anchoring a batch). Thread-safe.

``CachedPage.of`` makes a page with its ETag and gzip form computed once, when built;
``CachedPage.redirect`` a redirect (cached like a page: resolving it costs a lookup).
"""

from __future__ import annotations

import gzip
import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

from pydantic import BaseModel, ConfigDict

DEFAULT_TTL_S = 30.0
DEFAULT_MAX_ENTRIES = 4096


class CachedPage(BaseModel):
    model_config = ConfigDict(frozen=True)

    body: bytes
    status: int
    media_type: str
    etag: str
    gzipped: bytes | None = None  # the body gzip-compressed once, for slow connections
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, body: bytes, status: int, media_type: str) -> CachedPage:
        """A page with its ETag (a digest of the body) and, past 1 KiB, its gzip form."""
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        return cls(
            body=body,
            status=status,
            media_type=media_type,
            etag=etag,
            # mtime=0: the same body always zips to the same bytes
            gzipped=gzip.compress(body, 6, mtime=0) if len(body) > 1024 else None,
        )

    @classmethod
    def redirect(cls, location: str, status: int) -> CachedPage:
        """A redirect to ``location`` (no body, no ETag: nothing to revalidate)."""
        return cls(
            body=b"",
            status=status,
            media_type="text/plain",
            etag="",
            headers=(("Location", location),),
        )


class PageCache:
    def __init__(
        self,
        ttl_s: float = DEFAULT_TTL_S,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl_s < 0:
            raise ValueError(f"ttl_s {ttl_s}: must be zero (no caching) or more")
        self._ttl = ttl_s
        self._max = max_entries
        self._clock = clock
        self._entries: OrderedDict[Hashable, tuple[float, tuple[str, str], CachedPage]] = (
            OrderedDict()
        )
        self._locks: dict[Hashable, threading.Lock] = {}
        self._guard = threading.Lock()
        self.builds = 0  # pages computed (for tests and the benchmark)

    def peek(self, key: Hashable) -> CachedPage | None:
        """The fresh page under ``key``, or None (never builds)."""
        with self._guard:
            found = self._entries.get(key)
            if found is None:
                return None
            if self._clock() - found[0] > self._ttl:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return found[2]

    def get(
        self, key: Hashable, lot: tuple[str, str], build: Callable[[], CachedPage]
    ) -> CachedPage:
        """The page under ``key`` (of ``lot``), built once if missing or stale."""
        page = self.peek(key)
        if page is not None:
            return page
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            page = self.peek(key)  # another request may have built it meanwhile
            if page is not None:
                return page
            page = build()
            self.builds += 1
            if self._ttl > 0:
                with self._guard:
                    self._entries[key] = (self._clock(), lot, page)
                    self._entries.move_to_end(key)
                    while len(self._entries) > self._max:
                        self._entries.popitem(last=False)
            with self._guard:
                self._locks.pop(key, None)
            return page

    def invalidate(self, gtin: str, lot: str) -> None:
        """Forget every page (any language, unit or format) of lot ``gtin/lot``."""
        with self._guard:
            for key in [k for k, v in self._entries.items() if v[1] == (gtin, lot)]:
                del self._entries[key]

    def invalidate_all(self) -> None:
        with self._guard:
            self._entries.clear()

    def __len__(self) -> int:
        with self._guard:
            return len(self._entries)
