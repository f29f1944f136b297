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


def test_rotate_expiring_renews_what_lapses_and_list_marks_it(env: dict[str, str]) -> None:
    wide = {**env, "COLUMNS": "250"}
    run(env, "provision", "temperature", "p-short", "--days", "10", "--no-reload")
    run(env, "provision", "temperature", "p-long", "--no-reload")
    rows = json.loads(run(env, "list", "--json"))
    assert {r["identity"]: r["expiring_soon"] for r in rows} == {
        "s1/temperature/p-short": True,
        "s1/temperature/p-long": False,
    }
    listing = run(wide, "list")
    assert "EXPIRES SOON" in listing
    assert "1 certificate(s) expire within 30 days" in listing
    out = emitted(run(env, "rotate", "--expiring", "30", "--no-reload"))
    renewed = out["renewed"]
    assert isinstance(renewed, list)
    assert [r["identity"] for r in renewed] == ["s1/temperature/p-short"]
    assert (out["broker_certificate_renewed"], out["crl_renewed"], out["still_expiring"]) == (
        False, False, [],
    )  # fmt: skip
    assert not any(r["expiring_soon"] for r in json.loads(run(env, "list", "--json")))
    assert "EXPIRES SOON" not in run(wide, "list")


def test_rotate_takes_an_identity_or_expiring_not_both(env: dict[str, str]) -> None:
    runner = CliRunner()
    for args in ([], ["s1/rfid/x", "--expiring", "30"]):
        result = runner.invoke(main, ["devices", "rotate", *args], env=env)
        assert result.exit_code == 2
        assert "either IDENTITY or --expiring DAYS" in result.output
    too_long = runner.invoke(main, ["devices", "rotate", "--expiring", "400"], env=env)
    assert too_long.exit_code == 1
    assert "shorter than the new certificates' validity" in too_long.output


def test_provision_with_a_location_and_assign_moves_the_probe(env: dict[str, str]) -> None:
    cold, truck = "urn:epc:id:sgln:4012345.00001.cold1", "urn:epc:id:sgln:4012345.00009.truck7"
    out = emitted(run(env, "provision", "temperature", "p1", "--location", cold, "--no-reload"))
    assert out["location"] == cold
    moved = emitted(
        run(env, "assign", "s1/temperature/p1", truck, "--at", "2099-01-01T00:00:00+00:00")
    )
    placements = moved["placements"]
    assert isinstance(placements, list)
    assert [p["location"] for p in placements] == [cold, truck]
    (row,) = json.loads(run(env, "list", "--json"))
    assert row["location"] == cold  # the move is dated later
    bad = CliRunner().invoke(main, ["devices", "assign", "s1/temperature/p1", "room 1"], env=env)
    assert bad.exit_code != 0
    assert "SGLN URN" in bad.output


def test_provision_demo_places_every_probe_at_its_room(env: dict[str, str]) -> None:
    from tracehub import demo

    run(env, "provision-demo", "--no-reload")
    rows = {row["identity"]: row for row in json.loads(run(env, "list", "--json"))}
    spec = demo.scenario_devices("s1")
    for probe in spec.probes:
        assert rows[f"s1/temperature/{probe.device_id}"]["location"] == probe.location
    # ... and every reader at its dock door: the read point of its reads.
    assert spec.readers
    for reader in spec.readers:
        assert rows[f"s1/rfid/{reader.reader_id}"]["location"] == reader.read_point


def test_a_reader_is_provisioned_at_its_read_point_and_assigned_elsewhere(
    env: dict[str, str],
) -> None:
    dock1, dock2 = "urn:epc:id:sgln:4012345.00001.dock1", "urn:epc:id:sgln:4012345.00001.dock2"
    out = emitted(run(env, "provision", "rfid", "door-1", "--location", dock1, "--no-reload"))
    assert out["location"] == dock1
    moved = emitted(run(env, "assign", "s1/rfid/door-1", dock2))
    placements = moved["placements"]
    assert isinstance(placements, list)
    assert [p["location"] for p in placements] == [dock1, dock2]
    agv = CliRunner().invoke(
        main,
        ["devices", "provision", "agv", "AGV-1", "--manufacturer", "Ex", "--location", dock1,
         "--no-reload"],
        env=env,
    )  # fmt: skip
    assert agv.exit_code != 0
    assert "only temperature probes and RFID readers are placed" in agv.output
