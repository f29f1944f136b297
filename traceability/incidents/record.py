"""The signed form of an incident step: ledger kind ``incident-step``, format
``tracehub-incident/1``, record id ``incident:{id}/{seq}``, in the streams
``incident:{id}`` and every affected lot's (``lot:{gtin}/{lot}``)::

    {"format": "tracehub-incident/1", "incident": "inc-…", "seq": 2,
     "step": "acknowledged", "state": "acknowledged",
     "actor": {"name": "li", "role": "operator"}, "at": "2026-12-03T10:16:00Z",
     "comment": "door closed", …step fields}

Step fields: opened ``alarm`` {id, rule, kind, severity, summary}, ``site``,
``location``, ``place_name``, ``device``, ``span`` {start, end}, ``peak_c``,
``threshold_c``, ``lots`` (``span.end`` is when the alarm fired: the excursion's end is
its ``cleared`` step); joined (another alarm of the rule and place: the excursion came
back) ``alarm``, ``device``, ``span``, ``peak_c``; cleared ``alarm`` {id},
``cleared_at``, ``peak_c`` (the worst reading through the condition), when it adds
lots (there over the span, not named by the opening) ``lots_added`` and ``lots`` (all
of them now: the added lot's stream holds the steps from this one on); assessed
``impacts`` [{gtin, lot, minutes_out, budget_left_min, impact}]; disposed ``gtin``,
``lot``, ``disposition``, ``reason``, ``meaning`` ("I approve this disposition": what
the site's signature over a person's named step attests). Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from traceability.alarms.model import Alarm

STEP_KIND = "incident-step"
STEP_FORMAT = "tracehub-incident/1"


def incident_stream(incident_id: str) -> str:
    return f"incident:{incident_id}"


def step_record_id(incident_id: str, seq: int) -> str:
    return f"incident:{incident_id}/{seq}"


def instant(moment: datetime) -> str:
    """RFC 3339 UTC with a ``Z``, as every signed time is written."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def step_record(
    incident_id: str,
    seq: int,
    step: str,
    state: str,
    actor: str,
    role: str,
    at: datetime,
    comment: str,
    fields: dict[str, Any],
) -> dict[str, Any]:
    return {
        "format": STEP_FORMAT,
        "incident": incident_id,
        "seq": seq,
        "step": step,
        "state": state,
        "actor": {"name": actor, "role": role},
        "at": instant(at),
        "comment": comment,
        **fields,
    }


# What a repeated step must match to be the same step again (a retry), not a new one.
_VOLATILE = ("seq", "at", "state")


def same_step(record: dict[str, Any], other: dict[str, Any]) -> bool:
    def kept(r: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in r.items() if k not in _VOLATILE}

    return kept(record) == kept(other)


def alarm_fields(alarm: Alarm) -> dict[str, Any]:
    """What an opened or joined step says about its alarm."""
    return {
        "alarm": {
            "id": alarm.id,
            "rule": alarm.rule,
            "kind": alarm.kind,
            "severity": alarm.severity,
            "summary": alarm.summary,
        },
        "device": alarm.device,
        "span": {"start": instant(alarm.started_at), "end": instant(alarm.raised_at)},
        "peak_c": alarm.peak_c,
    }


def opened_fields(alarm: Alarm, lots: Sequence[str]) -> dict[str, Any]:
    return {
        **alarm_fields(alarm),
        "site": alarm.site,
        "location": alarm.location,
        "place_name": alarm.place_name,
        "threshold_c": alarm.threshold_c,
        "lots": list(lots),
    }


def cleared_fields(
    alarm: Alarm, cleared_at: datetime, lots: Sequence[str] = (), added: Sequence[str] = ()
) -> dict[str, Any]:
    """``added``: the lots the clearing adds (there over the span, not when the alarm
    fired), with ``lots`` all of the incident's then; neither when it adds none."""
    fields = {"alarm": {"id": alarm.id}, "cleared_at": instant(cleared_at), "peak_c": alarm.peak_c}
    return {**fields, "lots": list(lots), "lots_added": list(added)} if added else fields


def step_row(
    seq: int, step: str, actor: str, role: str, at: datetime, record: dict[str, Any], iid: str
) -> dict[str, Any]:
    """The records' row of a step (``IncidentRecords.add_step``): the record and its id."""
    return {
        "seq": seq,
        "step": step,
        "actor": actor,
        "role": role,
        "at": at,
        "record": record,
        "record_id": step_record_id(iid, seq),
    }


def worst_peak(kind: str, held: float | None, seen: float) -> float:
    """The peak to keep: the lowest reading for a low alarm, else the highest."""
    if held is None:
        return seen
    return min(held, seen) if kind == "temperature_low" else max(held, seen)
