"""The console's device directory over a real device registry (files, CA, CRL) and the
last readings in a real influxd 1.6.7 (the gateway's measurements and tags)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.devices.access import Identity
from gateway.devices.registry import DeviceRegistry
from influx.client import InfluxClient
from influx.quoting import epoch_ns
from tests.support.events import COLD_ROOM, DOCK
from tracehub.consoledevices import InfluxLastSeen, RegistryDevices
from tracehub.services import InfluxDB
from web.errors import UnknownDevice

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SINCE = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def registry(tmp_path: Path) -> DeviceRegistry:
    registry = DeviceRegistry.open(tmp_path / "devices", "a test passphrase", "s1")
    registry.provision(Identity(kind="temperature", site="s1", device_id="p1"), now=SINCE)
    registry.assign("s1/temperature/p1", COLD_ROOM, SINCE)
    registry.provision(
        Identity(kind="rfid", site="s1", device_id="dock-1"), location=DOCK, now=SINCE
    )
    registry.provision(Identity(kind="agv", manufacturer="acme", device_id="7"))
    registry.provision(
        Identity(kind="temperature", site="s1", device_id="spare"), certificate=False, password=True
    )
    return registry


def ns(moment: datetime) -> int:
    return epoch_ns(moment)


@pytest.fixture
def influx(influxdb: InfluxDB) -> Iterator[InfluxClient]:
    client = InfluxClient(influxdb.url, "d" + uuid.uuid4().hex[:12])
    client.create_database()
    # As the gateway writes them (gateway.lineprotocol): the probe's newest reading has no
    # battery figure, the one before has; the reader was last heard 30 min ago.
    client.write(
        [
            f"temperature,device=p1,location={COLD_ROOM},site=s1 celsius=3.5,battery=87.5,seq=1i "
            f"{ns(NOW - timedelta(minutes=4))}",
            f"temperature,device=p1,location={COLD_ROOM},site=s1 celsius=3.6,seq=2i "
            f"{ns(NOW - timedelta(minutes=2))}",
            f'rfid_read,read_point={DOCK},reader=dock-1,site=s1 epc="urn:x",antenna=1i,'
            f"rssi=-50.0,seq=9i {ns(NOW - timedelta(minutes=30))}",
            f"agv_state,manufacturer=acme,map_id=m1,serial=7 x=1.0,y=2.0,battery_charge=55.0,"
            f'operating_mode="AUTOMATIC",driving=true,errors=0i,error_types="" '
            f"{ns(NOW - timedelta(minutes=1))}",
            # Older than the lookback: not looked at.
            f"temperature,device=spare,location={DOCK},site=s1 celsius=4.0,seq=1i "
            f"{ns(NOW - timedelta(days=40))}",
        ]
    )
    yield client
    client.close()


@pytest.mark.integration
def test_the_listing_joins_the_registry_and_the_last_readings(
    registry: DeviceRegistry, influx: InfluxClient
) -> None:
    directory = RegistryDevices(registry, InfluxLastSeen(influx, now=lambda: NOW), now=lambda: NOW)
    listing = directory.listing()
    assert listing.readings_error is None
    found = {d.id: d for d in listing.devices}
    assert list(found) == [
        "s1/temperature/p1",
        "s1/rfid/dock-1",
        "agv/acme/7",
        "s1/temperature/spare",
    ]
    probe = found["s1/temperature/p1"]
    assert (probe.kind, probe.site, probe.place, probe.link) == (
        "temperature",
        "s1",
        COLD_ROOM,
        "online",
    )
    assert probe.last_reading == NOW - timedelta(minutes=2)
    assert probe.battery == 87.5  # from the newest reading that carried one
    assert probe.certificate_expiry == registry.get("s1/temperature/p1").cert_not_after
    assert probe.certificate_expiry is not None
    assert probe.calibration_due is None
    assert not probe.revoked
    reader = found["s1/rfid/dock-1"]
    assert (reader.place, reader.link, reader.battery) == (DOCK, "offline", None)
    assert reader.last_reading == NOW - timedelta(minutes=30)
    agv = found["agv/acme/7"]
    assert (agv.link, agv.battery, agv.place) == ("online", 55.0, None)
    spare = found["s1/temperature/spare"]
    assert (spare.link, spare.last_reading, spare.certificate_expiry) == ("offline", None, None)


@pytest.mark.integration
def test_revoking_goes_through_the_registry(registry: DeviceRegistry, influx: InfluxClient) -> None:
    directory = RegistryDevices(registry, InfluxLastSeen(influx, now=lambda: NOW), now=lambda: NOW)
    revoked = directory.revoke("s1/temperature/p1")
    assert (revoked.revoked, revoked.revoked_at) == (True, NOW)
    record = registry.get("s1/temperature/p1")
    assert record.status == "revoked"
    assert "user s1/temperature/p1" not in (registry.folder / "broker" / "acl").read_text()
    listed = {d.id: d for d in directory.listing().devices}["s1/temperature/p1"]
    assert listed.revoked
    with pytest.raises(UnknownDevice, match="nope"):
        directory.revoke("s1/temperature/nope")


def test_without_answers_from_influxdb_every_link_is_unknown(registry: DeviceRegistry) -> None:
    down = InfluxClient("http://127.0.0.1:9", "tracehub", timeout=0.5)
    listing = RegistryDevices(registry, InfluxLastSeen(down), now=lambda: NOW).listing()
    assert listing.readings_error is not None
    assert "did not answer" in listing.readings_error
    assert {d.link for d in listing.devices} == {"unknown"}
    assert len(listing.devices) == 4
    down.close()


def test_without_a_telemetry_store_the_listing_says_so(registry: DeviceRegistry) -> None:
    listing = RegistryDevices(registry, now=lambda: NOW).listing()
    assert listing.readings_error == "no telemetry store is configured"
    assert {d.link for d in listing.devices} == {"unknown"}
