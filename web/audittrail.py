"""The audit trail for auditors: ``GET /auditor/audit`` (scope ``auditor``).

Query: ``since``/``until`` (RFC 3339), ``actor``, ``subject`` (its key: a GTIN,
``GTIN/LOT``, a URN, …), ``kind`` (the subject's kind: product, lot, …), ``action``,
``limit`` (1–1000, default 100; oldest first), ``format`` ``json`` (default) or ``csv``
(the file ``tracehub audit export --csv`` writes). Each entry comes with its ledger state
(``anchored``, ``signed`` or ``unsigned``), so an auditor sees which entries are already
tamper-evident; ``tracehub audit verify`` recomputes the chain and the signatures.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol, TextIO

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from traceability.audit.entry import AuditEntry
from traceability.audit.errors import AuditError
from traceability.errors import StoreUnavailable
from web.problem import Problem

PATH = "/auditor/audit"
MAX_LIMIT = 1000


class AuditSource(Protocol):
    """What the route reads (``traceability.audit.trail.AuditTrail``)."""

    def entries(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        actor: str | None = None,
        subject: str | None = None,
        kind: str | None = None,
        action: str | None = None,
        limit: int | None = 100,
        newest_first: bool = False,
    ) -> list[AuditEntry]: ...

    def ledger_states(self, entries: Sequence[AuditEntry]) -> dict[int, str]: ...

    def export_csv(self, out: TextIO, **filters: Any) -> int: ...


def audit_routes(trail: AuditSource) -> list[Route]:
    async def endpoint(request: Request) -> Response:
        params = request.query_params
        unknown = sorted(
            set(params)
            - {"since", "until", "actor", "subject", "kind", "action", "limit", "format"}
        )
        if unknown:
            raise Problem(400, "bad query", f"{unknown[0]}: not a parameter of {PATH}")
        filters: dict[str, Any] = {
            "since": _instant(params.get("since"), "since"),
            "until": _instant(params.get("until"), "until"),
            "actor": params.get("actor") or None,
            "subject": params.get("subject") or None,
            "kind": params.get("kind") or None,
            "action": params.get("action") or None,
            "limit": _limit(params.get("limit")),
        }
        shape = params.get("format", "json")
        if shape not in ("json", "csv"):
            raise Problem(400, "bad query", "format: give json or csv")
        try:
            if shape == "csv":
                out = io.StringIO()
                await run_in_threadpool(trail.export_csv, out, **filters)
                return Response(
                    out.getvalue(),
                    media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
                )
            entries = await run_in_threadpool(lambda: trail.entries(**filters))
            states = await run_in_threadpool(trail.ledger_states, entries)
        except AuditError as exc:
            raise Problem(409, "audit trail unreadable", str(exc)) from exc
        except StoreUnavailable as exc:
            raise Problem(503, "records unavailable", str(exc)) from exc
        return JSONResponse(
            {
                "entries": [
                    {**entry.record(), "ledger": states.get(entry.seq, "unsigned")}
                    for entry in entries
                ]
            }
        )

    return [Route(PATH, endpoint, methods=["GET"])]


def _instant(text: str | None, field: str) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise Problem(400, "bad query", f"{field}: give an RFC 3339 time") from exc
    if moment.tzinfo is None:
        raise Problem(400, "bad query", f"{field}: give the time zone (Z or +hh:mm)")
    return moment


def _limit(text: str | None) -> int:
    if not text:
        return 100
    try:
        value = int(text)
    except ValueError as exc:
        raise Problem(400, "bad query", "limit: give a whole number") from exc
    if not 1 <= value <= MAX_LIMIT:
        raise Problem(400, "bad query", f"limit: give 1 to {MAX_LIMIT}")
    return value
