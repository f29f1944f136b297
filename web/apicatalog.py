"""What each of tracehub's own routes does, as ``web.openapi`` describes it.

The routes of the EPCIS 2.0 REST binding are described by the binding itself (its path
items, served as GS1 wrote them; ``/epcis/capture`` and ``/epcis/events`` are their
aliases); this catalogue holds the rest: the lot API, the auditor and incident APIs,
the consumer pages, the health and trust endpoints, and the methods tracehub serves on
a binding path that the binding does not describe. One ``Operation`` per path and
method, keyed by the path as OpenAPI writes it (``/01/{rest}``, not Starlette's
``{rest:path}``). Nothing here says who may call an operation: that comes from the
scopes the app enforces (``web.app.API_SCOPES``). A schema is a JSON Schema of OpenAPI
3.0, a ``$ref`` into the binding's components (``#/components/…``, brought along by
``web.openapi``), or a pydantic model whose dump the endpoint returns (converted by
``web.openapi``).
"""

from __future__ import annotations

from typing import Any

from traceability.coldchain.exposure import Exposure
from traceability.custody import Timeline
from traceability.incidents.model import STATES
from web.apioperation import (
    ANY_OBJECT,
    HTML,
    LINKSET,
    Answer,
    Body,
    Operation,
    Param,
    json_answer,
    obj,
)
from web.fsmaexport import FSMA_OPERATION
from web.report.route import PLACE_REPORT_OPERATION, REPORT_OPERATION

_LOT_ERRORS = {400: "the GTIN of the path is malformed (its check digit, its length)"}
_AUDIT_ERRORS = {**_LOT_ERRORS, 404: "the lot is not in the records"}
_TIME = {"type": "string", "format": "date-time"}
_PAGE = Operation(
    summary="The consumer page of a GS1 Digital Link (what a QR code on a box points to).",
    description=(
        "`/01/{gtin}[/10/{lot}[/21/{serial}]]`: the product, lot or unit page, in HTML in "
        "the language of `lang` or `Accept-Language` (en, zh-CN). `linkType=all` or "
        "`Accept: application/linkset+json` answer the RFC 9264 linkset; `linkType=gs1:…` "
        "redirects to that link; non-canonical forms (GTIN-8/12/13, data attributes in the "
        "query, a serial without its lot) redirect to the canonical path. `rest` spans "
        "several path segments."
    ),
    tags=("Consumer pages",),
    params=(
        Param(name="lang", description="the page's language: en or zh-CN"),
        Param(name="linkType", description="`all` for the linkset, `gs1:…` for one link"),
    ),
    answers={
        200: Answer(description="the page, or the linkset", body=Body(media=(HTML, LINKSET))),
        301: Answer(description="the canonical path of the code", headers=("Location",)),
        304: Answer(description="the page the client holds (If-None-Match)"),
        307: Answer(description="the link of the `linkType` asked for", headers=("Location",)),
        404: Answer(
            description="an unknown or malformed code: a page that says what is wrong",
            body=Body(media=(HTML,)),
        ),
    },
)
_TEXT = {"type": "string", "minLength": 1}
_STRING = {"type": "string"}
_STEP_BODY = obj(("comment",), comment=_TEXT)
_STEP_ERRORS = {
    400: "the body is not JSON, or a field is missing or malformed (named)",
    403: "the client's role may not take this step",
    404: "no such incident",
    409: "the incident's lifecycle does not allow this step now",
    415: "the body is not declared JSON",
    503: "the records or the ledger cannot be written: retry",
}
_INCIDENT = json_answer(ANY_OBJECT, "the incident after the step, with its signed steps")


def _step(summary: str, body: dict[str, Any]) -> Operation:
    return Operation(
        summary=summary,
        tags=("Incidents",),
        request=Body(schema_=body),
        answers={200: _INCIDENT},
        errors=_STEP_ERRORS,
    )


OWN: dict[str, dict[str, Operation]] = {
    "/lots/{gtin}/{lot}/custody": {
        "get": Operation(
            summary="The lot's custody timeline: every stay of every unit.",
            tags=("Lots",),
            answers={200: json_answer(Timeline, "the stays")},
            errors=_LOT_ERRORS,
        )
    },
    "/lots/{gtin}/{lot}/recall": {
        "get": Operation(
            summary="Where the lot's units are now, and what was made from them.",
            tags=("Lots",),
            answers={
                200: json_answer(
                    obj(
                        ("gtin", "lot", "units", "derived"),
                        gtin=_STRING,
                        lot=_STRING,
                        units={
                            "type": "array",
                            "items": obj(
                                epc=_STRING, location={"type": "string", "nullable": True}
                            ),
                        },
                        derived={
                            "type": "object",
                            "additionalProperties": {"type": "array", "items": _STRING},
                        },
                    ),
                    "the units and their current places; `derived`: EPC → what was made of it",
                )
            },
            errors=_LOT_ERRORS,
        )
    },
    "/lots/{gtin}/{lot}/exposure": {
        "get": Operation(
            summary="The lot's cold-chain exposure: each stay against the temperatures there.",
            tags=("Lots",),
            answers={200: json_answer(Exposure, "the exposure, stay by stay")},
            errors={
                **_LOT_ERRORS,
                404: "the product is unknown",
                503: "no telemetry is configured, or InfluxDB did not answer",
            },
        )
    },
    "/auditor/audit": {
        "get": Operation(
            summary="The audit trail: who changed what, when, before and after, why.",
            tags=("Auditor",),
            params=(
                Param(name="since", description="entries at or after (RFC 3339)"),
                Param(name="until", description="entries before (RFC 3339)"),
                Param(name="actor", description="the actor's name"),
                Param(name="subject", description="the subject's key (a GTIN, `GTIN/LOT`, …)"),
                Param(name="kind", description="the subject's kind (`product`, `lot`, …)"),
                Param(name="action", description="e.g. `incident.dispose`"),
                Param(name="limit", description="1 to 1000 (default 100), oldest first"),
                Param(name="format", description="`json` (default) or `csv`"),
            ),
            answers={
                200: Answer(
                    description="`{entries}`, each with its `ledger` state; or the CSV",
                    body=Body(media=("application/json", "text/csv"), schema_=ANY_OBJECT),
                )
            },
            errors={
                400: "an unknown parameter, a malformed time or limit",
                409: "a row cannot be read back (run `tracehub audit verify`)",
                503: "the records did not answer",
            },
        )
    },
    "/auditor/fsma204": {"get": FSMA_OPERATION},  # web.fsmaexport
    "/auditor/lots/{gtin}/{lot}/events": {
        "get": Operation(
            summary="The lot's EPCIS events with their ledger batch and capture receipts.",
            tags=("Auditor",),
            answers={200: json_answer(ANY_OBJECT, "`{gtin, lot, events}`")},
            errors=_AUDIT_ERRORS,
        )
    },
    "/auditor/lots/{gtin}/{lot}/telemetry": {
        "get": Operation(
            summary="Raw temperature readings where the lot stayed (a window of ≤ 31 days).",
            tags=("Auditor",),
            params=(
                Param(name="from", description="window start (default: a day before `to`)"),
                Param(name="to", description="window end (default: now)"),
            ),
            answers={200: json_answer(ANY_OBJECT, "`{gtin, lot, from, to, series}`")},
            errors={
                **_AUDIT_ERRORS,
                400: "a malformed GTIN or time, or a window that is empty or too long",
                503: "no telemetry store is configured, or it did not answer",
            },
        )
    },
    "/auditor/lots/{gtin}/{lot}/exposure": {
        "get": Operation(
            summary="The full exposure, each stay judged against the band anchored then.",
            tags=("Auditor",),
            answers={
                200: Answer(
                    description="the exposure (with URNs) and the state of the band the "
                    "records hold (`state` null: no evidence source, nothing claimed)",
                    body=Body(
                        extends=Exposure,
                        schema_=obj(
                            ("band",),
                            band=obj(
                                ("state", "fields"),
                                state={
                                    "type": "string",
                                    "nullable": True,
                                    "enum": ["proven", "pending", "unsigned", "changed", None],
                                },
                                fields={"type": "array", "items": ANY_OBJECT},
                            ),
                        ),
                    ),
                )
            },
            errors={**_AUDIT_ERRORS, 503: "no telemetry, or it did not answer"},
        )
    },
    "/auditor/lots/{gtin}/{lot}/masterdata": {
        "get": Operation(
            summary="The lot's master data against its signed versions, field by field.",
            tags=("Auditor",),
            answers={
                200: json_answer(ANY_OBJECT, "product, lot and places with each field's state")
            },
            errors={**_AUDIT_ERRORS, 503: "no evidence source is configured"},
        )
    },
    "/auditor/lots/{gtin}/{lot}/evidence": {
        "get": Operation(
            summary="The lot's evidence bundle (for `tracehub verify`).",
            tags=("Auditor",),
            answers={200: json_answer(ANY_OBJECT, "the evidence bundle")},
            errors={**_AUDIT_ERRORS, 404: "unknown lot, or nothing of it in the ledger yet"},
        )
    },
    "/auditor/lots/{gtin}/{lot}/report.pdf": {"get": REPORT_OPERATION},  # web.report.route
    "/auditor/places/{urn}/report.pdf": {"get": PLACE_REPORT_OPERATION},
    "/incidents": {
        "get": Operation(
            summary="Incidents, newest first.",
            tags=("Incidents",),
            params=(
                Param(
                    name="state",
                    description="only incidents in this state",
                    schema_={"type": "string", "enum": list(STATES)},
                ),
                Param(
                    name="limit",
                    description="at most this many (100 unless given, 1000 at most)",
                    schema_={"type": "integer", "minimum": 1, "maximum": 1000},
                ),
            ),
            answers={200: json_answer(ANY_OBJECT, "`{incidents: [...]}`")},
            errors={400: "a bad state or limit", 503: "the records cannot be read"},
        )
    },
    "/incidents/{incident_id}": {
        "get": Operation(
            summary="One incident with its signed steps.",
            tags=("Incidents",),
            answers={200: json_answer(ANY_OBJECT, "the incident")},
            errors={404: "no such incident", 503: "the records cannot be read"},
        )
    },
    "/incidents/{incident_id}/ack": {"post": _step("Acknowledge the incident.", _STEP_BODY)},
    "/incidents/{incident_id}/assess": {
        "post": _step(
            "Assess the incident's impact on each lot.",
            obj(("comment",), comment=_TEXT, impacts={"type": "array", "items": ANY_OBJECT}),
        )
    },
    "/incidents/{incident_id}/close": {"post": _step("Close the incident.", _STEP_BODY)},
    "/incidents/{incident_id}/dispose": {
        "post": _step(
            "Dispose of a lot of the incident: release, quarantine or reject it.",
            obj(
                ("gtin", "lot", "disposition", "reason"),
                gtin=_STRING,
                lot=_STRING,
                disposition={"type": "string", "enum": ["release", "quarantine", "reject"]},
                reason=_TEXT,
                comment=_STRING,
            ),
        )
    },
    "/01/{rest}": {"get": _PAGE},
    "/gtin/{rest}": {
        "get": _PAGE.model_copy(
            update={"summary": "The obsolete `/gtin/…/lot/…/ser/…` form: redirects to `/01/…`."}
        )
    },
    "/evidence/{gtin}/{lot}": {
        "get": Operation(
            summary="The lot's evidence bundle as a download (when the site makes it public).",
            tags=("Consumer pages",),
            answers={
                200: Answer(
                    description="the bundle, as an attachment",
                    body=Body(schema_=ANY_OBJECT),
                    headers=("Content-Disposition",),
                )
            },
            errors={**_LOT_ERRORS, 404: "not public, or nothing of the lot anchored yet"},
        )
    },
    "/healthz": {
        "get": Operation(
            summary="Liveness: the process serves requests (touches no dependency).",
            tags=("Health",),
            answers={
                200: json_answer(
                    obj(("status",), status={"type": "string", "enum": ["ok"]}), "serving"
                )
            },
        )
    },
    "/readyz": {
        "get": Operation(
            summary="Readiness: every background component and dependency check.",
            description=(
                "Anyone gets each component's name and state; the last errors and the "
                "set-aside records only a caller on the hub's machine or with an `admin` token."
            ),
            tags=("Health",),
            answers={
                200: json_answer(ANY_OBJECT, "ready"),
                503: json_answer(ANY_OBJECT, "not ready (the same body)"),
            },
        )
    },
    "/.well-known/tracehub.json": {
        "get": Operation(
            summary="The site's trust anchors: key fingerprints, chain and contract.",
            tags=("Trust",),
            answers={
                200: Answer(
                    description="the trust document (`tracehub-trust/1`)",
                    body=Body(schema_=ANY_OBJECT),
                    headers=("ETag", "Cache-Control"),
                ),
                304: Answer(description="the document the client holds (If-None-Match)"),
            },
            errors={
                404: "the hub publishes no trust document",
                503: "the keys or chain cannot be read",
            },
        )
    },
    "/static/{path}": {
        "get": Operation(
            summary="The pages' stylesheet and proof-check script (served locally, no CDN).",
            tags=("Consumer pages",),
            answers={
                200: Answer(
                    description="the file",
                    body=Body(media=("text/css", "text/javascript")),
                ),
                404: Answer(description="no such file"),
            },
        )
    },
    # the binding describes DELETE only; tracehub answers discovery on every binding path
    "/nextPageToken/{token}": {
        "options": Operation(
            summary="Discovery: the methods served and the EPCIS and CBV versions.",
            tags=("Discovery",),
            answers={
                204: Answer(
                    description="the answer is in the headers",
                    headers=("Allow", "GS1-EPCIS-Version", "GS1-CBV-Version"),
                )
            },
        )
    },
    "/openapi.json": {
        "get": Operation(
            summary="This document: tracehub's HTTP API in OpenAPI 3.0.",
            tags=("Discovery",),
            answers={200: json_answer(ANY_OBJECT, "the OpenAPI document")},
        )
    },
}

# Path parameters of tracehub's own paths (the binding describes its own).
PATH_PARAMS = {
    "gtin": "the GTIN (8, 12, 13 or 14 digits; checked, padded to 14)",
    "lot": "the lot (GS1 AI 10)",
    "incident_id": "the incident's id",
    "rest": "the rest of the Digital Link path (several segments)",
    "path": "the file's name",
    "urn": "the place's SGLN URN (urn:epc:id:sgln:…)",
}
