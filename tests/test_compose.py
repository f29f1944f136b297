"""docker-compose.yml is valid against the Compose Specification schema.

No Docker engine runs here, so the file is checked against the official JSON
Schema instead, plus the references it makes into the repository.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from pydantic import SecretStr

from gateway.devices import pki
from gateway.devices.access import Identity
from gateway.devices.registry import DeviceRegistry
from sensors.credentials import MqttAuth
from tracehub.services import free_port

ROOT = Path(__file__).resolve().parent.parent


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def test_compose_file_matches_the_spec() -> None:
    schema = json.loads((ROOT / "tests/data/compose/compose-spec.json").read_text())
    # The spec names its draft as ".../draft-07/schema" (no "#"), which jsonschema
    # does not recognise; say the draft explicitly.
    jsonschema.Draft7Validator(schema).validate(_compose())


def test_invalid_compose_is_rejected_by_the_same_check() -> None:
    schema = json.loads((ROOT / "tests/data/compose/compose-spec.json").read_text())
    broken = _compose()
    broken["services"]["web-1"]["ports"] = "8000"  # must be a list
    validator = jsonschema.Draft7Validator(schema)
    assert list(validator.iter_errors(broken))


def test_every_bind_mount_exists_in_the_repository() -> None:
    for name, service in _compose()["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name}: {source} is missing"


def _services() -> dict[str, Any]:
    services: dict[str, Any] = _compose()["services"]
    return services


def _bind(service: str, container_path: str) -> Path:
    for volume in _services()[service]["volumes"]:
        source, target = str(volume).split(":")[:2]
        if target == container_path:
            return ROOT / source
    raise AssertionError(f"{service} does not mount {container_path}")


def test_third_party_images_are_pinned_to_a_version() -> None:
    for name, service in _services().items():
        if "build" in service:
            continue
        image = service["image"]
        _, _, tag = image.rpartition(":")
        assert re.fullmatch(r"v?\d+\.\d+(\.\d+)?", tag), (
            f"{name}: pin {image} to a major.minor(.patch) tag"
        )


def test_simulators_run_only_in_the_simulate_profile() -> None:
    services = _services()
    assert services["simulator"]["profiles"] == ["simulate"]
    default = {n for n, s in services.items() if "profiles" not in s}
    assert default == {"devices", "mosquitto", "influxdb", "influxdb-retention", "anvil",
                       "postgres", "web-1", "web-2", "gateway-1", "gateway-2", "anchor",
                       "grafana"}  # fmt: skip
    assert services["influxdb"]["image"].startswith("influxdb:1.11")


def test_grafana_provisioning_fits_the_compose_services() -> None:
    provisioning = _bind("grafana", "/etc/grafana/provisioning")
    dashboards_dir = _bind("grafana", "/var/lib/grafana/dashboards")
    datasources = yaml.safe_load((provisioning / "datasources/influxdb.yml").read_text())
    source = datasources["datasources"][0]
    assert source["url"] == "http://influxdb:8086"
    assert source["jsonData"]["dbName"] == _services()["influxdb"]["environment"]["INFLUXDB_DB"]
    providers = yaml.safe_load((provisioning / "dashboards/tracehub.yml").read_text())
    assert providers["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    assert sorted(p.name for p in dashboards_dir.glob("*.json")) == [
        "agv.json",
        "coldchain.json",
        "gateway.json",
        "lot.json",
        "rfid.json",
    ]
    alerting = yaml.safe_load((provisioning / "alerting/tracehub.yaml").read_text())
    url = alerting["contactPoints"][0]["receivers"][0]["settings"]["url"]
    assert url.startswith("$")
    assert url[1:] in _services()["grafana"]["environment"]
    home = _services()["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert (dashboards_dir / Path(home).name).exists()


def test_dockerfile_copies_every_python_package() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    copied = {line.split()[1] for line in dockerfile.splitlines() if line.startswith("COPY ")}
    for source in copied:
        for part in source.split():
            assert (ROOT / part).exists(), f"Dockerfile copies missing {part}"
    project = (ROOT / "pyproject.toml").read_text()
    include = project.split("[tool.setuptools.packages.find]")[1].split("]")[0]
    packages = {name.strip(' "*\n') for name in include.split("[")[1].split(",")}
    assert packages <= copied, f"not copied into the image: {sorted(packages - copied)}"


def _mounts(service: str) -> dict[str, str]:
    """container path → source (named volume or ./path) of a service."""
    found = {}
    for volume in _services()[service].get("volumes", []):
        source, target = str(volume).split(":")[:2]
        found[target] = source
    return found


def _conf() -> str:
    return (ROOT / "deploy/mosquitto/mosquitto.conf").read_text()


def test_the_broker_is_tls_only_with_an_acl() -> None:
    lines = [ln.strip() for ln in _conf().splitlines() if ln.strip() and not ln.startswith("#")]
    assert "allow_anonymous false" in lines
    assert "per_listener_settings false" in lines
    listeners = [ln for ln in lines if ln.startswith("listener ")]
    assert listeners == ["listener 8883 0.0.0.0", "listener 8884 0.0.0.0"]
    assert {"require_certificate true", "use_identity_as_username true",
            "use_username_as_clientid true", "crlfile /mosquitto/security/crl.pem",
            "acl_file /mosquitto/security/acl"} <= set(lines)  # fmt: skip
    ports = _services()["mosquitto"]["ports"]
    assert ports == ["8883:8883", "8884:8884"]  # no plain 1883


def test_the_broker_reads_what_the_devices_service_writes() -> None:
    services = _services()
    devices = services["devices"]
    broker_dir = devices["command"][devices["command"].index("--broker-dir") + 1]
    volume = _mounts("devices")[broker_dir]
    assert _mounts("mosquitto")["/mosquitto/security"] == volume
    assert "/devices" not in _mounts("mosquitto")  # the broker never sees device keys
    assert services["mosquitto"]["depends_on"]["devices"] == {
        "condition": "service_completed_successfully"
    }
    for name in ("web-1", "web-2", "gateway-1", "gateway-2", "anchor", "simulator"):
        env = services[name]["environment"]
        assert (env["TRACEHUB_MQTT_PORT"], env["TRACEHUB_MQTT_SECURITY"]) == ("8883", "tls")
        assert _mounts(name)[env["TRACEHUB_DEVICES_DIR"]] == _mounts("devices")["/devices"]
    for path in ("ca.crt", "server.crt", "server.key", "crl.pem", "acl", "passwd"):
        assert f"/mosquitto/security/{path}" in _conf()


@pytest.mark.integration
def test_the_compose_broker_config_runs_in_a_real_mosquitto(tmp_path: Path) -> None:
    """deploy/mosquitto/mosquitto.conf, paths and ports moved to a temp folder, on the
    local mosquitto with files from `tracehub devices provision-demo --broker-dir`."""
    registry = DeviceRegistry.open(tmp_path / "devices", "compose test passphrase")
    probe = Identity(kind="temperature", site="demo", device_id="probe-cold1-01")
    auth = registry.provision(probe).auth
    security = tmp_path / "security"
    registry.export_broker(security)
    port, password_port = free_port(), free_port()
    conf = (
        _conf()
        .replace("/mosquitto/security/", f"{security}/")
        .replace("/mosquitto/data/", f"{tmp_path}/")
        .replace("listener 8883 0.0.0.0", f"listener {port} 127.0.0.1")
        .replace("listener 8884 0.0.0.0", f"listener {password_port} 127.0.0.1")
        .replace("log_dest stdout", f"log_dest file {tmp_path / 'broker.log'}")
    )
    if os.geteuid() == 0:
        conf += "user root\n"
    (tmp_path / "mosquitto.conf").write_text(conf)
    broker = subprocess.Popen(["mosquitto", "-c", str(tmp_path / "mosquitto.conf")])
    try:
        deadline = time.monotonic() + 10
        while not _accepts(port):
            assert broker.poll() is None, (tmp_path / "broker.log").read_text()
            assert time.monotonic() < deadline, "the broker did not listen"
            time.sleep(0.05)  # waiting for a child process's socket: no event to await
        assert _publish(port, auth) == 0
        assert _publish(port, MqttAuth(ca_file=auth.ca_file, username="x",
                                       password=SecretStr("y"))) != 0  # fmt: skip
    finally:
        broker.terminate()
        broker.wait(10)


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _publish(port: int, auth: MqttAuth) -> int:
    """mosquitto_pub as a device would run it; its exit code (0 = published, QoS 1)."""
    args = ["mosquitto_pub", "-h", "localhost", "-p", str(port), "--cafile", str(auth.ca_file),
            "-t", "tracehub/v1/demo/temperature/probe-cold1-01", "-m", "{}", "-q", "1"]  # fmt: skip
    if auth.cert_file is not None and auth.key_file is not None:
        # mosquitto_pub cannot take a key passphrase non-interactively: hand it a
        # decrypted copy, as a device with a secure element would do internally.
        plain = auth.key_file.with_name("plain.key")
        key = pki.load_key(auth.key_file.read_bytes(), b"compose test passphrase", "key")
        plain.write_bytes(pki.plain_key(key))
        args += ["--cert", str(auth.cert_file), "--key", str(plain)]
    if auth.username is not None and auth.password is not None:
        args += ["-u", auth.username, "-P", auth.password.get_secret_value()]
    return subprocess.run(args, capture_output=True, timeout=20).returncode


def test_the_hub_runs_as_role_instances_that_share_only_what_they_must() -> None:
    services = _services()
    hubs = {
        n: s for n, s in services.items() if s.get("command", [None])[:2] == ["tracehub", "run"]
    }
    roles = {n: tuple(s["command"][2:]) for n, s in hubs.items()}
    assert roles == {
        "web-1": ("--role", "web"),
        "web-2": ("--role", "web"),
        "gateway-1": ("--role", "gateway"),
        "gateway-2": ("--role", "gateway"),
        "anchor": ("--role", "anchor", "--role", "alarm"),
    }
    gateways = {n: hubs[n]["environment"] for n in ("gateway-1", "gateway-2")}
    ids = [env["TRACEHUB_MQTT_CLIENT_ID"] for env in gateways.values()]
    assert len(set(ids)) == 2  # each its own MQTT session and identity
    assert sorted(env["TRACEHUB_GATEWAY_PARTITION"] for env in gateways.values()) == ["0/2", "1/2"]
    provision = services["devices"]["command"]
    assert [provision[i + 1] for i, a in enumerate(provision) if a == "--gateway"] == ids
    states = [_mounts(n)["/var/lib/tracehub"] for n in hubs]
    assert len(set(states)) == len(hubs)  # a spool and a lock each
    for name, service in hubs.items():
        env = service["environment"]
        assert _mounts(name)[env["TRACEHUB_LEDGER_KEYS_DIR"]] == "ledger-keys"  # one site key
        assert env["TRACEHUB_RECORDS_URL"].startswith("postgresql")
