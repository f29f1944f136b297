"""The lot page in a real browser (headless Debian chromium) at phone width, in both
languages: no console errors, the chart drawn, the in-page proof check passes (and
fails on a tampered proof), the downloaded bundle verifies, the page stays light."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ledger.verify.trust import from_keys
from ledger.verify.verifier import Verdict, verify_bundle
from tests.browser.conftest import Site
from tests.support.events import GTIN

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize

pytestmark = pytest.mark.integration

PAGE = f"/01/{GTIN}/10/L1"
PHONE: ViewportSize = {"width": 390, "height": 844}
MAX_PAGE_BYTES = 150 * 1024


class Watched:
    """A phone-sized page that records console errors and every response's size."""

    def __init__(self, browser: Browser, locale: str) -> None:
        self.context: BrowserContext = browser.new_context(
            viewport=PHONE, device_scale_factor=2, is_mobile=True, locale=locale,
            accept_downloads=True,
        )  # fmt: skip
        self.page: Page = self.context.new_page()
        self.errors: list[str] = []
        self.bytes = 0
        self.urls: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("response", self._count)

    def _count(self, response: object) -> None:
        from playwright.sync_api import Response

        assert isinstance(response, Response)
        self.urls.append(response.url)
        if response.status < 300:
            self.bytes += len(response.body())

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def watched(browser: Browser) -> Watched:
    return Watched(browser, "en-US")


def _proof_state(page: Page) -> str:
    page.wait_for_function(
        "document.getElementById('proof-status').dataset.state !== 'pending'", timeout=10_000
    )
    state: str = page.get_attribute("#proof-status", "data-state") or ""
    return state


@pytest.mark.parametrize(
    ("locale", "heading", "held"),
    [("en-US", "Journey", "The cold chain was broken"), ("zh-CN", "流转路径", "冷链已中断")],
)
def test_phone_page_in_each_language(
    browser: Browser, site: Site, artifacts: Path, locale: str, heading: str, held: str
) -> None:
    watched = Watched(browser, locale)
    page = watched.page
    try:
        response = page.goto(site.url + PAGE)
        assert response is not None
        assert response.status == 200
        assert page.locator("h2", has_text=heading).count() == 1
        assert held in page.inner_text("#cold-words")
        assert _proof_state(page) == "ok"
        status = page.inner_text("#proof-status")
        assert status.startswith("✓")
        assert "2" in status
        chart = page.locator("svg#chart")
        box = chart.bounding_box()
        assert box is not None
        assert box["width"] > 300  # fills the phone's width
        assert chart.locator(".excursion").count() == 1
        # nothing wider than the screen: no sideways scrolling on a phone
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        shot = artifacts / f"lot-{locale}.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
        assert watched.errors == []
        assert all(url.startswith(site.url) for url in watched.urls)  # no CDN
        assert watched.bytes < MAX_PAGE_BYTES, watched.bytes
    finally:
        watched.close()


def test_language_switch(watched: Watched, site: Site) -> None:
    page = watched.page
    page.goto(site.url + PAGE)
    page.click("#lang-zh-CN")
    page.wait_for_load_state()
    assert page.get_attribute("html", "lang") == "zh-CN"
    assert page.locator("h2", has_text="自行核验").count() == 1
    assert _proof_state(page) == "ok"
    watched.close()


def test_a_tampered_proof_is_reported_in_the_page(watched: Watched, site: Site) -> None:
    """The server (or a proxy) changes one proof step: the page's own check says so."""
    page = watched.page

    def tamper(route: object) -> None:
        from playwright.sync_api import Route

        assert isinstance(route, Route)
        original = route.fetch()
        html = original.text()
        data = re.search(r'id="proof-data">(.*?)</script>', html)
        assert data is not None
        proofs = json.loads(data.group(1))
        step = proofs["items"][1]["proof"][0]
        forged = ("0" if step[0] != "0" else "1") + step[1:]
        route.fulfill(response=original, body=html.replace(step, forged))

    page.route(f"{site.url}{PAGE}", tamper)
    page.goto(site.url + PAGE)
    assert _proof_state(page) == "fail"
    assert page.inner_text("#proof-status").startswith("✗")
    watched.close()


def test_downloaded_bundle_verifies(watched: Watched, site: Site, tmp_path: Path) -> None:
    page = watched.page
    page.goto(site.url + PAGE)
    with page.expect_download() as info:
        page.click("#bundle-link")
    target = tmp_path / info.value.suggested_filename
    info.value.save_as(target)
    assert target.name == f"evidence-{GTIN}-L1.json"
    bundle = json.loads(target.read_text())
    # Judged by the site's keys (what its trust document publishes), not the bundle's own.
    trust = from_keys(site.setup.ledger.public_keys(), "the test site's keys")
    report = verify_bundle(bundle, site.setup.reader, trust)
    assert report.verdict == Verdict.VERIFIED, [c for c in report.checks if not c.ok]
    watched.close()
