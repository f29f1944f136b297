"""The incidents API: list and read incidents, and take their lifecycle steps.

* ``GET /incidents[?state=S&limit=N]``, ``GET /incidents/{id}`` — scope ``operator``
  (never public, even with public reads: incidents name places and devices).
* ``POST /incidents/{id}/ack`` ``{"comment"}``, ``…/assess`` ``{"comment", "impacts":
  [{"gtin", "lot", "minutes_out", "budget_left_min", "impact"}]}``, ``…/close``
  ``{"comment"}`` — scope ``operator``; ``POST /incidents/{id}/dispose`` ``{"gtin",
  "lot", "disposition": "release"|"quarantine"|"reject", "reason"}`` — scope ``quality``.

The actor is the authenticated client: its name, and its strongest scope as the role
(``traceability.incidents.model.role_of``). JSON in and out; errors are problem+json
(404 no such incident, 403 a role that may not take the step, 409 a step the lifecycle
does not allow now, 503 the records or ledger cannot be written: retry).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, get_args

from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from traceability.audit.errors import AuditRefused
from traceability.errors import RecordConflict, RecordRefused, StoreUnavailable
from traceability.incidents.errors import IncidentNotFound, RoleRefused, StepRefused
from traceability.incidents.model import STATES, Actor, Disposition, Incident, LotImpact, role_of
from traceability.incidents.service import IncidentService
from web.access import client_of, require_json
from web.errors import JsonRefused
from web.jsonbody import read_json
from web.limits import Limits
from web.problem import Problem

STEP_PATHS = ("ack", "assess", "dispose", "close")
T = TypeVar("T")


def incident_routes(
    service: IncidentService,
    limits: Limits | None = None,
    on_step: Callable[[str, str], None] | None = None,
) -> list[Route]:
    """``on_step(gtin, lot)`` is told of every lot of an incident a step was taken on (the
    page cache forgets that lot's pages, which tell the incident)."""
    bounds = limits or Limits()

    def answer(incident: Incident, status: int = 200) -> Response:
        return JSONResponse(incident.to_json(), status)

    def touched(incident: Incident) -> Response:
        if on_step is not None:
            for key in incident.lots:
                on_step(*key.split("/", 1))
        return answer(incident)

    async def list_endpoint(request: Request) -> Response:
        state = request.query_params.get("state")
        if state is not None and state not in STATES:
            raise Problem(400, "bad query", f"state: give one of {', '.join(STATES)}")
        try:
            limit = int(request.query_params.get("limit", "100"))
        except ValueError as exc:
            raise Problem(400, "bad query", "limit: give a whole number") from exc
        found = await run_in_threadpool(
            guarded,
            lambda: service.list(state, max(1, min(limit, 1000))),
        )
        return JSONResponse({"incidents": [i.to_json() for i in found]})

    async def get_endpoint(request: Request) -> Response:
        iid = request.path_params["incident_id"]
        found = await run_in_threadpool(guarded, lambda: service.get(iid))
        if found is None:
            raise Problem(404, "no such incident", f"incident {iid}: no such incident")
        return answer(found)

    async def body(request: Request) -> dict[str, Any]:
        require_json(request)
        raw = await request.body()
        try:
            document = read_json(raw, bounds.json_limits)
        except JsonRefused as exc:
            raise Problem(400, "not JSON", str(exc)) from exc
        if not isinstance(document, dict):
            raise Problem(400, "bad body", "the body must be a JSON object")
        return document

    def actor(request: Request) -> Actor:
        client = client_of(request)
        role = role_of(client.scopes) if client is not None else None
        if client is None or role is None:
            raise Problem(403, "role required", "the client acts in no role: operator, quality")
        return Actor(name=client.name, role=role)

    async def step_endpoint(request: Request) -> Response:
        iid = request.path_params["incident_id"]
        step = request.url.path.rsplit("/", 1)[-1]
        data = await body(request)
        who = actor(request)
        comment = _text(data, "comment", required=step != "dispose")
        if step == "ack":
            done = await run_in_threadpool(guarded, lambda: service.acknowledge(iid, who, comment))
        elif step == "assess":
            impacts = _impacts(data.get("impacts") or [])
            done = await run_in_threadpool(
                guarded, lambda: service.assess(iid, who, comment, impacts)
            )
        elif step == "dispose":
            disposition: Disposition = data.get("disposition")  # type: ignore[assignment]
            if disposition not in get_args(Disposition):
                raise Problem(400, "bad body", "disposition: give release, quarantine or reject")
            gtin, lot, reason = (_text(data, k) for k in ("gtin", "lot", "reason"))
            done = await run_in_threadpool(
                guarded, lambda: service.dispose(iid, who, gtin, lot, disposition, reason)
            )
        else:
            done = await run_in_threadpool(guarded, lambda: service.close(iid, who, comment))
        return touched(done)

    return [
        Route("/incidents", list_endpoint, methods=["GET"]),
        Route("/incidents/{incident_id}", get_endpoint, methods=["GET"]),
        *(
            Route(f"/incidents/{{incident_id}}/{path}", step_endpoint, methods=["POST"])
            for path in STEP_PATHS
        ),
    ]


def guarded(call: Callable[[], T]) -> T:
    """``call``, its errors as problem details (the API's and the console's)."""
    try:
        return call()
    except IncidentNotFound as exc:
        raise Problem(404, "no such incident", str(exc)) from exc
    except RoleRefused as exc:
        raise Problem(403, "role refused", str(exc)) from exc
    except StepRefused as exc:
        raise Problem(409, "step refused", str(exc)) from exc
    except RecordConflict as exc:
        raise Problem(409, "conflict", str(exc)) from exc
    except (RecordRefused, AuditRefused) as exc:
        raise Problem(400, "refused", str(exc)) from exc
    except StoreUnavailable as exc:
        raise Problem(503, "records unavailable", str(exc)) from exc


def _text(data: dict[str, Any], key: str, required: bool = True) -> str:
    value = data.get(key, "" if not required else None)
    if not isinstance(value, str) or (required and not value.strip()):
        raise Problem(400, "bad body", f"{key}: give a non-empty string")
    return value


def _impacts(value: Any) -> list[LotImpact]:
    if not isinstance(value, list):
        raise Problem(400, "bad body", "impacts: give a list of {gtin, lot, impact, …}")
    try:
        return [LotImpact.model_validate(item) for item in value]
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise Problem(400, "bad body", f"impacts.{where}: {first['msg']}") from exc
