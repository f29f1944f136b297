"""Incidents as values: who acts (``Actor``), one lifecycle ``Step``, the ``Incident``
and a lot's assessed ``LotImpact``. Pure: no I/O.

The lifecycle moves only forward::

    open ─ack─► acknowledged ─assess─► assessed ─dispose (per lot)─► disposed ─close─► closed

``close`` needs every affected lot disposed (an incident that found no lots closes
once assessed) and the excursion over. Each step is one signed ledger record
(``record.py``).

Two more steps are the hub's own (role ``system``) and do not move the state: ``joined``
(another alarm of the same rule and place while the incident is not closed: the
excursion came back) and ``cleared`` (an alarm of the incident cleared: its end and its
peak). The excursion is ``ongoing`` while an alarm that opened or joined it has not
cleared; its span runs from each alarm's start to its clearing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

IncidentState = Literal["open", "acknowledged", "assessed", "disposed", "closed"]
Disposition = Literal["release", "quarantine", "reject"]
Role = Literal["operator", "quality", "admin"]
StepName = Literal["opened", "joined", "cleared", "acknowledged", "assessed", "disposed", "closed"]
SYSTEM_STEPS: tuple[StepName, ...] = ("opened", "joined", "cleared")  # taken by the hub
ALARM_STEPS: tuple[StepName, ...] = ("opened", "joined")  # an alarm begins (or comes back)

STATES: tuple[IncidentState, ...] = ("open", "acknowledged", "assessed", "disposed", "closed")
# The state an incident is in after each people's step (and opened); joined and cleared
# keep the state the incident is in.
STATE_AFTER: dict[StepName, IncidentState] = {
    "opened": "open",
    "acknowledged": "acknowledged",
    "assessed": "assessed",
    "disposed": "disposed",
    "closed": "closed",
}
# Who may take each step (admin may take every step).
ROLES_FOR: dict[StepName, tuple[Role, ...]] = {
    "acknowledged": ("operator", "quality", "admin"),
    "assessed": ("operator", "quality", "admin"),
    "disposed": ("quality", "admin"),
    "closed": ("operator", "quality", "admin"),
}
SYSTEM_ROLE = "system"  # the opened step is taken by the hub itself, on an alarm
APPROVAL = "I approve this disposition"  # what a disposition's signature means


def incident_id(alarm_id: str) -> str:
    """Deterministic from the first alarm's id, so a re-delivered alarm finds its incident."""
    return "inc-" + hashlib.sha256(alarm_id.encode()).hexdigest()[:20]


def lot_key(gtin: str, lot: str) -> str:
    """ "GTIN-14/lot", how incidents name a lot."""
    return f"{gtin}/{lot}"


class Actor(BaseModel):
    """A person (an API client or CLI token) taking a step, with the role they act in."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1, max_length=64)
    role: Role


class LotImpact(BaseModel):
    """The assessed impact of the excursion on one lot."""

    model_config = ConfigDict(frozen=True)

    gtin: str
    lot: str
    minutes_out: float | None = None  # minutes out of range during the incident
    budget_left_min: float | None = None  # the lot's stability budget left (None: unknown)
    impact: str = ""  # the assessor's words

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class Step(BaseModel):
    """One lifecycle step as signed: ``record`` is the ledger record's JSON itself."""

    model_config = ConfigDict(frozen=True)

    seq: int = Field(ge=1)
    step: StepName
    actor: str
    role: str  # a Role, or "system" for the opened step
    at: AwareDatetime
    comment: str = ""
    record: dict[str, Any]
    record_id: str  # the ledger record id: "incident:{id}/{seq}"


class Incident(BaseModel):
    """An incident, as the records keep it (a cache of its signed steps)."""

    model_config = ConfigDict(frozen=True)

    id: str
    alarm_ids: tuple[str, ...]
    state: IncidentState
    rule: str
    kind: str
    severity: str
    site: str | None
    location: str
    place_name: str | None
    device: str | None
    started_at: AwareDatetime
    raised_at: AwareDatetime
    cleared_at: AwareDatetime | None = None
    peak_c: float | None = None
    threshold_c: float | None = None
    summary: str
    lots: tuple[str, ...] = ()  # "GTIN-14/lot"
    steps: tuple[Step, ...] = ()
    # Bookkeeping: the steps up to this seq are done (signed, the notifier and the
    # disposition capture told); ``IncidentService.resume`` finishes the rest.
    done_seq: int = 0

    @property
    def dispositions(self) -> dict[str, Disposition]:
        """Lot ("GTIN-14/lot") → its latest disposition."""
        found: dict[str, Disposition] = {}
        for step in self.steps:
            if step.step == "disposed":
                found[lot_key(step.record["gtin"], step.record["lot"])] = step.record["disposition"]
        return found

    @property
    def undisposed(self) -> tuple[str, ...]:
        done = self.dispositions
        return tuple(lot for lot in self.lots if lot not in done)

    def last(self, step: StepName) -> Step | None:
        return next((s for s in reversed(self.steps) if s.step == step), None)

    @property
    def alarms_begun(self) -> tuple[str, ...]:
        """Ids of the alarms that opened or joined the incident (its opened/joined steps)."""
        return tuple(s.record["alarm"]["id"] for s in self.steps if s.step in ALARM_STEPS)

    @property
    def alarms_cleared(self) -> tuple[str, ...]:
        return tuple(s.record["alarm"]["id"] for s in self.steps if s.step == "cleared")

    @property
    def ongoing(self) -> tuple[str, ...]:
        """Ids of the incident's alarms not yet cleared (empty: the excursion is over)."""
        done = set(self.alarms_cleared)
        return tuple(a for a in self.alarms_begun if a not in done)

    @property
    def span_end(self) -> datetime:
        return self.cleared_at or self.raised_at

    def to_json(self) -> dict[str, Any]:
        data = self.model_dump(mode="json", exclude={"steps", "done_seq"})
        data["dispositions"] = self.dispositions
        data["ongoing"] = bool(self.ongoing)  # an alarm of it has not cleared yet
        data["steps"] = [s.model_dump(mode="json") for s in self.steps]
        return data


def role_of(scopes: Iterable[str]) -> Role | None:
    """The role an API client acts in, from its scopes (the strongest it holds)."""
    held = set(scopes)
    for role in ("admin", "quality", "operator"):
        if role in held:
            return role
    return None
