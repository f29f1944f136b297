"""``Publisher`` + ``GrafanaClientApi`` (grafana-client) against a recording HTTP server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

try:
    import grafana_client  # noqa: F401 - the optional extra these tests exercise
except ImportError as exc:  # a clear reason instead of a bare collection error
    raise ImportError(
        "tests of tracehub grafana publish need the grafana extra: URLLIB3_NO_OVERRIDE=1 pip "
        "install -c constraints.txt --no-binary urllib3-future -e '.[dev,grafana]'"
    ) from exc

from grafana.client import GrafanaClientApi
from grafana.errors import GrafanaUnavailable, PublishRejected
from grafana.policy import Policy
from grafana.publish import Publisher
from tests.grafana.fake_grafana import FakeGrafana

HOOK = "https://alerts.example.com/tracehub"


@pytest.fixture
def grafana() -> Iterator[FakeGrafana]:
    with FakeGrafana() as server:
        yield server


@pytest.fixture
def clients() -> Iterator[list[GrafanaClientApi]]:
    """Every client a test opens, closed at the end (pooled sockets must not leak)."""
    opened: list[GrafanaClientApi] = []
    yield opened
    for client in opened:
        client.close()


def _publisher(
    grafana: FakeGrafana,
    clients: list[GrafanaClientApi],
    token: str | None = None,
    **kwargs: object,
) -> Publisher:
    api = GrafanaClientApi(grafana.url, token or grafana.state.token, timeout=2)
    clients.append(api)
    return Publisher(api, **kwargs)  # type: ignore[arg-type]


def test_first_publish_creates_everything_with_the_token(
    grafana: FakeGrafana, clients: list[GrafanaClientApi]
) -> None:
    report = _publisher(grafana, clients, webhook_url=HOOK).publish()
    state = grafana.state
    assert sorted(report.created) == sorted(
        [
            "folder:tracehub",
            "dashboard:tracehub-coldchain",
            "dashboard:tracehub-lot",
            "dashboard:tracehub-agv",
            "dashboard:tracehub-rfid",
            "dashboard:tracehub-gateway",
            "contact-point:tracehub-webhook",
            "alert-rule:tracehub-temperature-band",
            "alert-rule:tracehub-spool-near-full",
            "alert-rule:tracehub-gateway-silent",
            "alert-rule:tracehub-gateway-no-ingest",
        ]
    )
    assert report.updated == ("rule-group:tracehub",)
    assert all(r.headers["authorization"] == "Bearer secret-token" for r in state.requests)
    # the contact point exists before any rule that routes to it
    writes = state.writes()
    assert writes.index(("POST", "/api/v1/provisioning/contact-points")) < writes.index(
        ("POST", "/api/v1/provisioning/alert-rules")
    )
    saved = [r.body for r in state.requests if r.path == "/api/dashboards/db"]
    assert all(b["overwrite"] is True and b["folderUid"] == "tracehub" for b in saved)
    assert state.contact_points["tracehub-webhook"]["settings"]["url"] == HOOK
    assert state.groups[("tracehub", "tracehub")] == 60


def test_second_publish_only_reads(grafana: FakeGrafana, clients: list[GrafanaClientApi]) -> None:
    _publisher(grafana, clients, webhook_url=HOOK).publish()
    grafana.state.requests.clear()
    report = _publisher(grafana, clients, webhook_url=HOOK).publish()
    assert not report.changed
    assert grafana.state.writes() == []
    assert len(report.unchanged) == 12  # folder, 5 dashboards, contact point, 4 rules, group


def test_changed_policy_updates_only_what_depends_on_it(
    grafana: FakeGrafana, clients: list[GrafanaClientApi]
) -> None:
    _publisher(grafana, clients, webhook_url=HOOK).publish()
    grafana.state.requests.clear()
    frozen = Policy(band_low_c=-25.0, band_high_c=-18.0)
    report = _publisher(grafana, clients, policy=frozen, webhook_url=HOOK).publish()
    assert sorted(report.updated) == [
        "alert-rule:tracehub-temperature-band",
        "dashboard:tracehub-coldchain",
        "dashboard:tracehub-lot",
    ]
    assert sorted(grafana.state.writes()) == [
        ("POST", "/api/dashboards/db"),
        ("POST", "/api/dashboards/db"),
        ("PUT", "/api/v1/provisioning/alert-rules/tracehub-temperature-band"),
    ]
    assert grafana.state.dashboards["tracehub-coldchain"]["dashboard"]["version"] == 2
    rule = grafana.state.rules["tracehub-temperature-band"]
    assert rule["data"][2]["model"]["conditions"][0]["evaluator"]["params"] == [-25.0, -18.0]


def test_datasource_uid_is_rewritten_everywhere(
    grafana: FakeGrafana, clients: list[GrafanaClientApi]
) -> None:
    _publisher(grafana, clients, webhook_url=HOOK, datasource_uid="influx-prod").publish()
    text = str(grafana.state.dashboards) + str(grafana.state.rules)
    assert "tracehub-influxdb" not in text
    assert "influx-prod" in text
    assert {q["datasourceUid"] for r in grafana.state.rules.values() for q in r["data"]} == {
        "influx-prod",
        "__expr__",
    }


def test_contact_point_url_is_required_only_the_first_time(
    grafana: FakeGrafana, clients: list[GrafanaClientApi]
) -> None:
    with pytest.raises(ValueError, match="webhook-url"):
        _publisher(grafana, clients).publish()
    _publisher(grafana, clients, webhook_url=HOOK).publish()
    report = _publisher(grafana, clients).publish()  # keeps the URL the Grafana has
    assert not report.changed


def test_bad_token_is_rejected_naming_the_status(
    grafana: FakeGrafana, clients: list[GrafanaClientApi]
) -> None:
    with pytest.raises(PublishRejected, match="HTTP 401") as caught:
        _publisher(grafana, clients, token="wrong", webhook_url=HOOK).publish()
    assert caught.value.status == 401


def test_server_errors_and_unreachable_grafana_are_unavailable(
    grafana: FakeGrafana, clients: list[GrafanaClientApi]
) -> None:
    grafana.state.fail_with = 503
    with pytest.raises(GrafanaUnavailable, match="503"):
        _publisher(grafana, clients, webhook_url=HOOK).publish()
    url = grafana.url
    grafana.__exit__(None, None, None)
    with (
        GrafanaClientApi(url, "t", timeout=2) as api,
        pytest.raises(GrafanaUnavailable, match="check --url"),
    ):
        Publisher(api, webhook_url=HOOK).publish()


def test_bad_url_is_rejected_naming_the_field() -> None:  # no client is opened
    with pytest.raises(ValueError, match="url"):
        GrafanaClientApi("localhost:3000", "t")
