"""An incident as its SIGNED steps tell it, read from an evidence bundle (the lot's:
every step is linked into each affected lot's stream, kept by the ledger). Pure.

``lifecycles(bundle, gtin, lot)`` groups the bundle's ``incident-step`` records by
incident and checks each against the service's own rules (``rules.py``): every record
hashes to its signed digest and is a well-formed ``tracehub-incident/1`` step of that
incident (a malformed one — a time that is not an instant with an offset, a disposition
without its fields — is a problem naming it, never an exception); the seqs run 1..n
without a gap, the first is ``opened``, states never go back; every people's step is
taken by a role ``ROLES_FOR`` allows, from a state ``FROM`` allows, into its own state;
a lot is disposed once, only a lot of the incident (opened with it or added by a
clearing) and released only once the excursion is over; the close comes with every lot
disposed; ``joined`` and ``cleared`` are the hub's own (role system), keep the state, a
cleared step names an alarm that began before it; nothing closes while an alarm of the
incident has not cleared; the lot asked about is one of the incident's. The
excursion's span is each alarm's start (its opened or joined step) to its clearing;
while one has not cleared the excursion is ongoing; its minutes are the union of the
alarms' spans (overlapping alarms count once).
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
    STATE_AFTER,
    STATES,
    SYSTEM_ROLE,
    SYSTEM_STEPS,
    lot_key,
)
from traceability.incidents.record import STEP_FORMAT, STEP_KIND, parse_instant
from traceability.incidents.rules import FROM

_STEPS = ("opened", "joined", "cleared", *ROLES_FOR)
_DISPOSITIONS = ("release", "quarantine", "reject")
_NOUN = {
    "acknowledged": "an acknowledgement",
    "assessed": "an assessment",
    "disposed": "a disposition",
    "closed": "a closing",
}


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
        span = (self.opened or {}).get("span")
        return _instant(span.get("start")) if isinstance(span, dict) else None

    def _alarms(self) -> dict[str, tuple[datetime | None, datetime | None]]:
        """Alarm id → (its start, its clearing), from the signed steps."""
        found: dict[str, tuple[datetime | None, datetime | None]] = {}
        for step in self.steps:
            alarm = _alarm_id(step)
            if alarm is None:
                continue
            start, end = found.get(alarm, (None, None))
            if step.get("step") in ALARM_STEPS and isinstance(step.get("span"), dict):
                start = start or _instant(step["span"].get("start"))
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
        """Minutes of the excursion: the union of its alarms' spans (start to clearing;
        two probes alarming at once count once). The same for every lot of it (``gtin``
        and ``lot`` are kept for the callers); None while it is ongoing."""
        spans = sorted(self._alarms().values(), key=lambda p: p[0] or datetime.min)
        if not spans or any(s is None or e is None for s, e in spans):
            return None
        total, reach = 0.0, None
        for start, end in spans:
            assert start is not None  # checked above
            assert end is not None
            begin = start if reach is None else max(start, reach)
            if end > begin:
                total += (end - begin).total_seconds()
            reach = end if reach is None else max(reach, end)
        return total / 60

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


def lifecycles(
    bundle: Mapping[str, Any], gtin: str | None = None, lot: str | None = None
) -> list[Lifecycle]:
    """The lot's incidents from the bundle's signed steps, oldest first; without a lot
    (a place's report), every incident the bundle carries, whole from its first step."""
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
        try:
            order = _order_problems(steps, gtin, lot)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:  # a last guard
            order = [f"the steps cannot be read: {type(exc).__name__}: {exc}"]
        problems = [*altered.get(incident, []), *order]
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
    return _shape_problem(record)


def _shape_problem(record: Mapping[str, Any]) -> str | None:
    """What makes a signed step unreadable (None: it is well formed)."""
    name, seq = record.get("step"), record.get("seq")
    if name not in _STEPS:
        return f"step {seq}: {name!r} is not a step"
    times = {"at": record.get("at"), "cleared_at": record.get("cleared_at")}
    span = record.get("span")
    if name in ALARM_STEPS:
        if not isinstance(span, dict):
            return f"step {seq}: {name} without a span"
        times |= {"span.start": span.get("start"), "span.end": span.get("end")}
    if name == "cleared" and record.get("cleared_at") is None:
        return f"step {seq}: cleared without cleared_at"
    for field, value in times.items():
        if value is not None and _instant(value) is None:
            return f"step {seq}: {field} {value!r} is not an RFC 3339 instant with an offset"
    lots = record.get("lots")
    if lots is not None and not (
        isinstance(lots, list) and all(isinstance(k, str) and "/" in k for k in lots)
    ):
        return f"step {seq}: lots is not a list of GTIN/lot"
    if name == "disposed" and not (
        isinstance(record.get("gtin"), str)
        and isinstance(record.get("lot"), str)
        and record.get("disposition") in _DISPOSITIONS
    ):
        return f"step {seq}: a disposition without its gtin, lot or disposition"
    return None


def _order_problems(
    steps: tuple[dict[str, Any], ...], gtin: str | None, lot: str | None
) -> list[str]:
    if not steps:
        return []
    problems: list[str] = []
    seqs = [int(s["seq"]) for s in steps]
    start = _start(steps, gtin, lot)
    if seqs != list(range(start, start + len(steps))):
        problems.append(f"the steps' seqs are {seqs}: a step is missing or repeated")
    if start == 1 and steps[0].get("step") != "opened":
        problems.append(f"the first step is {steps[0].get('step')}, not opened")
    ranks = [STATES.index(s["state"]) for s in steps]
    if any(b < a for a, b in pairwise(ranks)):
        problems.append("the states go back: " + " → ".join(str(s["state"]) for s in steps))
    problems.extend(_alarm_problems(steps, start > 1))
    problems.extend(_people_problems(steps, start > 1))
    lots = _lots(steps)
    if gtin is not None and lot is not None and lots and lot_key(gtin, lot) not in lots:
        problems.append(f"lot {lot_key(gtin, lot)} is not among the incident's lots")
    return problems


def _start(steps: tuple[dict[str, Any], ...], gtin: str | None, lot: str | None) -> int:
    """The seq the lot's steps start at: 1, or that of the clearing that added the lot
    (moved in before the alarm cleared): the lot's stream holds the steps from that one
    on, the earlier ones are in the incident's (its hash chain keeps any from missing)."""
    first = steps[0]
    if gtin is None or lot is None:
        return 1  # a place's report reads the incident's own stream, from its first step
    added = first.get("lots_added")
    if first.get("step") == "cleared" and isinstance(added, list) and lot_key(gtin, lot) in added:
        return int(first["seq"])
    return 1


def _lots(steps: tuple[dict[str, Any], ...]) -> set[str]:
    """The incident's lots: those it opened with and those its clearings added."""
    return {
        str(k) for s in steps if s.get("step") in ("opened", "cleared") for k in s.get("lots") or []
    }


def _people_problems(steps: tuple[dict[str, Any], ...], partial: bool = False) -> list[str]:
    """The people's steps against ``rules.py``: the role, the state it is taken from and
    the one it leaves; one disposition per lot of the incident, no release while the
    excursion goes on; the close only with every lot disposed (``partial``: the steps
    from the clearing that added the lot asked about: the close waits for the added
    lots, the others' dispositions may be earlier)."""
    problems: list[str] = []
    lots: set[str] = set()
    disposed: set[str] = set()
    begun: set[str] = set()
    cleared: set[str] = set()
    for before, step in pairwise(({}, *steps)):
        name, seq = step.get("step"), step.get("seq")
        if name in ("opened", "cleared"):
            lots |= {str(k) for k in step.get("lots") or []}
        alarm = _alarm_id(step)
        if name in ALARM_STEPS and alarm is not None:
            begun.add(alarm)
        elif name == "cleared" and alarm is not None:
            cleared.add(alarm)
        if name not in ROLES_FOR:
            continue
        role = str((step.get("actor") or {}).get("role"))
        if role not in ROLES_FOR[name]:
            problems.append(
                f"step {seq}: {_NOUN[name]} by role {role} (needs {' or '.join(ROLES_FOR[name])})"
            )
        held = before.get("state")
        if before and held not in FROM[name]:
            problems.append(
                f"step {seq}: {name} from the state {held} (only from {' or '.join(FROM[name])})"
            )
        if step.get("state") != STATE_AFTER[name]:
            problems.append(f"step {seq}: {name} leaves the state {step.get('state')}")
        if name == "disposed":
            key = lot_key(str(step.get("gtin")), str(step.get("lot")))
            if key not in lots:
                problems.append(f"step {seq}: a disposition of {key}, not a lot of it")
            elif key in disposed:
                problems.append(f"step {seq}: lot {key} is disposed a second time")
            if step.get("disposition") == "release" and begun - cleared:
                problems.append(f"step {seq}: {key} released while the excursion went on")
            disposed.add(key)
        elif name == "closed" and (waited := _waited(steps, lots, partial) - disposed):
            problems.append(
                f"step {seq}: closed before every lot was disposed (not: "
                f"{', '.join(sorted(waited))})"
            )
    return problems


def _waited(steps: tuple[dict[str, Any], ...], lots: set[str], partial: bool) -> set[str]:
    return {str(k) for k in steps[0].get("lots_added") or []} if partial else lots


def _alarm_problems(steps: tuple[dict[str, Any], ...], partial: bool = False) -> list[str]:
    """The hub's own steps: by the system, state kept, a clearing of an alarm begun
    before it (``partial``: the first step clears one begun before the lot's steps);
    no closing while an alarm has not cleared."""
    problems: list[str] = []
    first = _alarm_id(steps[0]) if partial and steps else None
    begun: set[str] = {first} if first else set()
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
    """An aware instant from its RFC 3339 text; None for anything else (a naive time
    too: it cannot be compared with the signed ones)."""
    try:
        found = parse_instant(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return found if found is not None and found.utcoffset() is not None else None
