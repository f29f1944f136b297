"""docker-compose.yml is valid against the Compose Specification schema.

No Docker engine runs here, so the file is checked against the official JSON
Schema instead, plus the references it makes into the repository.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import yaml

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
    broken["services"]["hub"]["ports"] = "8000"  # must be a list
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
    assert default == {"mosquitto", "influxdb", "anvil", "postgres", "hub", "grafana"}
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
