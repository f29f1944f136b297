"""The route table (``web.app``): what is served where."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from tests.support.webapp import PAGE

if TYPE_CHECKING:
    from starlette.testclient import TestClient


# Starlette 1.10's test client warns (at import) that it wants the `httpx2` package; the
# warning is about the test tool's transport, not our code. Imported lazily so this
# narrow filter applies.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Using `httpx` with `starlette.testclient` is deprecated"
)


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_assets_are_served_locally(client: TestClient) -> None:
    html = client.get(PAGE).text
    assert 'href="/static/tracehub.css"' in html
    assert re.findall(r'(?:src|href)="(https?:)?//', html) == []  # no CDN, no remote asset
    css = client.get("/static/tracehub.css")
    js = client.get("/static/verify.js")
    assert css.status_code == js.status_code == 200
    assert "http" not in css.text
    assert "fetch(" not in js.text  # no server call
    assert "XMLHttpRequest" not in js.text


def test_the_route_table(client: TestClient) -> None:
    paths = {getattr(route, "path", None) for route in client.app.routes}  # type: ignore[attr-defined]
    lot = "/{gtin}/{lot}"
    assert paths == {
        "/01/{rest:path}",
        "/gtin/{rest:path}",
        f"/evidence{lot}",
        "/healthz",
        "/readyz",
        "/.well-known/tracehub.json",
        "/static",
        *(
            f"/auditor/lots{lot}/{name}"
            for name in ("events", "telemetry", "exposure", "masterdata", "evidence")
        ),
        f"/auditor/lots{lot}/report.pdf",  # web.report
        "/auditor/places/{urn}/report.pdf",
        "/auditor/fsma204",  # web.fsmaexport
        "/capture",
        "/capture/{captureID}",
        "/epcis/capture",
        "/epcis/events",
        # web.epcisquery: the EPCIS query (ids and EPCs in paths hold slashes)
        "/",
        "/events",
        "/events/{eventID:path}",
        "/nextPageToken/{token}",
        *(
            path
            for resource, name in (
                ("eventTypes", "eventType"),
                ("epcs", "epc"),
                ("bizSteps", "bizStep"),
                ("bizLocations", "bizLocation"),
                ("readPoints", "readPoint"),
                ("dispositions", "disposition"),
            )
            for path in (
                f"/{resource}",
                f"/{resource}/{{{name}:path}}",
                f"/{resource}/{{{name}:path}}/events",
            )
        ),
        # web.queries: named queries and their subscriptions
        "/queries",
        "/queries/{queryName}",
        "/queries/{queryName}/events",
        "/queries/{queryName}/subscriptions",
        "/queries/{queryName}/subscriptions/{subscriptionID}",
        *(f"/lots{lot}/{name}" for name in ("custody", "recall", "exposure")),
        "/openapi.json",
    }
