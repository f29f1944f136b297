"""Capture: validate EPCIS 2.0 events, link their EPCs to lots, store each event once.

Single events arrive from the gateway's capture port (the composition root adapts
``CaptureService.capture`` to it: ``EventRejected`` → "rejected", ``StoreUnavailable`` →
"unavailable, retry"). Documents arrive from ``POST /capture`` (``/epcis/capture``) and
the CLI through ``capture_document`` (an XML document is first read into this JSON-LD
form by ``gs1.epcis.xmlcapture.xml_capture_document``), which follows the EPCIS 2.0 capture
interface: by default a document is captured all or nothing
(``GS1-Capture-Error-Behaviour: rollback``); with ``proceed`` the valid events are
stored and the invalid ones reported. Either way every invalid event is reported with
its index, field and reason.

Validity decides acceptance, and only validity. A document is refused (``EventRejected``
naming the field) without ``@context``, ``type``, ``schemaVersion``, ``creationDate`` or
``epcisBody.eventList``; an event is refused when it breaks the official EPCIS 2.0 JSON
Schema (``gs1.epcis.schema``: action, time formats, mandatory fields) or the JSON-LD
rules: every extension namespaced as ``prefix:name`` with the prefix declared in the
document's ``@context`` (or a full URI), at the event's top level and inside readPoint,
bizLocation, ilmd, sensor elements and errorDeclaration (``gs1.epcis.extensions``);
bizStep and disposition a CBV value (bare or its URI) or a URI of the sender's own, never
a bare word outside the CBV (``gs1.cbv``). What the standard allows is accepted, e.g. an
ObjectEvent naming no object (a room's temperature in a ``sensorElementList`` at a
readPoint). A single event from the gateway has no document, so no ``@context`` check.
One bound beyond the schema: a URI longer than the records can index (over 2,000
bytes, ``traceability.records.keysize``) refuses its event naming the field.

Business rules only warn (``traceability.capturerules``): an aggregation into a parent
never seen, an unregistered unit or lot, an unrecorded location are stored, reported as
``CaptureReport.warnings`` and flagged on the stored event (``NewEvent.flags``); custody
still follows the children of a parent first seen in the aggregation itself. Everything
the rules read is looked up once per document. ``on_stored`` runs in the transaction
that stores the new events (the subscription outbox is written there).

With a ``CaptureLedger`` (the hub wires ``traceability.anchoring.feeder.EventLeaves``)
every accepted event is signed into the ledger *before* it is stored: the signed entry
is the hub's receipt that it captured the event, so a row that appears in the events
table some other way (an INSERT by hand) has none and ``tracehub verify`` fails it.
Without one (a records-only tool) events are stored unsigned and never anchored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from gs1.epcis.document import capture_events
from gs1.epcis.event import DEFAULT_FUTURE_TOLERANCE, parse_event, repository_id
from gs1.epcis.hashid import context_prefixes, event_hash_id
from gs1.epcis.schema import Syntax, event_errors
from gs1.errors import EventRejected, NumberOutOfRange
from ledger.canonical import canonicalize
from ledger.entry import MAX_RECORD_ID_LENGTH
from ledger.errors import CanonicalizationError
from traceability.capturerules import (
    EventWarning,
    Known,
    WarningCode,
    event_warnings,
    look_up,
)
from traceability.carriers import carried_lots
from traceability.epclinks import check_indexable, event_links
from traceability.records.eventlog import StoredHook
from traceability.records.store import NewEvent, RecordStore, StoreResult

__all__ = [
    "DEFAULT_FUTURE_TOLERANCE",
    "CaptureLedger",
    "CaptureOutcome",
    "CaptureReport",
    "CaptureService",
    "EventError",
    "EventWarning",
]

# The repository sets its own record time (captured_at); a sender's recordTime is noise.
_NOT_STORED = frozenset({"recordTime"})
ErrorBehaviour = Literal["rollback", "proceed"]


class CaptureOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    event_id: str
    created: bool  # False: the same event was captured before (redelivery)
    # (gtin, lot) pairs the event was linked to, and those of what a pallet it names held
    lots: tuple[tuple[str, str], ...]
    unknown_epcs: tuple[str, ...]  # EPCs not resolved to a registered unit
    flags: tuple[str, ...] = ()  # codes of capture's warnings (traceability.capturerules)


class EventError(BaseModel):
    """Why event ``index`` of a document was not captured."""

    model_config = ConfigDict(frozen=True)

    index: int
    field: str
    reason: str


class CaptureReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    captured: tuple[CaptureOutcome, ...]
    errors: tuple[EventError, ...]
    behaviour: ErrorBehaviour
    # What the records did not know about the valid events (never a refusal).
    warnings: tuple[EventWarning, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors


class CaptureLedger(Protocol):
    """Signs what capture accepted, before it is stored (see the module docstring)."""

    def sign(
        self,
        events: Sequence[tuple[NewEvent, Sequence[tuple[str, str]]]],
        source: str | None = None,
    ) -> None:
        """Sign each ``(event, the (gtin, lot) pairs it names)``; idempotent per event id.
        ``source`` (who sent them) is signed with the new events as their receipt.

        Raises ``StoreUnavailable`` when it cannot sign now (nothing is stored then).
        """
        ...


class CaptureService:
    def __init__(
        self,
        store: RecordStore,
        *,
        ledger: CaptureLedger | None = None,
        future_tolerance: timedelta | None = None,
        check_schema: bool = True,
        clock: Callable[[], datetime] | None = None,
        on_stored: StoredHook | None = None,
    ) -> None:
        """``ledger``: sign every accepted event before storing it (the hub's receipt).
        ``future_tolerance``: reject events dated further than this after ``clock()``
        (the hub wires ``DEFAULT_FUTURE_TOLERANCE``; None, the library default, keeps
        capture independent of the wall clock). ``check_schema``: also validate each
        event against the official EPCIS 2.0 JSON Schema. ``on_stored``: run with the
        newly stored events inside the transaction that stores them (``store_events``'s
        ``then``; the subscription outbox).
        """
        self._store = store
        self._ledger = ledger
        self._future_tolerance = future_tolerance
        self._check_schema = check_schema
        self._clock = clock or (lambda: datetime.now(UTC))
        self._on_stored = on_stored

    def capture(self, event: Mapping[str, Any], *, source: str | None = None) -> CaptureOutcome:
        """Validate and store one event; idempotent on its event hash id. ``source``
        names who sent it (signed into its capture receipt; see ``capture_document``).

        An EPC that is not a registered unit is still stored with the event (an
        observation of something we do not know is still evidence), just not linked
        to a lot; the outcome's ``flags`` say what the records did not know. Raises
        ``EventRejected`` for an invalid event and ``StoreUnavailable`` when the
        database fails.
        """
        new, outcome, _ = self._prepare(event, None, set(), look_up(self._store, [event]))
        (prepared,) = self._carried([(new, outcome)])
        self._sign([prepared], source)
        result = self._stored([prepared[0]])[0]
        return prepared[1].model_copy(
            update={"event_id": result.event_id, "created": result.created}
        )

    def capture_document(
        self,
        document: Mapping[str, Any],
        behaviour: ErrorBehaviour = "rollback",
        *,
        source: str | None = None,
        syntax: Syntax = "json",
    ) -> CaptureReport:
        """Capture every event of an EPCISDocument (see the module docstring).

        ``source`` names the sender (the authenticated API client, ``cli:<user>``): with
        a ledger, the new events' capture receipt names it, signed with them, so the
        evidence says who sent each event. None: no receipt ("source not recorded").
        ``syntax="xml"``: the document was read from XML
        (``gs1.epcis.xmlcapture.xml_capture_document``), so it is judged by the EPCIS
        XSD where the XSD and the JSON Schema differ (``gs1.epcis.schema.event_errors``).
        """
        events = capture_events(document)
        prefixes = context_prefixes(document.get("@context"))
        ready: list[tuple[NewEvent, CaptureOutcome]] = []
        errors: list[EventError] = []
        warnings: list[EventWarning] = []
        seen: set[str] = set()
        known = look_up(self._store, events)
        for index, event in enumerate(events):
            try:
                new, outcome, found = self._prepare(event, prefixes, seen, known, syntax)
            except EventRejected as exc:
                errors.append(EventError(index=index, field=exc.field, reason=exc.reason))
                continue
            ready.append((new, outcome))
            warnings.extend(
                EventWarning(index=index, field=field, code=code, reason=reason)
                for field, code, reason in found
            )
        if errors and behaviour == "rollback":
            return CaptureReport(
                captured=(), errors=tuple(errors), behaviour=behaviour, warnings=tuple(warnings)
            )
        ready = self._carried(ready)
        self._sign(ready, source)
        results = self._stored([new for new, _ in ready])
        captured = tuple(
            outcome.model_copy(update={"event_id": r.event_id, "created": r.created})
            for (_, outcome), r in zip(ready, results, strict=True)
        )
        return CaptureReport(
            captured=captured, errors=tuple(errors), behaviour=behaviour, warnings=tuple(warnings)
        )

    # --------------------------------------------------------------------------------

    def _stored(self, new_events: Sequence[NewEvent]) -> list[StoreResult]:
        """Store, running ``on_stored`` in the same transaction when there is one."""
        if self._on_stored is None:
            return self._store.store_events(new_events)
        return self._store.store_events(new_events, then=self._on_stored)

    def _sign(self, ready: Sequence[tuple[NewEvent, CaptureOutcome]], source: str | None) -> None:
        """Ledger first: a crash before the row is stored leaves a signed event the
        sender was not told about, so it offers it again (never a row without receipt)."""
        if self._ledger is not None and ready:
            self._ledger.sign([(new, outcome.lots) for new, outcome in ready], source)

    def _carried(
        self, ready: list[tuple[NewEvent, CaptureOutcome]]
    ) -> list[tuple[NewEvent, CaptureOutcome]]:
        """Each event naming a carrier also goes to the lots the carrier held then
        (``traceability.carriers``): it moves them, so it is their evidence too."""
        extra = carried_lots(self._store, [new for new, _ in ready])
        return [
            (new, outcome.model_copy(update={"lots": tuple(dict.fromkeys([*outcome.lots, *more]))}))
            if more
            else (new, outcome)
            for (new, outcome), more in zip(ready, extra, strict=True)
        ]

    def _prepare(
        self,
        event: Any,
        prefixes: Mapping[str, str] | None,
        seen: set[str],
        known: Known,
        syntax: Syntax = "json",
    ) -> tuple[NewEvent, CaptureOutcome, list[tuple[str, WarningCode, str]]]:
        """The event ready to store, its outcome and its warnings; ``prefixes`` None: no
        document (the gateway's single event), so extensions are checked by shape only."""
        parsed = parse_event(
            event,
            now=self._clock(),
            future_tolerance=self._future_tolerance,
            prefixes=prefixes,
        )
        if self._check_schema:
            problems = event_errors(event, syntax=syntax)
            if problems:
                field, reason = problems[0]
                more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
                raise EventRejected(field, f"violates the EPCIS 2.0 JSON Schema: {reason}{more}")
        body = {k: v for k, v in event.items() if k not in _NOT_STORED}
        try:
            canonical = canonicalize(body).decode("utf-8")
        except CanonicalizationError as exc:
            raise EventRejected("event", f"has no canonical JSON form: {exc}") from exc
        try:
            hash_id = event_hash_id(event, prefixes or {})
        except (NumberOutOfRange, OverflowError) as exc:
            # A value the size checks let through (padded with spaces, a time at the
            # calendar's edge) that the hash cannot write out: this event is refused, the
            # document's other events are not.
            raise EventRejected("event", f"has a value its hash ID cannot hold: {exc}") from exc
        identifier = repository_id(event, hash_id)
        if len(identifier) > MAX_RECORD_ID_LENGTH:  # the ledger's record id limit
            raise EventRejected(
                "event",
                f"its event id is {len(identifier)} characters; the ledger takes at most "
                f"{MAX_RECORD_ID_LENGTH}",
            )
        links = event_links(parsed, known.unit_lots)
        check_indexable(parsed, links)
        found = event_warnings(parsed, links, known, seen)
        # Objects this document names become known to its later events.
        seen.update(link.epc for link in links)
        flags = tuple(dict.fromkeys(code for _, code, _ in found))
        new = NewEvent(
            id=identifier,
            event_time=parsed.event_time,
            type=parsed.type,
            biz_step=parsed.biz_step_short,
            read_point=parsed.read_point.id if parsed.read_point else None,
            biz_location=parsed.biz_location.id if parsed.biz_location else None,
            body=canonical,
            epcs=links,
            action=parsed.action,
            disposition=parsed.disposition_short,
            flags=flags,
        )
        lots = tuple(
            dict.fromkeys((link.gtin, link.lot) for link in links if link.gtin and link.lot)
        )
        outcome = CaptureOutcome(
            event_id=identifier,
            created=True,
            lots=lots,
            unknown_epcs=tuple(
                link.epc for link in links if link.lot is None and link.role != "parent"
            ),
            flags=flags,
        )
        return new, outcome, found
