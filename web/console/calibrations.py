"""The console's calibration page (issue #20): every probe's current calibration, and a
form for quality users and admins to record a new certificate.

* ``GET /console/calibrations`` (viewer) — each probe with a signed record (the ledger's,
  not the editable rows): its status today
  (calibrated, overdue; due within 30 days marked), due date, certificate, lab and
  uncertainty, soonest due first; the form when the user's role is ``quality`` or more.
* ``POST /console/calibrations`` (quality; ``csrf``, the record's fields, ``reason``,
  ``password``, ``totp``) — the record validated as ``tracehub calibration import``
  validates a row (400 naming the field, the form again), then an electronic signature
  of "recorded calibration certificate N of probe P" (``ConsoleGate.sign``; refused:
  403), then written through ``ProbeCalibrations`` acting as the user: a row, an audit
  entry carrying the signature (``master.calibration.create``) and the signed ledger
  record. The same certificate with other values is a 409. Post/redirect/get: a reload
  does not send the signature again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from traceability.audit.entry import AuditActor, ESignature
from traceability.audit.port import Authorship
from traceability.calibration.csvfile import calibration_of
from traceability.calibration.errors import CalibrationRejected
from traceability.calibration.record import Calibration, refuse_future
from traceability.calibration.status import DEFAULT_DUE_WITHIN, Status, latest_by_probe, status_at
from traceability.errors import RecordConflict, StoreUnavailable
from traceability.masterdata.calibration import ProbeCalibrations
from web.console.formdata import form_of, text
from web.console.gate import ConsoleGate, SessionUser, allows
from web.console.render import ConsoleRenderer
from web.problem import Problem

PATH = "/console/calibrations"
FORM_FIELDS = (
    "probe", "calibrated_on", "due_on", "lab", "certificate_number", "uncertainty_c",
    "coverage_k", "accuracy_found_c", "certificate_sha256",
)  # fmt: skip


class ProbeRow(BaseModel):
    """One probe as the page lists it: its newest record and status now."""

    model_config = ConfigDict(frozen=True)

    record: Calibration
    status: Status
    due_soon: bool


def probe_rows(records: list[Calibration], now: datetime) -> list[ProbeRow]:
    """Each probe's newest record with its status at ``now``, soonest due first."""
    rows = [
        ProbeRow(
            record=record,
            status=status_at(record.probe, records, now).status,
            due_soon=record.due_at < now + DEFAULT_DUE_WITHIN,
        )
        for record in latest_by_probe(records).values()
    ]
    return sorted(rows, key=lambda r: (r.record.due_on, r.record.probe))


def meaning_of(record: Calibration) -> str:
    """What the user's signature says (recorded in English, as every meaning is)."""
    return f"recorded calibration certificate {record.certificate_number} of probe {record.probe}"


def calibration_routes(
    gate: ConsoleGate,
    renderer: ConsoleRenderer,
    writer: ProbeCalibrations,
    clock: Callable[[], datetime] | None = None,
) -> list[Route]:
    """``/console/calibrations`` (module docstring), written through ``writer`` (the
    hub's, with the audit trail)."""
    now = clock or (lambda: datetime.now(UTC))

    async def render(
        request: Request, user: SessionUser, status: int = 200, **context: Any
    ) -> Response:
        # The signed records, never the editable rows: a row deleted or edited in the
        # database does not change what the page says.
        records = await run_in_threadpool(writer.signed)
        asked = request.query_params.get("added")
        added = asked if any(r.certificate_number == asked for r in records) else None
        return renderer.page(
            request,
            "calibrations.html",
            status,
            user=user,
            csrf=gate.csrf_token(request),
            rows=probe_rows(records, now()),
            may_add=allows(user.role, "quality"),
            added=added,
            **context,
        )

    async def page(request: Request) -> Response:
        user = await gate.require(request, "viewer")
        return await render(request, user)

    async def add(request: Request) -> Response:
        user = await gate.require(request, "quality")
        form = await form_of(request)
        await gate.check_csrf(request, form.get("csrf"))
        given = {name: form.get(name, "") for name in FORM_FIELDS}
        try:
            record = calibration_of(given, "calibration")
        except CalibrationRejected as exc:
            return await render(request, user, 400, error=str(exc), given=given)
        if (future := refuse_future(record, now())) is not None:
            return await render(request, user, 400, error=future, given=given)
        reason = text(form, "reason", required=False)
        if not reason:
            return await render(request, user, 400, error="reason: fill it in", given=given)
        try:
            signature = await gate.sign(
                user, form.get("password", ""), form.get("totp", "").strip() or None,
                meaning_of(record),
            )  # fmt: skip
        except Problem as refused:
            if refused.status != 403:
                raise
            return await render(request, user, 403, error=refused.detail, given=given)
        author = Authorship(
            actor=AuditActor(name=signature.name, kind="user", role=signature.role),
            reason=reason,
            signature=ESignature(**signature.model_dump()),
        )
        try:
            await run_in_threadpool(writer.acting(author).add, [record])
        except RecordConflict as exc:
            return await render(request, user, 409, error=str(exc), given=given)
        except CalibrationRejected as exc:  # dated after today by the writer's clock
            return await render(request, user, 400, error=str(exc), given=given)
        except StoreUnavailable as exc:
            raise Problem(
                503, "records unavailable", f"{exc}; nothing recorded, try again",
                headers={"Retry-After": "5"},
            ) from exc  # fmt: skip
        done = quote(record.certificate_number, safe="")
        return RedirectResponse(f"{PATH}?added={done}", status_code=303)

    return [
        Route(PATH, page, methods=["GET"]),
        Route(PATH, add, methods=["POST"]),
    ]
