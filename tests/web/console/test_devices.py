"""The console's device page over FakeGate and a directory of fixed devices: the list,
and revocation with an electronic signature (admin only, CSRF, the right password)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import pytest
from starlette.applications import Starlette

from tests.support.consolegate import PASSWORD, FakeGate
from tests.support.consolehtml import rows, strip
from tests.support.events import COLD_ROOM, DOCK
from web.console.devices import Device, DeviceListing, device_routes
from web.console.gate import Signature
from web.console.render import ConsoleRenderer
from web.errors import UnknownDevice
from web.problem import Problem, handle_problem

if TYPE_CHECKING:
    from httpx import Response
    from starlette.testclient import TestClient

pytestmark = pytest.mark.filterwarnings(
    "ignore:Using `httpx` with `starlette.testclient` is deprecated"
)
SEEN = datetime(2026, 11, 22, 11, 58, tzinfo=UTC)
EXPIRES = datetime(2027, 11, 22, 10, 0, tzinfo=UTC)
PROBE = "s1/temperature/p1"
ADMIN = {"X-Test-User": "ada:admin"}


class Directory:
    """A fixed listing; ``revoke`` marks a device revoked and remembers it."""

    def __init__(self, devices: list[Device], readings_error: str | None = None) -> None:
        self.devices = {d.id: d for d in devices}
        self.readings_error = readings_error
        self.revoked: list[str] = []

    def listing(self) -> DeviceListing:
        return DeviceListing(
            devices=tuple(self.devices.values()), readings_error=self.readings_error
        )

    def revoke(self, device: str) -> Device:
        if device not in self.devices:
            raise UnknownDevice(device)
        self.revoked.append(device)
        done = self.devices[device].model_copy(
            update={"revoked": True, "revoked_at": SEEN, "link": "unknown"}
        )
        self.devices[device] = done
        return done


def fleet() -> list[Device]:
    return [
        Device(
            id=PROBE, kind="temperature", site="s1", place=COLD_ROOM, link="online",
            battery=87.4, last_reading=SEEN, certificate_expiry=EXPIRES,
        ),
        Device(
            id="s1/rfid/dock-1", kind="rfid", site="s1", place=DOCK, link="offline",
            last_reading=datetime(2026, 11, 22, 9, 0, tzinfo=UTC), certificate_expiry=EXPIRES,
            calibration_due=date(2027, 1, 31),
        ),
        Device(id="agv/acme/7", kind="agv", link="unknown"),
        Device(
            id="s1/temperature/old", kind="temperature", site="s1", revoked=True,
            revoked_at=datetime(2026, 11, 1, 8, 0, tzinfo=UTC),
        ),
    ]  # fmt: skip


class Hook:
    def __init__(self) -> None:
        self.calls: list[tuple[Signature, str, str]] = []

    async def __call__(self, signature: Signature, action: str, subject: str) -> None:
        self.calls.append((signature, action, subject))


@pytest.fixture
def directory() -> Directory:
    return Directory(fleet())


@pytest.fixture
def gate() -> FakeGate:
    return FakeGate()


@pytest.fixture
def hook() -> Hook:
    return Hook()


@pytest.fixture
def client(directory: Directory, gate: FakeGate, hook: Hook) -> Iterator[TestClient]:
    from starlette.testclient import TestClient

    routes = device_routes(
        gate,
        ConsoleRenderer(),
        directory,
        on_signed=hook,
        places=lambda: {COLD_ROOM: "Cold room 2, Hamburg", DOCK: "Dock door 1"},
    )
    app = Starlette(routes=routes, exception_handlers={Problem: handle_problem})
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


def table(html: str) -> list[list[str]]:
    return rows(html, "data-device")


def revoke(client: TestClient, user: str, **fields: str) -> Response:
    name = user.partition(":")[0]
    form = {"csrf": f"csrf-{name}", "device": PROBE, "password": PASSWORD, "totp": ""}
    form.update(fields)
    response: Response = client.post(
        "/console/devices/revoke", data=form, headers={"X-Test-User": user}
    )
    return response


def test_the_list_shows_every_device_as_the_directory_gives_it(client: TestClient) -> None:
    response = client.get("/console/devices", headers={"X-Test-User": "vera:viewer"})
    assert response.status_code == 200
    assert [row[:8] for row in table(response.text)] == [
        [PROBE, "temperature probe", "Cold room 2, Hamburg", "online", "87 %",
         "2026-11-22 11:58 UTC", "2027-11-22", "not recorded"],
        ["s1/rfid/dock-1", "RFID reader", "Dock door 1", "offline", "–",
         "2026-11-22 09:00 UTC", "2027-11-22", "2027-01-31"],
        ["agv/acme/7", "AGV", "", "no reading", "–", "never", "password only", "not recorded"],
        ["s1/temperature/old", "temperature probe", "s1", "–", "–", "never", "password only",
         "not recorded"],
    ]  # fmt: skip
    statuses = [row[8] for row in table(response.text)]
    assert statuses == ["active", "active", "active", "revoked 2026-11-01 08:00 UTC"]
    assert "Sign and revoke" not in response.text  # a viewer is offered no revocation


def test_an_admin_is_offered_a_signed_revocation_per_active_device(client: TestClient) -> None:
    html = client.get("/console/devices", headers=ADMIN).text
    assert html.count("Sign and revoke") == 3
    assert "Your signature means: revoked device s1/temperature/p1." in html
    assert 'name="csrf" value="csrf-ada"' in html


def test_revoke_as_admin_with_the_right_password_signs_revokes_and_calls_the_hook(
    client: TestClient, directory: Directory, gate: FakeGate, hook: Hook
) -> None:
    response = revoke(client, "ada:admin")
    assert response.status_code == 303
    assert response.headers["location"] == ("/console/devices?revoked=s1%2Ftemperature%2Fp1")
    assert directory.revoked == [PROBE]
    (signature,) = gate.signatures
    assert (signature.name, signature.role, signature.meaning) == (
        "ada", "admin", "revoked device s1/temperature/p1",
    )  # fmt: skip
    assert hook.calls == [(signature, "revoke device", PROBE)]
    after = client.get(response.headers["location"], headers=ADMIN)
    assert "Device s1/temperature/p1 is revoked" in strip(after.text)
    assert table(after.text)[0][8] == "revoked 2026-11-22 11:58 UTC"
    crafted = client.get("/console/devices?revoked=s1%2Frfid%2Fdock-1", headers=ADMIN)
    assert 'id="revoked"' not in crafted.text  # still active: no such claim


def test_an_operator_is_refused(client: TestClient, directory: Directory, hook: Hook) -> None:
    response = revoke(client, "otto:operator")
    assert response.status_code == 403
    assert directory.revoked == []
    assert hook.calls == []


def test_a_wrong_password_is_refused_and_nothing_is_revoked(
    client: TestClient, directory: Directory, gate: FakeGate, hook: Hook
) -> None:
    response = revoke(client, "ada:admin", password="wrong")
    assert response.status_code == 403
    text = strip(response.text)
    assert "The signature for revoking s1/temperature/p1 was refused:" in text
    assert "password: not the user's password" in text
    assert (directory.revoked, gate.signatures, hook.calls) == ([], [], [])


@pytest.mark.parametrize("token", ["", "csrf-someone-else"])
def test_a_missing_or_wrong_csrf_token_is_refused(
    client: TestClient, directory: Directory, gate: FakeGate, token: str
) -> None:
    fields = {"csrf": token} if token else {}
    form = {"device": PROBE, "password": PASSWORD, **fields}
    response = client.post("/console/devices/revoke", data=form, headers=ADMIN)
    assert response.status_code == 403
    assert "csrf" in response.json()["detail"]
    assert (directory.revoked, gate.signatures) == ([], [])


def test_an_unknown_device_is_named_and_not_signed(client: TestClient, gate: FakeGate) -> None:
    response = revoke(client, "ada:admin", device="s1/temperature/nope")
    assert response.status_code == 404
    assert "There is no device s1/temperature/nope." in strip(response.text)
    assert gate.signatures == []


def test_missing_readings_are_said(gate: FakeGate) -> None:
    from starlette.testclient import TestClient

    directory = Directory(fleet()[:1], readings_error="InfluxDB did not answer")
    app = Starlette(routes=device_routes(gate, ConsoleRenderer(), directory))
    with TestClient(app) as client:
        html = client.get("/console/devices", headers=ADMIN).text
    assert "whether they are online is unknown: InfluxDB did not answer" in strip(html)
    assert table(html)[0][2] == COLD_ROOM  # without place names, the URN


def test_both_languages_render(client: TestClient) -> None:
    html = client.get("/console/devices", params={"lang": "zh-CN"}, headers=ADMIN).text
    assert '<html lang="zh-CN">' in html
    assert "温度探头" in html
    assert "签名并吊销" in html
