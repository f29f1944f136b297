"""``IncidentService``: alarms open incidents; people acknowledge, assess, dispose and
close them; every step is a signed ledger record (``record.py``).

Opening: an alarm opens the incident ``incident_id(alarm.id)`` naming the place, the
span (the condition began → the alarm fired), the peak and the lots that were there
then (``CustodyService.lots_at``: the recall query). A re-delivered alarm finds its
incident; an alarm of the same rule and place while an incident for them is still
``open`` (unacknowledged) joins it, a signed ``joined`` step (a flapping probe opens one
incident, not ten); once acknowledged, a returning excursion opens a new incident,
which notifies. ``raised`` always calls ``notifier.opened`` (idempotent by incident id), so a
re-delivery after a crash between the records and the notifier still notifies.
Clearing: each alarm's clearing is a signed ``cleared`` step (its end, its peak, and
the ``lots`` that moved in after the alarm fired: every lot there over the span
start..clearing is affected, and close waits for its disposition),
taken at any point after it began, once per alarm (a re-delivered clearing signs what
was left unsigned and adds nothing); it does not move the state. The excursion's span
is its alarms' starts to their clearings; until every one cleared it is ongoing, and an
ongoing excursion cannot be closed.

Rules: acknowledge, assess and close need the role operator, quality or admin; dispose
needs quality or admin and a lot of the incident (``release`` only once the excursion
is over); the state moves only forward (open
→ acknowledged → assessed → disposed → closed; a re-assessment before any disposition
is allowed); close needs every affected lot disposed and the excursion over
(``rules.py``). A step repeated as it was (same actor, comment and fields: a retry)
changes nothing and finishes what the first try left undone (the ledger record, the
notifier call, the disposition event); any other second acknowledgement is refused
naming who acknowledged.

Order and crash window: records first (the step row, its state), then the notifier of
every step not done yet (idempotent; before the ledger, so an outage of the ledger or a
refused key never holds an alert back), then the ledger (every step of the incident is
submitted again; the ledger is idempotent by record id; ``on_lot`` is told of each lot;
a failure raises for the retry), then the disposition capture of every step not done
yet, then the step is marked done
(``done_seq``). A crash or a refused signature in between leaves a step not done: the
ledger may not back it (``tracehub verify`` and the lot page only read signed steps, so
it is not shown as a fact) and escalation may go on after an acknowledgement; the same
call again, any later step, a re-delivered alarm or ``resume()`` at the hub's start
finishes it (the notifier and the capture are idempotent).
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from ledger.signing import Signer
from traceability.alarms.model import Alarm
from traceability.custody import CustodyService
from traceability.errors import RecordConflict, TraceabilityError
from traceability.incidents.disposition import (
    DispositionCapture,
    disposition_event,
    lot_class,
)
from traceability.incidents.errors import IncidentNotFound, StepRefused
from traceability.incidents.model import (
    APPROVAL,
    STATE_AFTER,
    SYSTEM_ROLE,
    Actor,
    Disposition,
    Incident,
    IncidentState,
    LotImpact,
    StepName,
    incident_id,
    lot_key,
)
from traceability.incidents.notice import IncidentNotifier, Notice
from traceability.incidents.record import (
    alarm_fields,
    cleared_fields,
    opened_fields,
    parse_instant,
    same_step,
    step_record,
    step_row,
    worst_peak,
)
from traceability.incidents.rules import check_role, check_step
from traceability.incidents.signing import LotHook, StepLedger, StepSigner
from traceability.records.store import RecordStore

__all__ = ["SYSTEM_ACTOR", "IncidentService", "StepLedger"]

log = logging.getLogger(__name__)
SYSTEM_ACTOR = "tracehub"
_TRIES = 5  # tries of a step whose seq a concurrent step took meanwhile


class IncidentService:
    """Implements ``traceability.alarms.model.AlarmSink``; see the module docstring."""

    def __init__(
        self,
        store: RecordStore,
        ledger: StepLedger,
        signer: Signer,
        notifier: IncidentNotifier | None = None,
        dispositions: DispositionCapture | None = None,
        clock: Callable[[], datetime] | None = None,
        url: str | None = None,
        renew: Callable[[], Signer] | None = None,
        on_lot: LotHook | None = None,
    ) -> None:
        """``url``: the hub's public URL (notices link ``{url}/incidents/{id}``);
        ``renew`` loads the site's current key when the ledger refuses the one held;
        ``on_lot(gtin14, lot)`` is told of each affected lot after every signed step
        (the hub drops the lot's cached pages: ``PageCache.invalidate``)."""
        self._store = store
        self._notifier = notifier
        self._dispositions = dispositions
        self._clock = clock or (lambda: datetime.now(UTC))
        self._url = url.rstrip("/") if url else None
        self._signing = StepSigner(ledger, signer, self._clock, renew=renew, on_lot=on_lot)

    # alarms -----------------------------------------------------------------------

    def raised(self, alarm: Alarm) -> None:
        incident = self._retrying(lambda: self._incident_of(alarm))
        # people first: a ledger outage or a refused key must not hold an alert back;
        # the signing after it still raises, for the alarm's retry
        if self._notifier is not None:
            self._notifier.opened(self.notice(incident))
        self._settle(incident)

    def cleared(self, alarm: Alarm) -> None:
        if self._store.incident_for_alarm(alarm.id) is None:  # its raise never reached us
            self.raised(alarm)
        if alarm.cleared_at is None:
            return
        cleared_at = alarm.cleared_at
        incident = self._retrying(lambda: self._clear(alarm, cleared_at))
        self._settle(incident)

    def resume(self) -> int:
        """At the hub's start: finish every step a crash left not done — sign it, tell
        the notifier of an acknowledgement or closing (escalation stops), capture a
        disposition's event — all idempotent. How many incidents it finished; one that
        still fails is logged and left for the next step or start."""
        finished = 0
        for found in self._store.unfinished_incidents():
            incident = Incident.model_validate(found)
            try:
                self._settle(incident)
            except TraceabilityError as exc:
                log.warning("incident %s: not finished at start: %s", incident.id, exc)
                continue
            finished += 1
        return finished

    def _incident_of(self, alarm: Alarm) -> Incident:
        """The incident ``alarm`` opened or joined; opening or joining one now if none."""
        found = self._store.incident_for_alarm(alarm.id)
        if found is not None:
            incident = Incident.model_validate(found)
            if alarm.id in incident.alarms_begun:
                return incident
            # attached before its join was a signed step: sign the join now
            return self._system_step(incident, "joined", alarm_fields(alarm))
        # only while nobody acknowledged it: a returning excursion after that opens a new
        # incident, which notifies and names the lots there now
        joined = self._store.unacknowledged_incident(alarm.rule, alarm.location)
        if joined is not None:
            incident = Incident.model_validate(joined)
            return self._system_step(incident, "joined", alarm_fields(alarm), alarm_id=alarm.id)
        return Incident.model_validate(self._open(alarm))

    def _clear(self, alarm: Alarm, cleared_at: datetime) -> Incident:
        found = self._store.incident_for_alarm(alarm.id)
        if found is None:
            raise RecordConflict(f"alarm {alarm.id}: its incident is not recorded yet; retry")
        incident = Incident.model_validate(found)
        if alarm.id in incident.alarms_cleared:  # re-delivered: only what it left undone
            return incident
        changes: dict[str, Any] = {"cleared_at": max(cleared_at, incident.cleared_at or cleared_at)}
        if alarm.peak_c is not None:
            changes["peak_c"] = worst_peak(alarm.kind, incident.peak_c, alarm.peak_c)
        # the lots moved in after the alarm fired, before it cleared, are affected too
        start = min(incident.started_at, alarm.started_at)
        there = CustodyService(self._store).lots_at(alarm.location, start, cleared_at)
        added = sorted({lot_key(g, lot) for g, lot in there} - set(incident.lots))
        lots = (*incident.lots, *added)
        if added:
            changes["lots"] = lots
        fields = cleared_fields(alarm, cleared_at, lots, added)
        return self._system_step(incident, "cleared", fields, changes=changes)

    def _system_step(
        self,
        incident: Incident,
        step: StepName,
        fields: dict[str, Any],
        alarm_id: str | None = None,
        changes: dict[str, Any] | None = None,
    ) -> Incident:
        """A step of the hub's own (joined, cleared): the state stays as it is."""
        seq = len(incident.steps) + 1
        at = self._clock()
        iid, state = incident.id, incident.state
        record = step_record(iid, seq, step, state, SYSTEM_ACTOR, SYSTEM_ROLE, at, "", fields)
        row = step_row(seq, step, SYSTEM_ACTOR, SYSTEM_ROLE, at, record, iid)
        stored = self._store.add_step(iid, row, state, alarm_id=alarm_id, changes=changes)
        return Incident.model_validate(stored)

    def _retrying(self, call: Callable[[], Incident]) -> Incident:
        """``call`` (records only: it reads afresh), again when a concurrent step took
        its seq (``RecordConflict``)."""
        for _ in range(_TRIES - 1):
            try:
                return call()
            except RecordConflict:
                continue
        return call()

    def _open(self, alarm: Alarm) -> dict[str, Any]:
        iid = incident_id(alarm.id)
        lots = tuple(
            lot_key(g, lot)
            for g, lot in CustodyService(self._store).lots_at(
                alarm.location, alarm.started_at, alarm.cleared_at or alarm.raised_at
            )
        )
        at = alarm.raised_at
        record = step_record(
            iid, 1, "opened", "open", SYSTEM_ACTOR, SYSTEM_ROLE, at, "", opened_fields(alarm, lots)
        )
        incident = {
            "id": iid,
            "state": "open",
            **{k: getattr(alarm, k) for k in _ALARM_FIELDS},
            "cleared_at": None,  # its cleared step sets it
            "lots": lots,
        }
        first = step_row(1, "opened", SYSTEM_ACTOR, SYSTEM_ROLE, at, record, iid)
        return self._store.open_incident(incident, alarm.id, first)

    # people's steps ---------------------------------------------------------------

    def acknowledge(self, incident_id: str, actor: Actor, comment: str) -> Incident:
        return self._step(incident_id, actor, "acknowledged", comment, {})

    def assess(
        self, incident_id: str, actor: Actor, comment: str, impacts: Sequence[LotImpact]
    ) -> Incident:
        incident = self._get(incident_id)
        for impact in impacts:
            if lot_key(impact.gtin, impact.lot) not in incident.lots:
                raise StepRefused(
                    f"incident {incident_id}: lot {lot_key(impact.gtin, impact.lot)} was not "
                    f"affected; its lots are {', '.join(incident.lots) or 'none'}"
                )
        fields = {"impacts": [i.to_json() for i in impacts]}
        return self._step(incident_id, actor, "assessed", comment, fields)

    def dispose(
        self,
        incident_id: str,
        actor: Actor,
        gtin: str,
        lot: str,
        disposition: Disposition,
        reason: str,
    ) -> Incident:
        fields = {
            "gtin": gtin,
            "lot": lot,
            "disposition": disposition,
            "reason": reason,
            "meaning": APPROVAL,
        }
        return self._step(incident_id, actor, "disposed", reason, fields)

    def close(self, incident_id: str, actor: Actor, comment: str) -> Incident:
        return self._step(incident_id, actor, "closed", comment, {})

    def get(self, incident_id: str) -> Incident | None:
        found = self._store.incident(incident_id)
        return None if found is None else Incident.model_validate(found)

    def list(self, state: IncidentState | None = None, limit: int = 100) -> builtins.list[Incident]:
        return [Incident.model_validate(i) for i in self._store.incidents(state, limit)]

    def notice(self, incident: Incident) -> Notice:
        return Notice(
            incident_id=incident.id,
            site=incident.site,
            location=incident.location,
            place_name=incident.place_name,
            kind=incident.kind,
            severity=incident.severity,
            summary=incident.summary,
            started_at=incident.started_at,
            raised_at=incident.raised_at,
            lots=incident.lots,
            url=f"{self._url}/incidents/{incident.id}" if self._url else None,
        )

    # the lifecycle ----------------------------------------------------------------

    def _get(self, incident_id: str) -> Incident:
        found = self.get(incident_id)
        if found is None:
            raise IncidentNotFound(f"incident {incident_id}: no such incident")
        return found

    def _step(
        self, incident_id: str, actor: Actor, step: StepName, comment: str, fields: dict[str, Any]
    ) -> Incident:
        def record_it() -> Incident:
            incident = self._get(incident_id)
            check_role(incident, actor, step)
            seq = len(incident.steps) + 1
            at = self._clock()
            state = STATE_AFTER[step]
            record = step_record(
                incident_id, seq, step, state, actor.name, actor.role, at, comment, fields
            )
            for previous in incident.steps:
                if previous.step == step and same_step(previous.record, record):
                    return incident  # a retry: settling finishes what the first left undone
            check_step(incident, step, fields)
            row = step_row(seq, step, actor.name, actor.role, at, record, incident_id)
            return Incident.model_validate(self._store.add_step(incident_id, row, state))

        # again when the hub's own step (a clearing) took the seq meanwhile: the rules
        # are checked afresh on what it changed
        return self._settle(self._retrying(record_it))

    def _settle(self, incident: Incident) -> Incident:
        """Tell the notifier of each step not done yet, sign every step, capture each
        disposition not done yet, then mark them done; the incident so marked. The
        notifier comes before the ledger (people hear of an alarm or an acknowledgement
        even while the ledger cannot sign); a signing failure still raises."""
        pending = [s.record for s in incident.steps if s.seq > incident.done_seq]
        for record in pending:
            self._tell(incident, record)
        self._signing.sign(incident)
        if not pending:
            return incident
        for record in pending:
            self._capture(incident, record)
        last = incident.steps[-1].seq
        self._store.incident_done(incident.id, last)
        return incident.model_copy(update={"done_seq": last})

    def _tell(self, incident: Incident, record: dict[str, Any]) -> None:
        """The notifier, of one people's step (idempotent: told again after a crash or
        a retry)."""
        step, at = record["step"], parse_instant(str(record["at"]))
        if self._notifier is None:
            return
        if step == "acknowledged":  # an opening: ``raised`` tells it, every delivery
            self._notifier.acknowledged(incident.id, record["actor"]["name"], at)
        elif step == "closed":
            self._notifier.closed(incident.id, at)

    def _capture(self, incident: Incident, record: dict[str, Any]) -> None:
        at = parse_instant(str(record["at"]))
        if record["step"] == "disposed" and self._dispositions is not None:
            gtin, lot = str(record["gtin"]), str(record["lot"])
            hints = [incident.location, *self._unit_epcs(gtin, lot)]
            event = disposition_event(
                lot_class(gtin, lot, hints), record["disposition"], incident.location, at
            )
            self._dispositions.capture(event, source=f"incident:{incident.id}")

    def _unit_epcs(self, gtin: str, lot: str) -> builtins.list[str]:
        epcs: builtins.list[str] = []
        for event in self._store.events_for_lot(gtin, lot)[:1]:
            epcs.extend(str(e) for e in event.document().get("epcList") or [])
        return epcs


_ALARM_FIELDS = (
    "rule",
    "kind",
    "severity",
    "site",
    "location",
    "place_name",
    "device",
    "started_at",
    "raised_at",
    "cleared_at",
    "peak_c",
    "threshold_c",
    "summary",
)
