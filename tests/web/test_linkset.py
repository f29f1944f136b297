"""The linkset of a page (``web.linkset`` through the app): RFC 9264 by ``linkType=all``
or ``Accept``, the ``Link`` header, and ``linkType`` redirects."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.events import GTIN
from tests.support.webapp import PAGE, app_for, ledgered, make_client
from traceability.records.store import RecordStore

if TYPE_CHECKING:
    from starlette.testclient import TestClient


# Starlette 1.10's test client warns (at import) that it wants the `httpx2` package; the
# warning is about the test tool's transport, not our code. Imported lazily so this
# narrow filter applies.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Using `httpx` with `starlette.testclient` is deprecated"
)


def test_linkset_for_link_type_all(client: TestClient) -> None:
    response = client.get(PAGE + "?linkType=all")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/linkset+json")
    body = response.json()
    (context,) = body["linkset"]
    assert context["anchor"] == f"http://testserver{PAGE}"
    pip = context["https://gs1.org/voc/pip"]
    assert pip[0]["href"] == f"http://testserver{PAGE}"
    assert pip[0]["hreflang"] == ["en", "zh-CN"]
    assert context["https://gs1.org/voc/defaultLink"][0]["href"] == pip[0]["href"]
    assert "https://gs1.org/voc/traceability" not in context  # nothing anchored, no ledger
    by_accept = client.get(PAGE, headers={"Accept": "application/linkset+json"})
    assert by_accept.json() == body
    link_header = client.get(PAGE).headers["link"]
    assert f"<{PAGE}?linkType=all>" in link_header
    assert 'rel="linkset"' in link_header


@pytest.mark.integration
def test_link_type_traceability_redirects_to_the_bundle(
    with_events: RecordStore, tmp_path: Path
) -> None:
    setup = ledgered(with_events, tmp_path / "records.db")
    with make_client(app_for(with_events, evidence=setup.evidence)) as client:
        links = client.get(PAGE + "?linkType=all").json()["linkset"][0]
        assert links["https://gs1.org/voc/traceability"][0]["href"] == (
            f"http://testserver/evidence/{GTIN}/L1"
        )
        response = client.get(PAGE + "?linkType=gs1:traceability", follow_redirects=False)
        assert response.status_code == 307
        assert response.headers["location"] == f"http://testserver/evidence/{GTIN}/L1"
        # an unknown link type falls back to the default link: the page itself
        assert client.get(PAGE + "?linkType=gs1:nothing").status_code == 200
    with make_client(
        app_for(with_events, evidence=setup.evidence, evidence_public=False)
    ) as client:
        html = client.get(PAGE).text
        assert 'id="bundle-link"' not in html
        assert client.get(f"/evidence/{GTIN}/L1").status_code == 404
