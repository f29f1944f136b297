"""The lifecycle's rules: who may take a step, from which states, and what must hold
first. Pure: each check raises ``StepRefused`` (``RoleRefused`` for a role) with a
message that says why and what would allow it.

* acknowledge, assess and close: role operator, quality or admin; dispose: quality or
  admin (``model.ROLES_FOR``).
* forward only: acknowledge when open; assess when acknowledged (again until the first
  disposition); dispose when assessed, per lot of the incident, once per lot (release
  only once the excursion is over; quarantine and reject any time); close
  when assessed or disposed, every affected lot disposed and the excursion over (every
  alarm of it cleared: an excursion still going on cannot be closed).
* one acknowledgement: a second (other than a retry of the first) names who acknowledged.
"""

from __future__ import annotations

from typing import Any

from traceability.incidents.errors import RoleRefused, StepRefused
from traceability.incidents.model import (
    ROLES_FOR,
    Actor,
    Incident,
    IncidentState,
    StepName,
    lot_key,
)
from traceability.incidents.record import instant

# The states each people's step may be taken from (forward only).
FROM: dict[StepName, tuple[IncidentState, ...]] = {
    "acknowledged": ("open",),
    "assessed": ("acknowledged", "assessed"),
    "disposed": ("assessed", "disposed"),
    "closed": ("assessed", "disposed"),
}
_VERB: dict[StepName, str] = {
    "acknowledged": "acknowledging",
    "assessed": "assessing",
    "disposed": "a disposition",
    "closed": "closing",
}


def check_role(incident: Incident, actor: Actor, step: StepName) -> None:
    allowed = ROLES_FOR[step]
    if actor.role not in allowed:
        raise RoleRefused(
            f"incident {incident.id}: {_VERB[step]} needs the role "
            f"{' or '.join(allowed)}; {actor.name} acts as {actor.role}"
        )


def check_step(incident: Incident, step: StepName, fields: dict[str, Any]) -> None:
    iid = incident.id
    if step == "acknowledged" and (done := incident.last("acknowledged")) is not None:
        raise StepRefused(
            f"incident {iid}: already acknowledged by {done.actor} ({done.role}) at "
            f"{instant(done.at)}"
        )
    if incident.state not in FROM[step]:
        raise StepRefused(
            f"incident {iid} is {incident.state}: it cannot be {step} now "
            f"(only when {' or '.join(FROM[step])})"
        )
    if step == "disposed":
        key = lot_key(fields["gtin"], fields["lot"])
        if key not in incident.lots:
            raise StepRefused(
                f"incident {iid}: lot {key} was not affected; its lots are "
                f"{', '.join(incident.lots) or 'none'}"
            )
        if fields.get("disposition") == "release" and incident.ongoing:
            raise StepRefused(
                f"incident {iid}: lot {key} cannot be released while the excursion is still "
                f"going on (alarm {', '.join(incident.ongoing)} has not cleared): its budget "
                "is still being spent; quarantine or reject it now, or release it once cleared"
            )
        if key in incident.dispositions:
            raise StepRefused(
                f"incident {iid}: lot {key} is already disposed ({incident.dispositions[key]})"
            )
    if step == "closed" and incident.undisposed:
        raise StepRefused(
            f"incident {iid}: cannot close before every affected lot is disposed; "
            f"not yet: {', '.join(incident.undisposed)}"
        )
    if step == "closed" and incident.ongoing:
        raise StepRefused(
            f"incident {iid}: the excursion is still going on (alarm "
            f"{', '.join(incident.ongoing)} has not cleared): it can be closed once it "
            "has cleared"
        )
