"""Identities, their grants, the ACL and mosquitto's password hash (pure)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gateway.devices.access import (
    Identity,
    check_password,
    hash_password,
    identity_for_topic,
    render_acl,
    render_password_file,
)
from gateway.errors import IdentityError


def test_usernames_are_unambiguous_and_parse_back() -> None:
    cases = [
        Identity(kind="temperature", site="s1", device_id="p.1"),
        Identity(kind="rfid", site="s1", device_id="dock-1"),
        Identity(kind="agv", manufacturer="Acme:EU", device_id="AGV-1"),
        Identity(kind="gateway", device_id="gw-1"),
    ]
    assert [i.username for i in cases] == [
        "s1/temperature/p.1", "s1/rfid/dock-1", "agv/Acme:EU/AGV-1", "gateway/gw-1",
    ]  # fmt: skip
    assert [Identity.parse(i.username) for i in cases] == cases


@pytest.mark.parametrize(
    ("fields", "culprit"),
    [
        ({"kind": "temperature", "device_id": "p1"}, "site is required"),
        ({"kind": "temperature", "site": "s1", "device_id": "a/b"}, "device_id"),
        ({"kind": "temperature", "site": "s#", "device_id": "p1"}, "site"),
        ({"kind": "rfid", "site": "s1", "device_id": "r", "manufacturer": "m"}, "manufacturer"),
        ({"kind": "agv", "device_id": "AGV-1"}, "manufacturer is required"),
        ({"kind": "agv", "manufacturer": "m", "device_id": "a+b"}, "serialNumber"),
        ({"kind": "gateway", "device_id": "gw", "site": "s1"}, "site is not used"),
        ({"kind": "temperature", "site": "s" * 40, "device_id": "p" * 40}, "longer than 64"),
    ],
)
def test_invalid_identities_name_the_field(fields: dict[str, str], culprit: str) -> None:
    with pytest.raises(ValueError, match=culprit):
        Identity.model_validate(fields)


def test_parse_rejects_other_shapes() -> None:
    for bad in ("x", "a/b", "gateway/a/b", "s1/humidity/p1", "agv/m"):
        with pytest.raises(IdentityError, match="is not one of"):
            Identity.parse(bad)


def test_devices_write_only_their_own_topic_and_read_nothing() -> None:
    probe = Identity(kind="temperature", site="s1", device_id="p1")
    assert [(g.access, g.topic) for g in probe.grants] == [
        ("write", "tracehub/v1/s1/temperature/p1")
    ]
    agv = Identity(kind="agv", manufacturer="Acme", device_id="A1")
    reads = {g.topic for g in agv.grants if g.access == "read"}
    assert reads == {"uagv/v2/Acme/A1/order", "uagv/v2/Acme/A1/instantActions"}
    assert all(g.topic.startswith("uagv/v2/Acme/A1/") for g in agv.grants)
    gateway = Identity(kind="gateway", device_id="gw")
    writes = [g.topic for g in gateway.grants if g.access == "write"]
    assert writes == ["tracehub/deadletter/gw/#"]


def test_topic_to_identity() -> None:
    assert identity_for_topic("tracehub/v1/s1/rfid/r1").username == "s1/rfid/r1"
    assert identity_for_topic("uagv/v2/Acme/A1/state").username == "agv/Acme/A1"
    for bad in ("tracehub/v1/s1/other/r1", "tracehub/v1/s#/rfid/r1", "x/y"):
        with pytest.raises(IdentityError, match="topic"):
            identity_for_topic(bad)


def test_acl_has_one_block_per_identity_and_no_global_rules() -> None:
    acl = render_acl([Identity(kind="gateway", device_id="gw"),
                      Identity(kind="rfid", site="s1", device_id="r1")])  # fmt: skip
    body = [line for line in acl.splitlines() if line and not line.startswith("#")]
    assert body[0] == "user gateway/gw"  # no topic line before the first user
    assert "user s1/rfid/r1" in body
    assert "topic write tracehub/v1/s1/rfid/r1" in body


def test_password_hash_is_mosquittos_format() -> None:
    hashed = hash_password("s3cret", salt=b"0123456789ab")
    assert hashed.startswith("$7$101$MDEyMzQ1Njc4OWFi$")
    assert check_password("s3cret", hashed)
    assert not check_password("other", hashed)
    assert hash_password("s3cret") != hash_password("s3cret")  # salted
    assert render_password_file([("b", "h2"), ("a", "h1")]) == "a:h1\nb:h2\n"
    with pytest.raises(IdentityError, match="empty"):
        hash_password("")


def test_hashes_from_mosquitto_passwd_check(tmp_path: Path) -> None:
    path = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(path), "dev", "pw-1"], check=True)
    user, hashed = path.read_text().strip().split(":", 1)
    assert user == "dev"
    assert check_password("pw-1", hashed)
    assert not check_password("pw-2", hashed)
