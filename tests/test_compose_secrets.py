"""docker-compose.yml is secure by default: no secret in the file, no internal port open.

Every password, key and passphrase is a ``${NAME:?run tracehub compose init}`` reference
(so a missing ``.env`` stops ``docker compose``), only the ports devices and users must
reach are bound beyond 127.0.0.1, Grafana has no anonymous access and InfluxDB checks
credentials. No Docker engine runs here: compose's interpolation is done by ``interpolate``
below, on the parsed file, as compose does it (comments are not interpolated).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from click.testing import CliRunner

from gateway.influx import InfluxWriter
from influx.client import InfluxClient
from influx.errors import InfluxRejected
from tests.influx.test_client_auth import AuthInfluxDB, image_init
from tracehub.cli import main
from tracehub.composeenv import NAMES, parse, plan
from tracehub.services import ANVIL_DEV_PRIVATE_KEY

ROOT = Path(__file__).resolve().parent.parent
HINT = "run tracehub compose init"
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}
REFERENCE = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")
SECRET_NAME = re.compile(r"PASSWORD|PASSPHRASE|SECRET|PRIVATE_KEY|TOKEN")
USERINFO = re.compile(r"://([^:/@\s]+):([^@\s]+)@")
# Ports that devices and users must reach; everything else binds 127.0.0.1 or nothing.
PUBLIC_PORTS = {("mosquitto", "8883"), ("mosquitto", "8884"), ("web-1", "8000"), ("web-2", "8001")}


class MissingVariableError(ValueError):
    pass


def compose_file() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)


def interpolate(node: Any, env: Mapping[str, str]) -> Any:
    """The file as ``docker compose`` sees it with ``env`` (its .env); ``MissingVariableError``
    for a ``${NAME:?error}`` whose NAME is unset or empty, as compose stops."""
    if isinstance(node, dict):
        return {k: interpolate(v, env) for k, v in node.items()}
    if isinstance(node, list):
        return [interpolate(v, env) for v in node]
    if not isinstance(node, str):
        return node

    def value(match: re.Match[str]) -> str:
        name, operator, argument = match.groups()
        given = env.get(name)
        unset = given is None or (given == "" and operator is not None and operator[0] == ":")
        if not unset:
            return str(given)
        if operator in (":?", "?"):
            raise MissingVariableError(f"required variable {name} is missing a value: {argument}")
        return argument if operator in (":-", "-") else ""

    return REFERENCE.sub(value, node)


def required(node: Any) -> dict[str, str]:
    """NAME → error message of every ``${NAME:?message}`` in the file's values."""
    return {
        m.group(1): m.group(3)
        for text in strings(node)
        for m in REFERENCE.finditer(text)
        if m.group(2) == ":?"
    }


def leaks(node: dict[str, Any]) -> list[str]:
    """Where the file holds a secret value instead of a reference to .env."""
    found = []
    for name, service in node["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if SECRET_NAME.search(key) and not re.fullmatch(r"\$\{\w+(:\?[^}]+|:-)\}", value):
                found.append(f"{name}.{key}")
    for text in strings(node):
        for match in USERINFO.finditer(text):
            if not re.fullmatch(r"\$\{\w+:\?[^}]+\}", match.group(2)):
                found.append(f"password in {text!r}")
        if re.search(r"0x[0-9a-fA-F]{64}", text):
            found.append(f"a private key in {text!r}")
    return found


def open_ports(node: dict[str, Any]) -> list[str]:
    """Host ports bound beyond loopback that devices and users need not reach."""
    found = []
    for name, service in node["services"].items():
        for port in service.get("ports", []):
            if isinstance(port, dict):
                host_ip, published = port.get("host_ip", "0.0.0.0"), str(port["published"])
            else:
                parts = str(port).rsplit(":", 2)
                host_ip = parts[0] if len(parts) == 3 else "0.0.0.0"
                published = parts[-2] if len(parts) >= 2 else parts[-1]
            if host_ip != "127.0.0.1" and (name, published) not in PUBLIC_PORTS:
                found.append(f"{name}: {port}")
    return found


def test_the_file_holds_no_secret() -> None:
    assert leaks(compose_file()) == []
    assert ANVIL_DEV_PRIVATE_KEY[2:] not in (ROOT / "docker-compose.yml").read_text()


@pytest.mark.parametrize(
    ("service", "key", "value"),
    [
        ("postgres", "POSTGRES_PASSWORD", "tracehub"),
        ("web-1", "TRACEHUB_CHAIN_PRIVATE_KEY", ANVIL_DEV_PRIVATE_KEY),
        ("grafana", "GF_SECURITY_ADMIN_PASSWORD", "${GRAFANA_ADMIN_PASSWORD:-admin}"),
        ("web-1", "TRACEHUB_RECORDS_URL", "postgresql+psycopg://tracehub:tracehub@postgres/t"),
        ("web-1", "TRACEHUB_INFLUX_URL", "http://tracehub:hunter2@influxdb:8086"),
    ],
)
def test_the_secret_check_finds_what_the_old_file_had(service: str, key: str, value: str) -> None:
    broken = copy.deepcopy(compose_file())
    broken["services"][service]["environment"][key] = value
    assert leaks(broken)


def test_only_the_device_and_web_ports_are_open_beyond_loopback() -> None:
    services = compose_file()["services"]
    assert open_ports(compose_file()) == []
    assert "ports" not in services["postgres"]
    assert "ports" not in services["anvil"]  # the dev chain: the compose network only
    assert services["influxdb"]["ports"] == ["127.0.0.1:8086:8086"]
    assert services["grafana"]["ports"] == ["127.0.0.1:3000:3000"]
    assert services["web-1"]["ports"] == ["8000:8000"]
    assert services["web-2"]["ports"] == ["8001:8000"]
    for internal in ("gateway-1", "gateway-2", "anchor"):
        assert "ports" not in services[internal]


@pytest.mark.parametrize(
    ("service", "ports"),
    [("influxdb", ["8086:8086"]), ("anvil", ["0.0.0.0:8545:8545"]), ("grafana", ["3000"]),
     ("postgres", [{"target": 5432, "published": "5432"}])],
)  # fmt: skip
def test_the_port_check_finds_an_internal_service_opened(service: str, ports: list[Any]) -> None:
    broken = copy.deepcopy(compose_file())
    broken["services"][service]["ports"] = ports
    assert open_ports(broken)


def test_compose_stops_without_env_and_names_the_command() -> None:
    node = compose_file()
    needed = required(node)
    assert set(needed) == set(NAMES)  # each generated secret is used, each used one made
    assert set(needed.values()) == {HINT}
    with pytest.raises(MissingVariableError, match=HINT):
        interpolate(node, {})
    env = parse(plan(None).text)
    for name in NAMES:
        with pytest.raises(MissingVariableError, match=name):
            interpolate(node, {**env, name: ""})
    assert not list(REFERENCE.finditer(str(interpolate(node, env))))


def test_grafana_has_no_anonymous_access_and_reads_with_its_own_user() -> None:
    services = compose_file()["services"]
    grafana, influxdb = services["grafana"]["environment"], services["influxdb"]["environment"]
    assert grafana["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert "GF_AUTH_ANONYMOUS_ORG_ROLE" not in grafana
    assert grafana["GF_SECURITY_ADMIN_PASSWORD"] == f"${{GRAFANA_ADMIN_PASSWORD:?{HINT}}}"
    datasources = ROOT / "grafana/provisioning/datasources/influxdb.yml"
    [source] = yaml.safe_load(datasources.read_text())["datasources"]
    assert source["user"] == influxdb["INFLUXDB_READ_USER"]
    variable = source["secureJsonData"]["password"]
    assert variable.startswith("$")  # Grafana expands it from its environment
    assert grafana[variable[1:]] == influxdb["INFLUXDB_READ_USER_PASSWORD"]


def test_influxdb_checks_credentials_and_each_client_has_its_user() -> None:
    services = compose_file()["services"]
    influxdb = services["influxdb"]["environment"]
    assert influxdb["INFLUXDB_HTTP_AUTH_ENABLED"] == "true"
    env = parse(plan(None).text)
    seen = interpolate(compose_file(), env)["services"]
    users = interpolate(influxdb, env)
    hub = httpx.URL(seen["web-1"]["environment"]["TRACEHUB_INFLUX_URL"])
    assert (hub.username, hub.password) == (users["INFLUXDB_USER"], users["INFLUXDB_USER_PASSWORD"])
    admin = httpx.URL(seen["influxdb-retention"]["environment"]["TRACEHUB_INFLUX_URL"])
    assert (admin.username, admin.password) == (
        users["INFLUXDB_ADMIN_USER"],
        users["INFLUXDB_ADMIN_PASSWORD"],
    )
    assert users["INFLUXDB_ADMIN_PASSWORD"] != users["INFLUXDB_USER_PASSWORD"]
    # The hub holds no admin: the one-shot applies the retention, the hub does not try.
    assert seen["web-1"]["environment"]["TRACEHUB_RETENTION_MANAGE"] == "false"
    assert seen["influxdb-retention"]["command"] == ["tracehub", "retention", "apply"]
    assert services["web-1"]["depends_on"]["influxdb-retention"] == {
        "condition": "service_completed_successfully"
    }
    records = httpx.URL(seen["web-1"]["environment"]["TRACEHUB_RECORDS_URL"])
    assert records.password == seen["postgres"]["environment"]["POSTGRES_PASSWORD"]
    assert seen["influxdb-retention"]["environment"]["TRACEHUB_RECORDS_URL"] == str(records)


def test_the_chain_is_a_dev_chain_with_a_generated_anchoring_key() -> None:
    env = parse(plan(None).text)
    hub = interpolate(compose_file(), env)["services"]["web-1"]["environment"]
    assert hub["TRACEHUB_CHAIN_RPC_URL"] == "http://anvil:8545"
    assert hub["TRACEHUB_CHAIN_DEV_NODE"] == "true"  # the file says: a development chain
    assert hub["TRACEHUB_CHAIN_PRIVATE_KEY"] == env["TRACEHUB_CHAIN_PRIVATE_KEY"]
    assert hub["TRACEHUB_CHAIN_PRIVATE_KEY"] != ANVIL_DEV_PRIVATE_KEY


@pytest.mark.integration
def test_the_compose_influxdb_users_work_on_a_real_influxd(tmp_path: Path) -> None:
    """A generated .env, the file interpolated with it, the users the image makes from the
    influxdb service's variables on a real influxd with auth: the hub's URL writes, the
    retention one-shot's command applies the policies as admin, Grafana's user only reads."""
    env = parse(plan(None).text)
    services = interpolate(compose_file(), env)["services"]
    with AuthInfluxDB(tmp_path / "influxdb") as server:
        image_init(server, services["influxdb"]["environment"])
        here = server.url.removeprefix("http://")

        def local(url: str) -> str:
            return url.replace("@influxdb:8086", f"@{here}")

        hub_url = local(services["web-1"]["environment"]["TRACEHUB_INFLUX_URL"])
        # The hub's gateway may not CREATE DATABASE: it sees the database is there and
        # starts without a warning (it logged one at every start before).
        with InfluxWriter(hub_url, "tracehub") as writer:
            writer.ensure_database()
        with InfluxClient(hub_url, "tracehub") as hub:
            hub.write(["temperature,device=probe-1 celsius=4.5 1795341600000000000"])
            assert hub.query("SELECT count(celsius) FROM temperature")[0].rows()[0]["count"] == 1
        one_shot = services["influxdb-retention"]
        result = CliRunner().invoke(
            main,
            one_shot["command"][1:],
            env={
                "TRACEHUB_INFLUX_URL": local(one_shot["environment"]["TRACEHUB_INFLUX_URL"]),
                "TRACEHUB_RECORDS_URL": f"sqlite:///{tmp_path / 'records.db'}",
                "TRACEHUB_STATE_DIR": str(tmp_path / "state"),
                "COLUMNS": "200",
            },
        )
        assert result.exit_code == 0, result.output
        assert "CREATE RETENTION POLICY" in result.output
        with InfluxClient(hub_url, "tracehub") as hub:
            policies = {row["name"] for row in hub.query("SHOW RETENTION POLICIES")[0].rows()}
        assert "rollup" in policies
        password = services["grafana"]["environment"]["INFLUXDB_GRAFANA_PASSWORD"]
        grafana = InfluxClient(f"http://grafana:{password}@{here}", "tracehub")
        with grafana, pytest.raises(InfluxRejected) as refused:
            grafana.write(["temperature,device=forged celsius=-20 1795341600000000000"])
        assert refused.value.status == 403
