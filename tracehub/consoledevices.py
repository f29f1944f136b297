"""The console's device directory (``web.console.devices.DeviceDirectory``) over the
gateway's device registry and the last readings the gateway wrote to InfluxDB.

Here because ``web`` may not import the gateway: the composition root may import both.

* identities, kinds, sites, places now, certificate expiry, revocation: the registry
  (``gateway.devices.registry.DeviceRegistry``); revoking goes through it, so the
  certificate goes on the CRL and the identity leaves the broker's ACL, then the local
  broker started on the registry is told to reload (SIGHUP) so the revocation applies
  at once (``tracehub devices revoke`` does the same);
* last reading and battery: ``InfluxLastSeen``, one InfluxQL request per listing over
  the measurements the gateway writes (``gateway.lineprotocol``): ``temperature``
  (tags site, device; field battery), ``rfid_read`` (site, reader), ``agv_state``
  (manufacturer, serial; field battery_charge), ``gateway_health`` (gateway: its
  instance, by default the MQTT client id, as in the gateway's identity);
* online: a point within ``offline_after`` (default 10 min, the ``probe_offline``
  alarm's default silence); none within it, or none in the lookback: offline.
  InfluxDB not answering (or none configured) leaves every link unknown and says why.

Calibration due dates are not kept by the registry: ``calibration_due`` is None.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from gateway.devices.records import DeviceRecord
from gateway.devices.registry import DeviceRegistry
from gateway.errors import UnknownIdentity
from influx.client import InfluxClient
from influx.errors import InfluxError
from influx.series import Series
from web.console.devices import Device, DeviceListing, Link
from web.errors import UnknownDevice

DEFAULT_OFFLINE_AFTER = timedelta(minutes=10)
DEFAULT_LOOKBACK = timedelta(days=30)


class LastSeen(BaseModel):
    """A device's newest point, and its newest battery figure (percent) if it sends one."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    battery: float | None = None


class LastReadings(Protocol):
    def last_seen(self) -> Mapping[str, LastSeen]:
        """Identity username → its newest point; raises ``InfluxError`` when the store
        cannot answer."""
        ...


# Per measurement: how a series' tags name the identity, and the field whose last value
# says it was heard (aliased "seen") and the battery field (aliased "battery") if any.
_SOURCES: tuple[tuple[str, tuple[str, ...], str, str | None], ...] = (
    ("temperature", ("site", "device"), "celsius", "battery"),
    ("rfid_read", ("site", "reader"), "seq", None),
    ("agv_state", ("manufacturer", "serial"), "battery_charge", "battery_charge"),
    ("gateway_health", ("gateway",), "spool_depth", None),
)


def _username(measurement: str, tags: Mapping[str, str]) -> str | None:
    if measurement == "temperature" and tags.get("site") and tags.get("device"):
        return f"{tags['site']}/temperature/{tags['device']}"
    if measurement == "rfid_read" and tags.get("site") and tags.get("reader"):
        return f"{tags['site']}/rfid/{tags['reader']}"
    if measurement == "agv_state" and tags.get("manufacturer") and tags.get("serial"):
        return f"agv/{tags['manufacturer']}/{tags['serial']}"
    if measurement == "gateway_health" and tags.get("gateway"):
        return f"gateway/{tags['gateway']}"
    return None


class InfluxLastSeen:
    """``LastReadings`` over the InfluxDB v1 ``/query`` endpoint (one request)."""

    def __init__(
        self,
        client: InfluxClient,
        lookback: timedelta = DEFAULT_LOOKBACK,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        """``lookback``: how far back a device's last point is looked for (``last()``
        over all time would read every shard)."""
        self._client = client
        self._lookback = lookback
        self._now = now or (lambda: datetime.now(UTC))

    def statements(self) -> str:
        since = int((self._now() - self._lookback).timestamp()) * 10**9
        parts = []
        for measurement, tags, seen, battery in _SOURCES:
            group = ", ".join(f'"{t}"' for t in tags)
            # Two statements: several selectors in one would all get time 0.
            parts.append(
                f'SELECT last("{seen}") AS "seen" FROM "{measurement}" '
                f"WHERE time >= {since} GROUP BY {group}"
            )
            if battery is not None:
                parts.append(
                    f'SELECT last("{battery}") AS "battery" FROM "{measurement}" '
                    f"WHERE time >= {since} GROUP BY {group}"
                )
        return "; ".join(parts)

    def last_seen(self) -> dict[str, LastSeen]:
        seen: dict[str, datetime] = {}
        battery: dict[str, float] = {}
        for series in self._client.query(self.statements()):
            _collect(series, seen, battery)
        return {name: LastSeen(at=at, battery=battery.get(name)) for name, at in seen.items()}


def _collect(series: Series, seen: dict[str, datetime], battery: dict[str, float]) -> None:
    name = _username(series.name, series.tags)
    if name is None:
        return
    for row in series.rows():
        if row.get("seen") is not None:
            seen[name] = datetime.fromtimestamp(row["time"] / 1e9, tz=UTC)
        if row.get("battery") is not None:
            battery[name] = float(row["battery"])


class RegistryDevices:
    """``DeviceDirectory`` over a device registry and (optionally) the last readings."""

    def __init__(
        self,
        registry: DeviceRegistry,
        readings: LastReadings | None = None,
        *,
        offline_after: timedelta = DEFAULT_OFFLINE_AFTER,
        now: Callable[[], datetime] | None = None,
        reload_broker: bool = True,
    ) -> None:
        self._registry = registry
        self._readings = readings
        self._offline_after = offline_after
        self._now = now or (lambda: datetime.now(UTC))
        self._reload = reload_broker

    def listing(self) -> DeviceListing:
        seen: Mapping[str, LastSeen] = {}
        error = None
        if self._readings is None:
            error = "no telemetry store is configured"
        else:
            try:
                seen = self._readings.last_seen()
            except InfluxError as exc:
                error = str(exc)[:300]
        now = self._now()
        devices = tuple(
            self._device(record, seen.get(record.username), now, known=error is None)
            for record in self._registry.records()
        )
        return DeviceListing(devices=devices, readings_error=error)

    def revoke(self, device: str) -> Device:
        try:
            record = self._registry.revoke(device, self._now())
        except UnknownIdentity as exc:
            raise UnknownDevice(str(exc)) from exc
        if self._reload:
            self._registry.reload_broker()  # False when no local broker runs: nothing to tell
        return self._device(record, None, self._now(), known=False)

    def _device(
        self, record: DeviceRecord, last: LastSeen | None, now: datetime, *, known: bool
    ) -> Device:
        identity = record.identity
        link: Link = "unknown"
        if last is not None:
            link = "online" if now - last.at <= self._offline_after else "offline"
        elif known:
            link = "offline"  # the store answered and has nothing from it in the lookback
        return Device(
            id=record.username,
            kind=identity.kind,
            site=identity.site,
            place=record.location_at(now),
            link=link,
            battery=None if last is None else last.battery,
            last_reading=None if last is None else last.at,
            certificate_expiry=record.cert_not_after,
            calibration_due=None,
            revoked=record.status == "revoked",
            revoked_at=record.revoked_at,
        )
