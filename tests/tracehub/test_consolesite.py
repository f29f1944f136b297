"""The hub's console against a running hub (mosquitto, InfluxDB, SQLite, the embedded
EVM, uvicorn on a real socket): the demo's first admin logs in with the one-time
password the demo prints, must set their own, and then reaches every console page; a
viewer is refused an admin's action; the session secret is made once, private."""

from __future__ import annotations

import re
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from grafana.boards.coldchain import UID as COLDCHAIN
from tests.support.accounts import PASSWORD, ready_user
from tests.support.hubs import hub_settings
from tracehub import demo
from tracehub.consolesite import console_accounts, console_secret, first_admin, grafana_dashboard
from tracehub.hub import Hub
from tracehub.services import InfluxDB, Mosquitto

pytestmark = pytest.mark.integration


@pytest.fixture
def hub(
    tmp_path: Path, mosquitto: Mosquitto, influxdb: InfluxDB, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Hub]:
    monkeypatch.setenv("TRACEHUB_GRAFANA_URL", "http://grafana.example:3000/")
    settings = hub_settings(tmp_path / "state", "console", mosquitto, influxdb)
    with Hub(settings) as running:
        demo.seed(running.master)
        yield running


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found[1]


def _login(web: httpx.Client, name: str, password: str, **more: str) -> httpx.Response:
    form = web.get("/console/login")
    assert form.status_code == 200
    fields = {"csrf": _csrf(form.text), "name": name, "password": password, **more}
    return web.post("/console/login", data=fields)


def test_the_first_admin_logs_in_sets_a_password_and_sees_every_page(hub: Hub) -> None:
    told = first_admin(hub.settings, hub.store)
    one_time = re.search(r"one-time password (\S+)", told)
    assert one_time, told
    assert "tracehub users reset" in first_admin(hub.settings, hub.store)  # once only
    with httpx.Client(base_url=hub.web.url, timeout=30) as web:
        assert web.get("/console").status_code == 303  # to the login form
        change = _login(web, "admin", one_time[1])
        assert change.status_code == 200
        assert 'name="new"' in change.text  # a one-time password must be replaced
        done = _login(web, "admin", one_time[1], new=PASSWORD, repeat=PASSWORD)
        assert done.status_code == 303, done.text
        overview = web.get("/console")
        assert overview.status_code == 200
        assert "Site administrator" in overview.text
        grafana = f'href="http://grafana.example:3000/d/{COLDCHAIN}"'
        assert grafana in overview.text  # TRACEHUB_GRAFANA_URL: the cold-chain board
        pages = ("/console/incidents", "/console/lots", "/console/devices", "/console/health")
        for page in (*pages, "/console/import"):
            answer = web.get(page)
            assert answer.status_code == 200, (page, answer.text[:300])
            assert answer.headers["cache-control"] == "no-store"
        chinese = web.get("/console?lang=zh-CN")
        assert "退出登录" in chinese.text
        out = web.post("/console/logout", data={"csrf": _csrf(overview.text)})
        assert out.status_code == 303
        assert web.get("/console").status_code == 303  # the session ended


def test_a_viewer_may_watch_but_not_revoke_a_device(hub: Hub) -> None:
    ready_user(console_accounts(hub.settings, hub.store), "vera", "viewer")
    with httpx.Client(base_url=hub.web.url, timeout=30) as web:
        assert _login(web, "vera", PASSWORD).status_code == 303
        devices = web.get("/console/devices")
        assert devices.status_code == 200
        refused = web.post(
            "/console/devices/revoke",
            data={"csrf": _csrf(devices.text), "device": "probe-1", "password": PASSWORD},
        )
        assert refused.status_code == 403
    assert all(e.action != "device.revoke" for e in hub.parts.audit.entries())


def test_the_session_secret_is_made_once_and_private(tmp_path: Path) -> None:
    first = console_secret(tmp_path)
    assert len(first) == 32
    assert console_secret(tmp_path) == first
    mode = (tmp_path / "console" / "session.key").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_replicas_starting_together_all_read_one_whole_secret(tmp_path: Path) -> None:
    # Before the temp-file-and-link write, a replica could read the file another had
    # just created and not yet written: 0 bytes, and it refused to start.
    for round_ in range(10):
        state = tmp_path / str(round_)
        start = threading.Barrier(8)
        seen: list[bytes | BaseException] = []

        def replica(
            state: Path = state,
            start: threading.Barrier = start,
            seen: list[bytes | BaseException] = seen,
        ) -> None:
            start.wait()
            try:
                seen.append(console_secret(state))
            except BaseException as error:  # the test reports it below
                seen.append(error)

        threads = [threading.Thread(target=replica) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(set(seen)) == 1, seen
        assert isinstance(seen[0], bytes)
        assert len(seen[0]) == 32
        assert [p.name for p in (state / "console").iterdir()] == ["session.key"]


def test_a_secret_readable_by_others_is_refused(tmp_path: Path) -> None:
    console_secret(tmp_path)
    path = tmp_path / "console" / "session.key"
    path.chmod(0o644)
    with pytest.raises(ValueError, match=r"readable by group or others.*chmod 600"):
        console_secret(tmp_path)


def test_the_grafana_link_is_the_cold_chain_board_when_set() -> None:
    assert grafana_dashboard({}) is None
    assert grafana_dashboard({"TRACEHUB_GRAFANA_URL": " "}) is None
    assert grafana_dashboard({"TRACEHUB_GRAFANA_URL": "https://ops.example/grafana/"}) == (
        f"https://ops.example/grafana/d/{COLDCHAIN}"
    )
    for wrong in ("grafana.example", "javascript:alert(1)", "https://g.example/?x=1"):
        with pytest.raises(ValueError, match="TRACEHUB_GRAFANA_URL"):
            grafana_dashboard({"TRACEHUB_GRAFANA_URL": wrong})


def test_console_requests_are_bounded_as_the_sites_are(hub: Hub) -> None:
    """A big body to the login form is refused before anything reads it (413), as the
    app's routes refuse one; the console is no way around the site's limits."""
    limit = hub.settings.web.limits().body_bytes
    with httpx.Client(base_url=hub.web.url, timeout=30) as web:
        big = web.post(
            "/console/login",
            content=b"name=" + b"a" * (limit + 1),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert big.status_code == 413
        long_path = web.get("/console/" + "x" * (hub.settings.web.limits().max_path_bytes + 1))
        assert long_path.status_code == 414


def test_auditors_read_the_hubs_audit_trail(hub: Hub) -> None:
    token = hub.store.add_client("inspector", ["auditor"]).token
    with httpx.Client(base_url=hub.web.url, timeout=30) as web:
        answer = web.get("/auditor/audit", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    actions = [entry["action"] for entry in answer.json()["entries"]]
    # the demo's master data, each version written by the hub
    assert "master.product.create" in actions
    assert "master.lot.create" in actions
