"""``AuditedIncidentService``: the incident service whose people's steps are audit entries.

Each acknowledgement, assessment, disposition and closing the records took becomes an
entry (``incident.acknowledge`` … ``incident.close``; subject the incident; before its
state, after the signed step record; reason the comment, a disposition's reason; the
lots: the disposed one, else every lot of the incident), by the acting client (an API
or CLI token; ``actor_kind="user"`` for a console user, with their electronic
signature). A step refused by the lifecycle records nothing; a step the records took
whose signing failed (``StoreUnavailable``: retry) is recorded before the error goes
on, and its retry — the same step again, no new step — records nothing more.

The people's steps keep ``IncidentService``'s arguments and add two keywords, so the web
API and the CLI call it as they call the plain service.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from traceability.audit.entry import ActorKind, AuditActor, AuditSubject, ESignature
from traceability.audit.port import AuditLog, Authorship, check_authorship
from traceability.errors import TraceabilityError
from traceability.incidents.model import (
    Actor,
    Disposition,
    Incident,
    IncidentState,
    LotImpact,
    StepName,
    lot_key,
)
from traceability.incidents.service import IncidentService

ACTIONS: dict[StepName, str] = {
    "acknowledged": "incident.acknowledge",
    "assessed": "incident.assess",
    "disposed": "incident.dispose",
    "closed": "incident.close",
}


class AuditedIncidentService(IncidentService):
    """``IncidentService`` recording each people's step in ``audit``; see the module
    docstring."""

    def __init__(self, *args: Any, audit: AuditLog, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._audit = audit

    def acknowledge(
        self,
        incident_id: str,
        actor: Actor,
        comment: str,
        *,
        signature: ESignature | None = None,
        actor_kind: ActorKind = "client",
    ) -> Incident:
        step = super().acknowledge
        return self._audited(
            incident_id,
            actor,
            "acknowledged",
            comment,
            signature,
            actor_kind,
            lambda: step(incident_id, actor, comment),
        )

    def assess(
        self,
        incident_id: str,
        actor: Actor,
        comment: str,
        impacts: Sequence[LotImpact],
        *,
        signature: ESignature | None = None,
        actor_kind: ActorKind = "client",
    ) -> Incident:
        step = super().assess
        return self._audited(
            incident_id,
            actor,
            "assessed",
            comment,
            signature,
            actor_kind,
            lambda: step(incident_id, actor, comment, impacts),
        )

    def dispose(
        self,
        incident_id: str,
        actor: Actor,
        gtin: str,
        lot: str,
        disposition: Disposition,
        reason: str,
        *,
        signature: ESignature | None = None,
        actor_kind: ActorKind = "client",
    ) -> Incident:
        step = super().dispose
        return self._audited(
            incident_id,
            actor,
            "disposed",
            reason,
            signature,
            actor_kind,
            lambda: step(incident_id, actor, gtin, lot, disposition, reason),
        )

    def close(
        self,
        incident_id: str,
        actor: Actor,
        comment: str,
        *,
        signature: ESignature | None = None,
        actor_kind: ActorKind = "client",
    ) -> Incident:
        step = super().close
        return self._audited(
            incident_id,
            actor,
            "closed",
            comment,
            signature,
            actor_kind,
            lambda: step(incident_id, actor, comment),
        )

    def _audited(
        self,
        incident_id: str,
        actor: Actor,
        step: StepName,
        reason: str,
        signature: ESignature | None,
        kind: ActorKind,
        call: Callable[[], Incident],
    ) -> Incident:
        author = Authorship(
            actor=AuditActor(name=actor.name, kind=kind, role=actor.role),
            reason=reason or None,
            signature=signature,
        )
        check_authorship(author, ACTIONS[step])  # refused before the step, not after it
        before = self.get(incident_id)
        seen = len(before.steps) if before is not None else 0
        state = before.state if before is not None else None
        try:
            incident = call()
        except TraceabilityError:
            taken = self.get(incident_id)  # recorded, then the signing failed: still a write
            if taken is not None:
                self._record(author, taken, step, seen, state)
            raise
        self._record(author, incident, step, seen, state)
        return incident

    def _record(
        self,
        author: Authorship,
        incident: Incident,
        step: StepName,
        seen: int,
        state: IncidentState | None,
    ) -> None:
        changes = []
        for taken in incident.steps:
            if taken.seq <= seen or taken.step != step or taken.actor != author.actor.name:
                continue
            record = taken.record
            lots = (
                (lot_key(str(record["gtin"]), str(record["lot"])),)
                if step == "disposed"
                else incident.lots
            )
            subject = AuditSubject(kind="incident", key=incident.id)
            changes.append(author.change(ACTIONS[step], subject, {"state": state}, record, lots))
        if changes:
            self._audit.record_many(changes)
