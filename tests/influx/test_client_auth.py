"""InfluxClient with credentials in the URL, against a real influxd with ``auth-enabled``.

The users are the ones docker-compose's influxdb:1.11 image makes on first start from
INFLUXDB_ADMIN_USER, INFLUXDB_USER (read and write on INFLUXDB_DB) and INFLUXDB_READ_USER.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import httpx
import pytest

from influx.client import InfluxClient
from influx.errors import InfluxRejected
from influx.quoting import identifier, string_literal
from tracehub.services import InfluxDB

T0_NS = 1_795_341_600_000_000_000


class AuthInfluxDB(InfluxDB):
    """The fixtures' influxd with HTTP authentication on, as the compose file sets it
    (INFLUXDB_HTTP_AUTH_ENABLED=true)."""

    def prepare(self) -> None:
        super().prepare()
        config = self.config_path.read_text()
        assert "[http]\n  enabled = true\n" in config, "the influxd config changed shape"
        self.config_path.write_text(
            config.replace(
                "[http]\n  enabled = true\n", "[http]\n  enabled = true\n  auth-enabled = true\n"
            )
        )


def image_init(server: InfluxDB, env: Mapping[str, str]) -> None:
    """What the influxdb:1.x image's init script does with these variables on a new
    volume: the admin first (allowed without credentials only while no admin exists),
    then INFLUXDB_DB, INFLUXDB_USER with ALL on it and INFLUXDB_READ_USER with READ."""
    database = env["INFLUXDB_DB"]
    admin_user = env["INFLUXDB_ADMIN_USER"]
    with InfluxClient(server.url, database) as anonymous:
        anonymous.execute(
            f"CREATE USER {identifier(admin_user)} WITH PASSWORD "
            f"{string_literal(env['INFLUXDB_ADMIN_PASSWORD'])} WITH ALL PRIVILEGES"
        )
    admin_url = with_user(server.url, admin_user, env["INFLUXDB_ADMIN_PASSWORD"])
    with InfluxClient(admin_url, database) as admin:
        admin.create_database()
        for user, password, grant in (
            (env["INFLUXDB_USER"], env["INFLUXDB_USER_PASSWORD"], "ALL"),
            (env["INFLUXDB_READ_USER"], env["INFLUXDB_READ_USER_PASSWORD"], "READ"),
        ):
            admin.execute(
                f"CREATE USER {identifier(user)} WITH PASSWORD {string_literal(password)}"
            )
            admin.execute(f"GRANT {grant} ON {identifier(database)} TO {identifier(user)}")


def with_user(url: str, user: str, password: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{user}:{password}@{rest}"


@dataclass(frozen=True)
class Users:
    """A server with the compose file's three users, one random password each."""

    server: InfluxDB
    database: str
    admin: str
    hub: str
    grafana: str

    def url(self, user: str, password: str) -> str:
        return with_user(self.server.url, user, password)


@pytest.fixture(scope="module")
def users(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Users]:
    with AuthInfluxDB(tmp_path_factory.mktemp("influxdb-auth")) as server:
        found = Users(server, "tracehub", *(secrets.token_urlsafe(32) for _ in range(3)))
        image_init(
            server,
            {
                "INFLUXDB_DB": found.database,
                "INFLUXDB_ADMIN_USER": "admin",
                "INFLUXDB_ADMIN_PASSWORD": found.admin,
                "INFLUXDB_USER": "tracehub",
                "INFLUXDB_USER_PASSWORD": found.hub,
                "INFLUXDB_READ_USER": "grafana",
                "INFLUXDB_READ_USER_PASSWORD": found.grafana,
            },
        )
        yield found


def test_credentials_leave_the_url_and_go_as_basic_auth() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204, headers={"X-Influxdb-Version": "1.11.8"})

    url = "http://hub%40site:p%3Aw%2Fx@influx.example:8086/"
    with InfluxClient(url, "db", transport=httpx.MockTransport(answer)) as client:
        assert client.url == "http://influx.example:8086"
        assert client.ping() == "1.11.8"
    (request,) = seen
    assert request.url == "http://influx.example:8086/ping"
    expected = base64.b64encode(b"hub@site:p:w/x").decode()
    assert request.headers["Authorization"] == f"Basic {expected}"


def test_a_url_without_credentials_sends_no_authorization() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    with InfluxClient(
        "http://influx.example:8086", "db", transport=httpx.MockTransport(answer)
    ) as c:
        c.ping()
    assert "Authorization" not in seen[0].headers


@pytest.mark.integration
def test_the_hub_user_writes_and_reads_its_database(users: Users) -> None:
    with InfluxClient(users.url("tracehub", users.hub), users.database) as hub:
        hub.write([f"temperature,device=probe-1 celsius=4.5 {T0_NS}"])
        [series] = hub.query("SELECT celsius FROM temperature WHERE device = 'probe-1'")
    assert series.rows() == [{"time": T0_NS, "celsius": 4.5}]


@pytest.mark.integration
def test_without_or_with_wrong_credentials_influxdb_refuses(users: Users) -> None:
    anonymous = InfluxClient(users.server.url, users.database)
    with anonymous, pytest.raises(InfluxRejected) as refused:
        anonymous.write([f"temperature,device=x celsius=1 {T0_NS}"])
    assert refused.value.status == 401
    wrong = "not-" + users.hub
    guessing = InfluxClient(users.url("tracehub", wrong), users.database)
    with guessing, pytest.raises(InfluxRejected) as refused:
        guessing.query("SELECT * FROM temperature")
    assert refused.value.status == 401
    assert "authorization failed" in refused.value.reason
    assert wrong not in str(refused.value)  # the URL in the message has no password


@pytest.mark.integration
def test_the_hub_user_cannot_administer_and_grafana_cannot_write(users: Users) -> None:
    """Least privilege as the compose file grants it: the hub's user cannot create
    databases or retention policies (the compose retention one-shot uses the admin),
    Grafana's user only reads."""
    hub = InfluxClient(users.url("tracehub", users.hub), f"other_{uuid.uuid4().hex[:8]}")
    with hub, pytest.raises(InfluxRejected, match="requires admin privilege") as refused:
        hub.create_database()
    assert refused.value.status == 403
    with InfluxClient(users.url("grafana", users.grafana), users.database) as grafana:
        with pytest.raises(InfluxRejected) as refused:
            grafana.write([f"temperature,device=forged celsius=-20 {T0_NS}"])
        assert refused.value.status == 403
        grafana.query("SELECT * FROM temperature")  # reading is what it is for
