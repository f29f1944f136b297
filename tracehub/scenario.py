"""Demo scenarios: ``tracehub demo --scenario excursion`` plays an incident end to end.

A scenario file (``tracehub/scenarios/<name>.yaml``, or any path) has one ``scenario:``
section, checked like the alarm rule file (an error names the line):

* ``alarms``: the rule file the hub runs (rules and escalation), relative to the scenario;
* ``store_in``: where the units the dock door reads are put away (a ``storing`` event);
* ``course``: scripted holds per probe (``sensors.simulator.Hold``: a compressor failure);
* ``acknowledge`` / ``assess`` / ``dispose`` / ``close``: what the people on duty do, by
  name, once the notifications have escalated ``after_escalations`` times.

``Play`` runs next to the demo: it starts a local webhook receiver and SMTP server
(``tracehub.receivers``) and points the hub's alert channels at them, then follows the
incident and prints each notification as it arrives, takes the people's steps through the
hub's ``IncidentService`` (signed and anchored like every step) and says where to look.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from rich.console import Console

from sensors.simulator import Hold, SimulatorSpec
from traceability.alarms.rulefile import load_yaml, validate_section
from traceability.anchoring.feeder import EventLeaves
from traceability.capture import CaptureService
from traceability.coldchain.budget import budget_left
from traceability.coldchain.telemetry import InfluxTemperatureReader
from traceability.errors import RuleFileError
from traceability.incidents.model import Actor, Disposition, Incident, LotImpact, Role
from tracehub.hub import Hub
from tracehub.receivers import Inbox, MailReceiver, Received, WebhookReceiver
from tracehub.settings import Settings
from tracehub.temperatures import lot_exposure

SCENARIOS = Path(__file__).parent / "scenarios"
T = TypeVar("T")
PAUSE_S = 3.0  # between the people's steps, so a person can follow them


class Act(BaseModel):
    """One person's step: who, and what they write."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    by: str = Field(min_length=1, max_length=64)
    comment: str = Field(min_length=1)


class Acknowledge(Act):
    after_escalations: int = Field(default=1, ge=0)  # how many recipients beyond the first


class Dispose(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    by: str = Field(min_length=1, max_length=64)
    disposition: Disposition
    reason: str = Field(min_length=1)


class Scenario(BaseModel):
    """The ``scenario:`` section."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str
    alarms: Path
    store_in: str | None = None
    course: dict[str, tuple[Hold, ...]] = Field(default_factory=dict)
    acknowledge: Acknowledge | None = None
    assess: Act | None = None
    dispose: Dispose | None = None
    close: Act | None = None


def scenario_path(name: str) -> Path:
    """A shipped scenario by name (``excursion``), else a path to a file."""
    shipped = SCENARIOS / f"{name}.yaml"
    return shipped if shipped.is_file() else Path(name)


def load_scenario(name: str) -> tuple[Scenario, Path]:
    """The scenario and its file (raises ``RuleFileError`` naming the line)."""
    path = scenario_path(name)
    scenario = validate_section(Scenario, load_yaml(path), "scenario")
    alarms = scenario.alarms if scenario.alarms.is_absolute() else path.parent / scenario.alarms
    if not alarms.is_file():
        raise RuleFileError(f"{path}: scenario.alarms: {alarms} does not exist")
    return scenario.model_copy(update={"alarms": alarms}), path


class Play:
    """A scenario running beside the demo (see the module docstring)."""

    def __init__(self, scenario: Scenario, console: Console) -> None:
        self.scenario = scenario
        self._console = console
        self.inbox = Inbox(on_received=self._told)
        self._secret = secrets.token_urlsafe(24)
        self.incident: Incident | None = None
        self.done = threading.Event()

    def configure(self, settings: Settings, stack: ExitStack) -> Settings:
        """Start the receivers; the settings with the scenario's rules and channels."""
        webhook = WebhookReceiver(self._secret, self.inbox).start()
        stack.callback(webhook.stop)
        mail = MailReceiver(self.inbox).start()
        stack.callback(mail.stop)
        alerts = settings.alerts.model_copy(
            update={
                "webhook_url": SecretStr(webhook.url),
                "webhook_secret": SecretStr(self._secret),
                "smtp_url": SecretStr(f"{mail.url}?from=alerts@demo.tracehub.example"),
            }
        )
        alarms = settings.alarms.model_copy(update={"file": self.scenario.alarms, "interval_s": 2})
        return settings.model_copy(update={"alerts": alerts, "alarms": alarms})

    def devices(self, spec: SimulatorSpec) -> SimulatorSpec:
        """The demo's devices with the scenario's scripted courses."""
        probes = tuple(
            p.model_copy(update={"course": self.scenario.course.get(p.device_id, ())})
            for p in spec.probes
        )
        return spec.model_copy(update={"probes": probes})

    def put_away(self, hub: Hub, units: list[str]) -> None:
        """The units the dock door read go into ``store_in`` (a storing event)."""
        where = self.scenario.store_in
        if where is None or not units:
            return
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        event = {
            "type": "ObjectEvent",
            "eventTime": now,
            "eventTimeZoneOffset": "+00:00",
            "epcList": units,
            "action": "OBSERVE",
            "bizStep": "storing",
            "disposition": "in_progress",
            "readPoint": {"id": where},
            "bizLocation": {"id": where},
        }
        CaptureService(
            hub.store,
            ledger=EventLeaves(hub.ledger, hub.signer),
            on_stored=hub.parts.subscriptions.subscriptions.on_stored,
        ).capture(event, source="cli:demo-scenario")
        self._say(f"put away: {len(units)} units into {where}")

    def run(self, hub: Hub, stop: threading.Event) -> None:
        """Follow the incident and take the people's steps (until done or ``stop``)."""
        incident = self._await(lambda: next(iter(hub.incidents.list()), None), stop)
        if incident is None:
            return
        self.incident = incident
        self._say(f"[bold red]incident {incident.id}[/]: {incident.summary}")
        self._say(f"  affected lots: {', '.join(incident.lots) or 'none'}")
        scenario = self.scenario
        if scenario.acknowledge is not None:
            wanted = scenario.acknowledge.after_escalations + 1
            if not self._await(lambda: self._recipients() >= wanted or None, stop):
                return
            self._act(hub, "acknowledged", scenario.acknowledge, "operator")
        if scenario.assess is not None and not stop.wait(PAUSE_S):
            self._assess(hub, scenario.assess)
        current = incident
        if scenario.dispose is not None or scenario.close is not None:
            # A lot is released, and an incident closed, only once the excursion is over.
            self._say("the release waits for the room to be back in its band")
            if self._await(lambda: self._cleared(hub), stop) is None:
                return
            self._say("the alarm cleared: the room is back in its band")
            current = hub.incidents.get(incident.id) or incident  # lots that came meanwhile
        if scenario.dispose is not None and not stop.wait(PAUSE_S):
            for lot in current.lots:
                gtin, _, number = lot.partition("/")
                actor = Actor(name=scenario.dispose.by, role="quality")
                hub.incidents.dispose(
                    incident.id,
                    actor,
                    gtin,
                    number,
                    scenario.dispose.disposition,
                    scenario.dispose.reason,
                )
                self._say(
                    f"{scenario.dispose.disposition}: lot {lot} by {actor.name} (quality), "
                    "signed: I approve this disposition"
                )
        if scenario.close is not None and not stop.wait(PAUSE_S):
            self._act(hub, "closed", scenario.close, "operator")
        hub.anchoring.wake()
        self.done.set()

    # ------------------------------------------------------------------------------

    def _act(self, hub: Hub, step: str, act: Act, role: Role) -> None:
        assert self.incident is not None
        actor = Actor(name=act.by, role=role)
        steps: dict[str, Callable[..., Incident]] = {
            "acknowledged": hub.incidents.acknowledge,
            "closed": hub.incidents.close,
        }
        steps[step](self.incident.id, actor, act.comment)
        self._say(f"{step} by {actor.name} ({role}): {act.comment}")

    def _assess(self, hub: Hub, act: Act) -> None:
        """The assessment, with each lot's minutes out of range and stability budget left
        as the exposure computes them now."""
        assert self.incident is not None
        influx = hub.settings.influx
        assert influx.url is not None
        impacts = []
        with InfluxTemperatureReader(influx.url, influx.database) as series:
            exposure = lot_exposure(hub.store, series)
            for lot in self.incident.lots:
                gtin, _, number = lot.partition("/")
                judged = exposure.exposure(gtin, number)
                impacts.append(
                    LotImpact(
                        gtin=gtin,
                        lot=number,
                        minutes_out=round(judged.minutes_out_of_range, 1),
                        budget_left_min=budget_left(judged),
                        impact=act.comment,
                    )
                )
        actor = Actor(name=act.by, role="operator")
        hub.incidents.assess(self.incident.id, actor, act.comment, impacts)
        for impact in impacts:
            left = (
                "no budget"
                if impact.budget_left_min is None
                else (f"{impact.budget_left_min:.0f} min of its stability budget left")
            )
            self._say(
                f"assessed by {actor.name} (operator): lot {impact.lot} "
                f"{impact.minutes_out:g} min out of range, {left}"
            )

    def _cleared(self, hub: Hub) -> bool | None:
        assert self.incident is not None
        now = hub.incidents.get(self.incident.id)
        return True if now is not None and not now.ongoing else None

    def _recipients(self) -> int:
        return len({to for item in self.inbox.items if item.channel == "email" for to in item.to})

    def _await(self, found: Callable[[], T | None], stop: threading.Event) -> T | None:
        while not stop.is_set():
            value = found()
            if value is not None:
                return value
            stop.wait(1.0)
        return None

    def _told(self, item: Received) -> None:
        to = ", ".join(item.to) or "webhook"
        self._say(f"[yellow]{item.channel}[/] to {to}: {item.subject}")

    def _say(self, text: str) -> None:
        self._console.print(f"[dim]scenario[/] {text}", highlight=False)
