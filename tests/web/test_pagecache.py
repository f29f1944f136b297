"""The page cache: TTL, LRU bound, single build under concurrency, invalidation."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from web.pagecache import CachedPage, PageCache


def page(text: str) -> CachedPage:
    return CachedPage(body=text.encode(), status=200, media_type="text/html", etag='"x"')


def test_ttl_and_lru() -> None:
    now = [0.0]
    cache = PageCache(ttl_s=10, max_entries=2, clock=lambda: now[0])
    cache.get("a", ("g", "1"), lambda: page("a"))
    cache.get("b", ("g", "2"), lambda: page("b"))
    cache.get("a", ("g", "1"), lambda: page("never"))  # a is now the most recent
    cache.get("c", ("g", "3"), lambda: page("c"))  # evicts b
    assert cache.peek("b") is None
    assert cache.peek("a") == page("a")
    now[0] = 11.0
    assert cache.peek("a") is None
    assert cache.builds == 3


def test_one_build_for_many_concurrent_requests() -> None:
    cache = PageCache(ttl_s=60)
    started = threading.Event()
    release = threading.Event()

    def slow() -> CachedPage:
        started.set()
        assert release.wait(10)
        return page("lot")

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(cache.get, "k", ("g", "l"), slow) for _ in range(8)]
        assert started.wait(10)
        release.set()
        results = [f.result(timeout=10) for f in futures]
    assert cache.builds == 1
    assert all(r == page("lot") for r in results)


def test_invalidate_one_lot_or_all() -> None:
    cache = PageCache(ttl_s=60)
    cache.get(("en", 1), ("g", "L1"), lambda: page("1en"))
    cache.get(("zh", 1), ("g", "L1"), lambda: page("1zh"))
    cache.get(("en", 2), ("g", "L2"), lambda: page("2"))
    cache.invalidate("g", "L1")
    assert len(cache) == 1
    assert cache.peek(("en", 2)) is not None
    cache.invalidate_all()
    assert len(cache) == 0


def test_zero_ttl_never_keeps_and_negative_is_refused() -> None:
    cache = PageCache(ttl_s=0)
    cache.get("k", ("g", "l"), lambda: page("x"))
    assert len(cache) == 0
    with pytest.raises(ValueError, match="ttl_s -1"):
        PageCache(ttl_s=-1)
