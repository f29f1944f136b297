"""The page cache: TTL, LRU bound, single build under concurrency, invalidation; and
through the app: ETag revalidation, gzip, a capture or the TTL dropping a lot's pages."""

from __future__ import annotations

import gzip
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest

from tests.support.epcis import captured
from tests.support.events import COLD_ROOM, DOCK, object_event
from tests.support.webapp import PAGE, SteppedSeries, app_for, bearer, make_client, text_of
from traceability.records.store import RecordStore
from web.pagecache import CachedPage, PageCache

if TYPE_CHECKING:
    from starlette.testclient import TestClient

# Starlette 1.10's test client warns (at import) that it wants the `httpx2` package; the
# warning is about the test tool's transport, not our code. Imported lazily so this
# narrow filter applies.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Using `httpx` with `starlette.testclient` is deprecated"
)


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


def test_pages_are_cached_until_the_lot_changes(with_events: RecordStore) -> None:
    series = SteppedSeries({DOCK: [3.0], COLD_ROOM: [2.0]})
    app = app_for(with_events, series)
    with make_client(app) as client:
        first = client.get(PAGE)
        calls = series.calls
        again = client.get(PAGE)
        assert series.calls == calls  # served from the cache: no exposure, no series
        assert again.content == first.content
        etag = first.headers["etag"]
        assert client.get(PAGE, headers={"If-None-Match": etag}).status_code == 304
        zipped = client.get(PAGE, headers={"Accept-Encoding": "gzip"})
        assert zipped.headers["content-encoding"] == "gzip"
        assert zipped.content == first.content  # the client unzips it
        document = {
            "@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],
            "type": "EPCISDocument",
            "schemaVersion": "2.0",
            "creationDate": "2026-11-22T11:00:00Z",
            "epcisBody": {"eventList": [object_event(serial="1003", time="2026-11-22T11:00:00Z")]},
        }
        job = captured(client, document, headers=bearer(with_events, "capture"))
        assert job["success"], job
        after = client.get(PAGE)
        assert series.calls > calls  # the capture dropped the lot's cached pages
        assert text_of(after.text, "anchor-status") == "3 of 3 events not yet anchored."
    assert app.state.pages.builds >= 2


def test_gzip_body_is_the_page(client: TestClient) -> None:
    page = client.app.state.pages  # type: ignore[attr-defined]
    client.get(PAGE)
    (entry,) = [v for v in page._entries.values()]
    cached = entry[2]
    assert cached.gzipped is not None
    assert gzip.decompress(cached.gzipped) == cached.body


def test_stale_pages_are_rebuilt_after_the_ttl(with_events: RecordStore) -> None:
    from web.pagecache import PageCache

    ticks = [0.0]
    series = SteppedSeries({DOCK: [3.0]})
    app = app_for(with_events, series, cache=PageCache(ttl_s=30, clock=lambda: ticks[0]))
    with make_client(app) as client:
        client.get(PAGE)
        calls = series.calls
        ticks[0] = 29.0
        client.get(PAGE)
        assert series.calls == calls
        ticks[0] = 31.0
        client.get(PAGE)
        assert series.calls > calls


def test_a_page_carries_its_etag_and_zips_only_past_a_kilobyte() -> None:
    small = CachedPage.of(b"<p>hi</p>", 200, "text/html")
    assert small.etag == '"' + small.etag.strip('"') + '"'
    assert len(small.etag) == 34
    assert small.gzipped is None
    large = CachedPage.of(b"x" * 2048, 200, "text/html")
    assert large.gzipped is not None
    assert gzip.decompress(large.gzipped) == large.body
    assert CachedPage.of(b"x" * 2048, 200, "text/html") == large  # deterministic (mtime 0)
    moved = CachedPage.redirect("/01/04012345111118", 301)
    assert (moved.status, moved.etag, moved.headers) == (
        301,
        "",
        (("Location", "/01/04012345111118"),),
    )
