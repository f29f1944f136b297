"""`tracehub devices` through click: provision, list, rotate, revoke, export, demo set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tracehub.cli import main


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "TRACEHUB_STATE_DIR": str(tmp_path / "state"),
        "TRACEHUB_DEVICES_PASSPHRASE": "cli test passphrase",
        "TRACEHUB_SITE": "s1",
    }


def run(env: dict[str, str], *args: str) -> str:
    result = CliRunner().invoke(main, ["devices", *args], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def emitted(output: str) -> dict[str, object]:
    start = output.index("{")
    end = output.rindex("}") + 1
    loaded: dict[str, object] = json.loads(output[start:end])
    return loaded


def test_provision_prints_the_grants_and_the_password_once(
    env: dict[str, str], tmp_path: Path
) -> None:
    out = emitted(run(env, "provision", "temperature", "p1", "--password", "--no-reload"))
    assert out["identity"] == "s1/temperature/p1"
    assert out["topics"] == ["write tracehub/v1/s1/temperature/p1"]
    assert Path(str(out["cert_file"])).exists()
    password = str(out["password"])
    registry = tmp_path / "state" / "devices"
    assert password not in (registry / "registry.json").read_text()
    assert password not in (registry / "broker" / "passwd").read_text()
    (row,) = json.loads(run(env, "list", "--json"))
    assert (row["identity"], row["status"], row["auth"]) == (
        "s1/temperature/p1", "active", "cert+password",
    )  # fmt: skip


def test_rotate_revoke_and_export(env: dict[str, str], tmp_path: Path) -> None:
    run(env, "provision", "rfid", "dock-1", "--no-reload")
    rotated = emitted(run(env, "rotate", "s1/rfid/dock-1", "--no-reload"))
    assert rotated["identity"] == "s1/rfid/dock-1"
    bundle = tmp_path / "bundle"
    result = CliRunner().invoke(
        main,
        ["devices", "export", "s1/rfid/dock-1", "--out", str(bundle)],
        env={**env, "TRACEHUB_DEVICE_BUNDLE_PASSPHRASE": "device passphrase"},
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in bundle.iterdir()) == ["ca.crt", "client.crt", "client.key"]
    broker = tmp_path / "broker"
    out = emitted(run(env, "revoke", "s1/rfid/dock-1", "--broker-dir", str(broker)))
    assert out["status"] == "revoked"
    assert "s1/rfid/dock-1" not in (broker / "acl").read_text()
    assert "no local broker running" in run(env, "revoke", "s1/rfid/dock-1")


def test_bad_input_names_the_problem(env: dict[str, str]) -> None:
    runner = CliRunner()
    bad_id = runner.invoke(main, ["devices", "provision", "temperature", "a/b"], env=env)
    assert bad_id.exit_code != 0
    assert "device_id" in bad_id.output
    agv = runner.invoke(main, ["devices", "provision", "agv", "AGV-1"], env=env)
    assert agv.exit_code != 0
    assert "manufacturer" in agv.output
    unknown = runner.invoke(main, ["devices", "revoke", "s1/temperature/nobody"], env=env)
    assert unknown.exit_code != 0
    assert "no identity" in unknown.output
    no_secret = runner.invoke(main, ["devices", "export", "x", "--out", "y"], env=env)
    assert "TRACEHUB_DEVICE_BUNDLE_PASSPHRASE" in no_secret.output


def test_provision_demo_exports_only_what_the_broker_needs(
    env: dict[str, str], tmp_path: Path
) -> None:
    broker = tmp_path / "broker"
    out = emitted(run(env, "provision-demo", "--broker-dir", str(broker), "--no-reload"))
    assert "gateway/tracehub-gateway" in out["identities"]  # type: ignore[operator]
    assert sorted(p.name for p in broker.iterdir()) == [
        "acl", "ca.crt", "crl.pem", "passwd", "server.crt", "server.key",
    ]  # fmt: skip
    acl = (broker / "acl").read_text()
    assert "user s1/temperature/probe-cold1-01" in acl
    assert "user s1/rfid/dock-door-1" in acl
