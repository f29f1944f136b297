"""A site scenario file (YAML or JSON): rooms, docks, trucks, AGVs and rates.

``load_scenario(path)`` reads and validates it; ``SiteScenario.simulator_spec()`` gives
the MQTT probe/reader simulators, ``agvs`` the VDA 5050 simulators and ``rooms`` with
a ``plc_port`` an OPC UA cold-room server each. Example (``docs/gateway.md``)::

    site: demo
    seed: 2026
    rates: {interval_s: 1.0}
    rooms:
      - {id: cold1, location: "urn:epc:id:sgln:4012345.00001.cold1", probes: 2, plc_port: 4840}
    docks:
      - id: dock1
        read_point: "urn:epc:id:sgln:4012345.00001.dock1"
        epcs: ["urn:epc:id:sgtin:4012345.011111.1001"]
    trucks:
      - {id: truck7, location: "urn:epc:id:sgln:4012345.00009.truck7", setpoint_c: 5.0}
    agvs:
      - {manufacturer: ExampleAGV, serial: AGV-0001, loads: ["340123450000000123"]}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sensors.errors import ScenarioError
from sensors.fields import DeviceId, SglnUrn
from sensors.simulator import EpcIdentity, ProbeSpec, ReaderSpec, SimulatorSpec


class Rates(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    interval_s: float = Field(default=1.0, ge=0, description="wall-clock seconds per tick")
    agv_interval_s: float = Field(default=1.0, gt=0)
    plc_interval_s: float = Field(default=1.0, gt=0)


class Room(BaseModel):
    """A cold room: ``probes`` temperature probes; an OPC UA PLC if ``plc_port`` is set."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: DeviceId
    location: SglnUrn
    setpoint_c: float = Field(default=4.0, ge=-40, le=30)
    probes: int = Field(default=1, ge=0, le=100)
    plc_port: int | None = Field(default=None, ge=1, le=65535)


class Dock(BaseModel):
    """A dock door with an RFID reader (and a probe) seeing ``epcs`` in turn."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: DeviceId
    read_point: SglnUrn
    reader: DeviceId | None = None
    epcs: tuple[EpcIdentity, ...] = ()
    probe: bool = True
    setpoint_c: float = Field(default=8.0, ge=-40, le=30)


class Truck(BaseModel):
    """A reefer truck: one probe at its location."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: DeviceId
    location: SglnUrn
    setpoint_c: float = Field(default=5.0, ge=-40, le=30)


class Agv(BaseModel):
    """An AGV that picks up and drops ``loads`` (SSCCs) in turn."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    manufacturer: str = Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    serial: str = Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    map_id: str = "warehouse-1"
    loads: tuple[str, ...] = ()


class SiteScenario(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    site: DeviceId
    seed: int = 0
    rates: Rates = Rates()
    rooms: tuple[Room, ...] = ()
    docks: tuple[Dock, ...] = ()
    trucks: tuple[Truck, ...] = ()
    agvs: tuple[Agv, ...] = ()

    def simulator_spec(self) -> SimulatorSpec:
        """The MQTT probes and readers of this site."""
        probes: list[ProbeSpec] = []
        for room in self.rooms:
            probes += [
                ProbeSpec(
                    device_id=f"probe-{room.id}-{i + 1:02d}",
                    location=room.location,
                    setpoint_c=room.setpoint_c,
                )
                for i in range(room.probes)
            ]
        for dock in self.docks:
            if dock.probe:
                probes.append(
                    ProbeSpec(
                        device_id=f"probe-{dock.id}-01",
                        location=dock.read_point,
                        setpoint_c=dock.setpoint_c,
                    )
                )
        for truck in self.trucks:
            probes.append(
                ProbeSpec(
                    device_id=f"probe-{truck.id}-01",
                    location=truck.location,
                    setpoint_c=truck.setpoint_c,
                )
            )
        readers = tuple(
            ReaderSpec(
                reader_id=dock.reader or f"{dock.id}-reader", read_point=dock.read_point,
                epcs=dock.epcs,
            )
            for dock in self.docks
            if dock.epcs
        )  # fmt: skip
        return SimulatorSpec(site=self.site, probes=tuple(probes), readers=readers, seed=self.seed)


def _message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"]) or "scenario"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def parse_scenario(data: Any, source: str = "scenario") -> SiteScenario:
    try:
        return SiteScenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(f"{source}: {_message(exc)}") from exc


def load_scenario(path: Path | str) -> SiteScenario:
    """Read a YAML (``.yaml``/``.yml``) or JSON scenario file; ScenarioError says what is wrong."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"cannot read scenario file {path}: {exc}") from exc
    try:
        data = yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else json.loads(text)
    except (yaml.YAMLError, ValueError) as exc:
        raise ScenarioError(
            f"{path} is not valid {path.suffix.lstrip('.') or 'JSON'}: {exc}"
        ) from exc
    return parse_scenario(data, str(path))
