"""The console's incidents: the list (active first, by state and place), one incident with
its timeline, and its steps as forms.

* ``GET /console/incidents[?state=S&place=URN]``, ``GET /console/incidents/{id}`` — viewer.
* ``POST …/{id}/ack``, ``…/assess``, ``…/close`` — operator: a comment, and for assess
  each lot's impact (minutes out, budget left, words; pre-filled from the last
  assessment, else the minutes from the incident's span).
* ``GET …/{id}/dispose?lot=GTIN/LOT&disposition=D`` — quality: the signing page, which
  shows the meaning ("approved release of lot L1 (GTIN …)") before anything is signed;
  ``POST …/{id}/dispose`` — the reason and the e-signature (password, TOTP code):
  ``gate.sign`` first, then the disposition, then ``on_signed(signature,
  "incident.dispose", "incident/{id}/lot/{gtin}/{lot}")`` (the hub's audit trail).

Every POST checks the session's CSRF token. Console roles act as incident roles: viewer
none (refused), operator, quality and admin as themselves
(``traceability.incidents.model.ROLES_FOR`` decides the rest). A step done answers 303
to the incident; a refusal is an error page (``answers``): 403 role, 404, 409 the
lifecycle refuses the step now, 503 the records or ledger cannot be written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar, get_args
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from traceability.audit.entry import ESignature
from traceability.incidents.audited import AuditedIncidentService
from traceability.incidents.model import (
    STATES,
    Actor,
    Disposition,
    Incident,
    LotImpact,
)
from traceability.incidents.service import IncidentService
from web.console.answers import ConsolePages
from web.console.formdata import form_of, number, text
from web.console.gate import Role, SessionUser, Signature, allows
from web.incidents import guarded
from web.problem import Problem

T = TypeVar("T")
SignedHook = Callable[[Signature, str, str], None]
StepHook = Callable[[str, str], None]
DISPOSE_ACTION = "incident.dispose"
LIST_LIMIT = 500
_NOUN: dict[Disposition, str] = {
    "release": "release",
    "quarantine": "quarantine",
    "reject": "rejection",
}
# The console role each people's step needs (the lifecycle's rules then apply).
_NEEDS: dict[str, Role] = {"ack": "operator", "assess": "operator", "close": "operator"}


def meaning_of(disposition: Disposition, gtin: str, lot: str) -> str:
    """What a disposition's e-signature means (recorded with it, in English)."""
    return f"approved {_NOUN[disposition]} of lot {lot} (GTIN {gtin})"


def actor_of(user: SessionUser) -> Actor:
    if user.role == "viewer":
        raise Problem(403, "role required", f"{user.name} is a viewer; steps need operator")
    return Actor(name=user.name, role=user.role)


def abilities(user: SessionUser, incident: Incident) -> dict[str, bool]:
    """Which forms the incident page offers this user now."""
    operator = allows(user.role, "operator")
    return {
        "ack": operator and incident.state == "open",
        "assess": operator
        and incident.state in ("acknowledged", "assessed")
        and not incident.dispositions,
        "dispose": allows(user.role, "quality")
        and incident.state in ("assessed", "disposed")
        and bool(incident.undisposed),
        # every lot disposed and the excursion over (else the lifecycle refuses it)
        "close": operator
        and incident.state in ("assessed", "disposed")
        and not incident.undisposed
        and not incident.ongoing,
    }


def prefilled(incident: Incident) -> list[LotImpact]:
    """The assessment form's rows: the last assessment's, else the incident's span."""
    last = incident.last("assessed")
    earlier = {
        f"{i['gtin']}/{i['lot']}": LotImpact.model_validate(i)
        for i in (last.record.get("impacts", []) if last is not None else [])
    }
    span = None
    if incident.cleared_at is not None:
        span = round((incident.cleared_at - incident.started_at).total_seconds() / 60, 1)
    rows = []
    for key in incident.lots:
        gtin, lot = key.split("/", 1)
        rows.append(earlier.get(key) or LotImpact(gtin=gtin, lot=lot, minutes_out=span))
    return rows


def impacts_of(form: Mapping[str, str], incident: Incident) -> list[LotImpact]:
    found = []
    for i in range(len(incident.lots)):
        key = form.get(f"lot.{i}")
        if key is None:
            break
        gtin, _, lot = key.partition("/")
        found.append(
            LotImpact(
                gtin=gtin,
                lot=lot,
                minutes_out=number(form, f"minutes_out.{i}"),
                budget_left_min=number(form, f"budget_left_min.{i}"),
                impact=text(form, f"impact.{i}", required=False),
            )
        )
    return found


class IncidentPages:
    def __init__(
        self,
        pages: ConsolePages,
        service: IncidentService,
        on_signed: SignedHook | None = None,
        on_step: StepHook | None = None,
    ) -> None:
        self._pages = pages
        self._gate = pages.gate
        self._render = pages.renderer
        self._service = service
        self._on_signed = on_signed
        self._on_step = on_step

    def routes(self) -> list[Route]:
        route = self._pages.route
        base = "/console/incidents"
        return [
            route(base, self.list_page),
            route(base + "/{incident_id}", self.incident_page),
            route(base + "/{incident_id}/dispose", self.sign_page),
            route(base + "/{incident_id}/dispose", self.dispose, ["POST"]),
            *(route(f"{base}/{{incident_id}}/{s}", self.step, ["POST"]) for s in _NEEDS),
        ]

    async def list_page(self, request: Request) -> Response:
        user = await self._gate.require(request, "viewer")
        state = request.query_params.get("state") or None
        if state is not None and state not in STATES:
            raise Problem(400, "bad query", f"state: give one of {', '.join(STATES)}")
        place = request.query_params.get("place") or None
        found = await self._call(lambda: self._service.list(state, LIST_LIMIT))
        shown = [i for i in found if place is None or i.location == place]
        shown.sort(key=lambda i: (i.state != "closed", i.raised_at, i.id), reverse=True)
        return self._render.page(
            request,
            "incidents.html",
            user=user,
            csrf=self._gate.csrf_token(request),
            incidents=shown,
            state=state,
            states=STATES,
            place=place,
            keep_query=urlencode({k: v for k, v in (("state", state), ("place", place)) if v}),
        )

    async def incident_page(self, request: Request) -> Response:
        user = await self._gate.require(request, "viewer")
        incident = await self._incident(request)
        return self._render.page(
            request,
            "incident.html",
            user=user,
            csrf=self._gate.csrf_token(request),
            incident=incident,
            can=abilities(user, incident),
            impacts=prefilled(incident),
            dispositions=get_args(Disposition),
        )

    async def step(self, request: Request) -> Response:
        path = request.url.path.rsplit("/", 1)[-1]
        user = await self._gate.require(request, _NEEDS[path])
        form = await form_of(request)
        await self._gate.check_csrf(request, form.get("csrf"))
        incident = await self._incident(request)
        who = actor_of(user)
        comment = text(form, "comment")
        service, kind = self._service, self._as_user(None)
        if path == "ack":
            done = await self._call(lambda: service.acknowledge(incident.id, who, comment, **kind))
        elif path == "assess":
            impacts = impacts_of(form, incident)
            done = await self._call(
                lambda: service.assess(incident.id, who, comment, impacts, **kind)
            )
        else:
            done = await self._call(lambda: service.close(incident.id, who, comment, **kind))
        return self._stepped(done)

    async def sign_page(self, request: Request) -> Response:
        user = await self._gate.require(request, "quality")
        incident = await self._incident(request)
        gtin, lot, disposition = _choice(request.query_params, incident)
        return self._render.page(
            request,
            "sign.html",
            user=user,
            csrf=self._gate.csrf_token(request),
            incident=incident,
            gtin=gtin,
            lot=lot,
            disposition=disposition,
            meaning=meaning_of(disposition, gtin, lot),
            keep_query=urlencode({"lot": f"{gtin}/{lot}", "disposition": disposition}),
        )

    async def dispose(self, request: Request) -> Response:
        user = await self._gate.require(request, "quality")
        form = await form_of(request)
        await self._gate.check_csrf(request, form.get("csrf"))
        incident = await self._incident(request)
        gtin, lot, disposition = _choice(form, incident)
        reason = text(form, "reason")
        password = form.get("password", "")
        if not password:
            raise Problem(400, "bad form", "password: sign with your password")
        meaning = meaning_of(disposition, gtin, lot)
        # Signed before the step: a refused signature leaves the lot as it was.
        signature = await self._gate.sign(user, password, form.get("totp") or None, meaning)
        who, kind = actor_of(user), self._as_user(signature)
        done = await self._call(
            lambda: self._service.dispose(incident.id, who, gtin, lot, disposition, reason, **kind)
        )
        # An audited service records the signature with the step; else the hook does.
        if self._on_signed is not None and not kind:
            self._on_signed(signature, DISPOSE_ACTION, f"incident/{incident.id}/lot/{gtin}/{lot}")
        return self._stepped(done)

    def _as_user(self, signature: Signature | None) -> dict[str, Any]:
        """What an audited service takes besides the step: the actor is a console user,
        with their signature."""
        if not isinstance(self._service, AuditedIncidentService):
            return {}
        signed = None if signature is None else ESignature(**signature.model_dump())
        return {"actor_kind": "user", "signature": signed}

    async def _incident(self, request: Request) -> Incident:
        iid = request.path_params["incident_id"]
        found = await self._call(lambda: self._service.get(iid))
        if found is None:
            raise Problem(404, "no such incident", f"incident {iid}: no such incident")
        return found

    def _stepped(self, incident: Incident) -> Response:
        if self._on_step is not None:
            for key in incident.lots:
                gtin, lot = key.split("/", 1)
                self._on_step(gtin, lot)
        return RedirectResponse(f"/console/incidents/{incident.id}", 303)

    async def _call(self, call: Callable[[], T]) -> T:
        return await run_in_threadpool(guarded, call)


def _choice(given: Mapping[str, str], incident: Incident) -> tuple[str, str, Disposition]:
    """The lot (one of the incident's) and the disposition a form names."""
    key = given.get("lot", "")
    if key not in incident.lots:
        raise Problem(
            400, "bad form", f"lot: give one of the incident's lots ({', '.join(incident.lots)})"
        )
    disposition = given.get("disposition", "")
    if disposition not in get_args(Disposition):
        raise Problem(400, "bad form", "disposition: give release, quarantine or reject")
    gtin, lot = key.split("/", 1)
    return gtin, lot, disposition  # type: ignore[return-value]


__all__ = ["DISPOSE_ACTION", "IncidentPages", "SignedHook", "StepHook", "meaning_of"]
