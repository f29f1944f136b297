"""An incident as its SIGNED steps tell it, read from an evidence bundle (the lot's:
every step is linked into each affected lot's stream, kept by the ledger). Pure.

``lifecycles(bundle, gtin, lot)`` groups the bundle's ``incident-step`` records by
incident and checks each: every record hashes to its signed digest and is a
``tracehub-incident/1`` step of that incident; the seqs run 1..n without a gap, the
first is ``opened``, states never go back; a disposition is taken by a quality or admin
actor and names a lot the incident opened with; the lot asked about is one of them;
``joined`` and ``cleared`` are the hub's own (role system), keep the state, and a
cleared step names an alarm that began before it; nothing closes while an alarm of the
incident has not cleared. The excursion's span is each alarm's start (its opened or
joined step) to its clearing; while one has not cleared the excursion is ongoing.
What the page and ``tracehub verify`` say comes from here, never from the incidents
table (a cache an SQL edit could change).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from itertools import pairwise
from typing import Any

from pydantic import BaseModel, ConfigDict

from ledger.entry import record_digest
from ledger.errors import LedgerError
from traceability.incidents.model import (
    ALARM_STEPS,
    ROLES_FOR,
    STATES,
    SYSTEM_ROLE,
    SYSTEM_STEPS,
    lot_key,
)
from traceability.incidents.record import STEP_FORMAT, STEP_KIND, parse_instant


class Lifecycle(BaseModel):
    """One incident of a lot, from its signed steps."""

    model_config = ConfigDict(frozen=True)

    incident: str
    steps: tuple[dict[str, Any], ...]  # the signed records, by seq
    problems: tuple[str, ...] = ()  # why the lifecycle does not hold (empty: it does)
    anchored: bool = False  # every step is in an anchored batch

    @property
    def valid(self) -> bool:
        return not self.problems

    def _first(self, step: str) -> dict[str, Any] | None:
        return next((s for s in self.steps if s.get("step") == step), None)

    @property
    def opened(self) -> dict[str, Any] | None:
        return self._first("opened")

    @property
    def place(self) -> str:
        opened = self.opened or {}
        return str(opened.get("place_name") or opened.get("location") or "an unknown place")

    @property
    def started_at(self) -> datetime | None:
        span = (self.opened or {}).get("span") or {}
        return parse_instant(span["start"]) if isinstance(span.get("start"), str) else None

    def _alarms(self) -> dict[str, tuple[datetime | None, datetime | None]]:
        """Alarm id → (its start, its clearing), from the signed steps."""
        found: dict[str, tuple[datetime | None, datetime | None]] = {}
        for step in self.steps:
            alarm = _alarm_id(step)
            if alarm is None:
                continue
            start, end = found.get(alarm, (None, None))
            if step.get("step") in ALARM_STEPS:
                start = start or _instant((step.get("span") or {}).get("start"))
            elif step.get("step") == "cleared":
                end = _instant(step.get("cleared_at"))
            found[alarm] = (start, end)
        return found

    @property
    def ongoing(self) -> bool:
        """An alarm of the incident has not cleared: the excursion is still going on."""
        return any(end is None for _, end in self._alarms().values())

    @property
    def cleared_at(self) -> datetime | None:
        """When the excursion ended (its last alarm cleared); None while ongoing."""
        spans = self._alarms().values()
        if not spans or any(end is None for _, end in spans):
            return None
        return max(end for _, end in spans if end is not None)

    @property
    def peak_c(self) -> float | None:
        """The worst reading any signed step names (the lowest for a low alarm)."""
        peaks = [float(s["peak_c"]) for s in self.steps if isinstance(s.get("peak_c"), int | float)]
        if not peaks:
            return None
        low = ((self.opened or {}).get("alarm") or {}).get("kind") == "temperature_low"
        return min(peaks) if low else max(peaks)

    def minutes(self, gtin: str, lot: str) -> float | None:
        """Minutes of the excursion: each alarm's start to its clearing, summed (the
        same for every lot of it); None while it is ongoing."""
        spans = self._alarms().values()
        if not spans or any(s is None or e is None for s, e in spans):
            return None
        return sum((e - s).total_seconds() for s, e in spans if s and e) / 60

    def who(self, step: str) -> tuple[str, str] | None:
        """(name, role) of the latest ``step``."""
        found = next((s for s in reversed(self.steps) if s.get("step") == step), None)
        if found is None:
            return None
        actor = found.get("actor") or {}
        return str(actor.get("name")), str(actor.get("role"))

    def disposition(self, gtin: str, lot: str) -> tuple[str, str, str] | None:
        """(disposition, by name, by role) of the lot, from its latest disposed step."""
        for step in reversed(self.steps):
            if step.get("step") == "disposed" and lot_key(
                str(step.get("gtin")), str(step.get("lot"))
            ) == lot_key(gtin, lot):
                actor = step.get("actor") or {}
                return str(step["disposition"]), str(actor.get("name")), str(actor.get("role"))
        return None

    @property
    def state(self) -> str:
        return str(self.steps[-1].get("state")) if self.steps else "unknown"


def lifecycles(bundle: Mapping[str, Any], gtin: str, lot: str) -> list[Lifecycle]:
    """The lot's incidents from the bundle's signed steps, oldest first."""
    anchored_batches = {
        b.get("id") for b in bundle.get("batches") or [] if isinstance(b, dict) and b.get("anchor")
    }
    grouped: dict[str, list[tuple[dict[str, Any], bool]]] = {}
    altered: dict[str, list[str]] = {}
    for item in bundle.get("items") or []:
        entry = item.get("entry") if isinstance(item, dict) else None
        if not isinstance(entry, dict) or entry.get("kind") != STEP_KIND:
            continue
        rid = str(entry.get("record_id"))
        incident = rid.removeprefix("incident:").rsplit("/", 1)[0]
        record = item.get("record")
        problem = _record_problem(record, entry, incident)
        if problem is not None:
            altered.setdefault(incident, []).append(f"{rid}: {problem}")
            continue
        grouped.setdefault(incident, []).append((record, item.get("batch") in anchored_batches))
    found: list[Lifecycle] = []
    for incident in sorted(grouped.keys() | altered.keys()):
        pairs = sorted(grouped.get(incident, []), key=lambda p: int(p[0]["seq"]))
        steps = tuple(record for record, _ in pairs)
        problems = [*altered.get(incident, []), *_order_problems(steps, gtin, lot)]
        found.append(
            Lifecycle(
                incident=incident,
                steps=steps,
                problems=tuple(problems),
                anchored=bool(pairs) and all(a for _, a in pairs),
            )
        )
    return sorted(
        found, key=lambda c: (c.started_at is None, c.started_at or datetime.min, c.incident)
    )


def _record_problem(record: Any, entry: Mapping[str, Any], incident: str) -> str | None:
    if not isinstance(record, dict):
        return "the step record is missing"
    try:
        digest = record_digest(record).hex()
    except LedgerError:
        return "the step record has no canonical form"
    if digest != entry.get("record_digest"):
        return "the step record was altered: it does not hash to its signed digest"
    if (
        record.get("format") != STEP_FORMAT
        or record.get("incident") != incident
        or not isinstance(record.get("seq"), int)
        or record.get("state") not in STATES
        or not isinstance(record.get("actor"), dict)
    ):
        return f"signed, but not a {STEP_FORMAT} step of incident {incident}"
    return None


def _order_problems(steps: tuple[dict[str, Any], ...], gtin: str, lot: str) -> list[str]:
    if not steps:
        return []
    problems: list[str] = []
    seqs = [int(s["seq"]) for s in steps]
    if seqs != list(range(1, len(steps) + 1)):
        problems.append(f"the steps' seqs are {seqs}: a step is missing or repeated")
    if steps[0].get("step") != "opened":
        problems.append(f"the first step is {steps[0].get('step')}, not opened")
    ranks = [STATES.index(s["state"]) for s in steps]
    if any(b < a for a, b in pairwise(ranks)):
        problems.append("the states go back: " + " → ".join(str(s["state"]) for s in steps))
    problems.extend(_alarm_problems(steps))
    lots = set((steps[0].get("lots") or []) if steps[0].get("step") == "opened" else [])
    if lots and lot_key(gtin, lot) not in lots:
        problems.append(f"lot {lot_key(gtin, lot)} is not among the incident's lots")
    for step in steps:
        if step.get("step") != "disposed":
            continue
        role = str((step.get("actor") or {}).get("role"))
        if role not in ROLES_FOR["disposed"]:
            problems.append(
                f"step {step['seq']}: a disposition by role {role} (needs quality or admin)"
            )
        key = lot_key(str(step.get("gtin")), str(step.get("lot")))
        if key not in lots:
            problems.append(f"step {step['seq']}: a disposition of {key}, not a lot of it")
    return problems


def _alarm_problems(steps: tuple[dict[str, Any], ...]) -> list[str]:
    """The hub's own steps: by the system, state kept, a clearing of an alarm begun
    before it; no closing while an alarm has not cleared."""
    problems: list[str] = []
    begun: set[str] = set()
    cleared: set[str] = set()
    for before, step in pairwise(({}, *steps)):
        name, alarm = step.get("step"), _alarm_id(step)
        role = str((step.get("actor") or {}).get("role"))
        if name in SYSTEM_STEPS and role != SYSTEM_ROLE:
            problems.append(f"step {step.get('seq')}: {name} by role {role}, not the hub's own")
        if name in ("joined", "cleared") and before and step.get("state") != before.get("state"):
            problems.append(f"step {step.get('seq')}: {name} moved the state")
        if name in ALARM_STEPS and alarm is not None:
            begun.add(alarm)
        elif name == "cleared":
            if alarm not in begun:
                problems.append(f"step {step.get('seq')}: clears alarm {alarm}, not one of it")
            cleared.add(str(alarm))
        elif name == "closed" and begun - cleared:
            problems.append(
                f"step {step.get('seq')}: closed while the excursion was still going on"
            )
    return problems


def _alarm_id(step: Mapping[str, Any]) -> str | None:
    alarm = step.get("alarm")
    return str(alarm["id"]) if isinstance(alarm, dict) and alarm.get("id") else None


def _instant(value: Any) -> datetime | None:
    try:
        return parse_instant(value) if isinstance(value, str) else None
    except ValueError:
        return None
