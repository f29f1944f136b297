"""``GET /openapi.json``: tracehub's HTTP API as an OpenAPI 3.0 document, from its routes.

The document is built once per app, on its first request, from the app's route table
(``request.app.routes``): a path is in it exactly when a route serves it, with exactly
the methods the route serves (``HEAD`` is implied by ``GET``, as Starlette serves it;
a WebSocket route is the ``GET`` that upgrades). What each operation says comes from:

* the EPCIS 2.0 REST binding (GS1's ``openapi.json``, packaged verbatim as
  ``gs1/epcis/standards/epcis-rest-binding-openapi.json``) for every binding path served:
  its path item as GS1 wrote it (parameters, responses, request bodies), with every
  component it references, transitively. ``/epcis/capture`` and ``/epcis/events``,
  kept as aliases of ``/capture`` and ``/events``, are described as those;
* ``web.apicatalog`` for tracehub's own paths (pydantic models there become schemas of
  ``components/schemas`` in OpenAPI 3.0's dialect: ``nullable``, no ``const``).

A route that is described nowhere is still listed, with ``x-tracehub-undescribed``
(the tests refuse it), so the document never hides a served route.

Who may call what: one ``http`` bearer scheme (``tracehubToken``, the ``thc_…`` tokens
of ``traceability.records.clients``). OpenAPI 3.0 lets only OAuth2 requirements name
scopes, so each protected operation names its scope in ``x-tracehub-scope`` (from the
scopes the app enforces: ``web.app.API_SCOPES``, per method where it is a mapping, and
``auditor`` under ``/auditor/``), and its ``security`` requires the token; operations
the site serves without a token (its pages, health, public reads) have ``security: []``.

One repair of the binding: six schedule patterns (``GS1-Query-Second`` …) use Oniguruma
subroutine calls (``\\g<number>``), which are no ECMA 262 regular expression; the served
document gives the comma-separated list of numbers and ``[a-b]`` ranges they mean as a
plain pattern and keeps GS1's text in ``x-gs1-pattern``.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Iterable, Mapping
from importlib import metadata, resources
from typing import Any

from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from traceability.records.clients import SCOPES, Scope
from web.apicatalog import OWN, PATH_PARAMS
from web.apioperation import PROBLEM, Answer, Body, Operation
from web.problem import PROBLEM_TYPE

BINDING_FILE = "epcis-rest-binding-openapi.json"
SECURITY = "tracehubToken"
SCOPE_KEY = "x-tracehub-scope"
UNDESCRIBED = "x-tracehub-undescribed"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# tracehub's routes before the binding, kept as aliases: described as their targets
ALIASES = {"/epcis/capture": "/capture", "/epcis/events": "/events"}
SCOPE_MEANINGS: dict[Scope, str] = {
    "capture": "capture EPCIS documents (`POST /capture`, `/epcis/capture`)",
    "read": "the EPCIS query and lot read API (anyone, when the site's reads are public)",
    "subscribe": "store named queries and subscribe to them (webhooks, WebSockets)",
    "auditor": "the auditor API (`/auditor/…`)",
    "operator": "read incidents, acknowledge, assess and close them",
    "quality": "dispose of a lot after an incident (release, quarantine, reject)",
    "admin": "every scope",
}
ScopeSpec = Scope | Mapping[str, Scope]
_CONVERTER = re.compile(r"\{(\w+):\w+\}")
_NULL = {"type": "object", "nullable": True, "enum": [None]}  # OpenAPI 3.0's "null"
_SCHEDULE = r"^(\d{1,2}|\[\d{1,2}-\d{1,2}\])(,(\d{1,2}|\[\d{1,2}-\d{1,2}\]))*$"


@functools.cache
def binding() -> dict[str, Any]:
    """GS1's REST binding document (package data; read once; never mutate it)."""
    path = resources.files("gs1.epcis").joinpath("standards", BINDING_FILE)
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def openapi_path(path: str) -> str:
    """Starlette's ``/01/{rest:path}`` as OpenAPI writes it: ``/01/{rest}``."""
    return _CONVERTER.sub(r"{\1}", path)


def served(routes: Iterable[BaseRoute], prefix: str = "") -> dict[str, set[str]]:
    """OpenAPI path → the methods (lower case) the routes serve there."""
    found: dict[str, set[str]] = {}
    for route in routes:
        if isinstance(route, Route):
            methods = {m.lower() for m in (route.methods or {"GET"})}
            if "get" in methods:
                methods.discard("head")  # Starlette answers HEAD wherever it serves GET
            found.setdefault(openapi_path(prefix + route.path), set()).update(methods)
        elif isinstance(route, WebSocketRoute):
            found.setdefault(openapi_path(prefix + route.path), set()).add("get")
        elif isinstance(route, Mount) and isinstance(route.app, StaticFiles):
            found.setdefault(f"{prefix}{route.path}/{{path}}", set()).add("get")
        elif isinstance(route, Mount):
            for path, methods in served(route.routes, prefix + route.path).items():
                found.setdefault(path, set()).update(methods)
    return found


def scope_for(
    path: str, method: str, scopes: Mapping[str, ScopeSpec], auditor_prefix: str = "/auditor/"
) -> Scope | None:
    """The scope ``web.access.Access`` checks for ``method`` at ``path`` (None: open).
    ``OPTIONS`` and ``HEAD`` take the ``GET`` scope unless named, as ``Access.protect``."""
    spec: ScopeSpec | None = scopes.get(path)
    if spec is None and path.startswith(auditor_prefix):
        spec = "auditor"
    if spec is None or isinstance(spec, str):
        return spec
    upper = method.upper()
    if upper in ("OPTIONS", "HEAD") and upper not in spec:
        upper = "GET"
    return spec.get(upper, spec.get("*"))


def build_document(
    routes: Iterable[BaseRoute],
    scopes: Mapping[str, ScopeSpec],
    *,
    public_read: bool = False,
    version: str | None = None,
) -> dict[str, Any]:
    """The OpenAPI document of ``routes`` (pure: reads only the packaged binding)."""
    gs1 = binding()
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    table = {openapi_path(p): s for p, s in scopes.items()}
    offered = served(routes)
    for path in sorted(offered):
        source = ALIASES.get(path) if ALIASES.get(path) in offered else path
        item = gs1["paths"].get(source)
        out: dict[str, Any] = (
            {k: copy.deepcopy(v) for k, v in item.items() if k not in METHODS} if item else {}
        )
        for method in sorted(offered[path]):
            if item is not None and method in item:
                operation = copy.deepcopy(item[method])
                if source != path:
                    operation["summary"] = f"Alias of {source}: {operation.get('summary', '')}"
                    operation.pop("operationId", None)  # ids are unique in a document
            elif method in OWN.get(path, {}):  # the binding's path item declares its own
                operation = _operation(path, OWN[path][method], schemas, path_params=not item)
            else:
                operation = _undescribed(path, method)
            scope = scope_for(path, method, table)
            _secure(operation, scope, public_read)
            out[method] = operation
        paths[path] = out
    clash = sorted(set(schemas) & set(gs1["components"]["schemas"]))
    if clash:
        raise ValueError(
            f"components/schemas/{clash[0]}: a tracehub model has the name of a binding "
            "schema; rename the model"
        )
    components = _referenced(gs1["components"], [paths, schemas])
    components.setdefault("schemas", {}).update(schemas)
    components["securitySchemes"] = {SECURITY: _scheme()}
    _repair_patterns(components)
    used = {t for item in paths.values() for op in _operations(item) for t in op.get("tags", [])}
    known = {t["name"]: t for t in gs1.get("tags", [])}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "tracehub",
            "version": version or _version(),
            "description": _INFO,
            "license": {"name": "Apache-2.0"},
        },
        "tags": [copy.deepcopy(known.get(t, {"name": t})) for t in sorted(used)],
        "paths": paths,
        "components": dict(sorted(components.items())),
    }


class OpenApi:
    """The ``/openapi.json`` endpoint of one app: built on its first request, then kept."""

    def __init__(self, scopes: Mapping[str, ScopeSpec]) -> None:
        self._scopes = scopes
        self._body: bytes | None = None

    async def endpoint(self, request: Request) -> Response:
        if self._body is None:
            access = getattr(request.app.state, "access", None)
            public = bool(getattr(access, "public_read", False))
            document = await run_in_threadpool(
                build_document, request.app.routes, self._scopes, public_read=public
            )
            self._body = json.dumps(document, ensure_ascii=False).encode("utf-8")
        return Response(self._body, media_type="application/json")


_INFO = (
    "The HTTP API of a tracehub hub: the EPCIS 2.0 REST binding (the binding's own path "
    "items, as GS1 publishes them, for each binding route this hub serves), tracehub's "
    "lot, auditor and incident APIs, its consumer pages (GS1 Digital Link), health and "
    "trust endpoints. Built from the routes the hub serves. Calls other than the pages, "
    "health and trust endpoints need `Authorization: Bearer thc_…` with the scope named "
    f"in each operation's `{SCOPE_KEY}`; the site's operator issues tokens "
    "(`tracehub clients add NAME --scope …`). `HEAD` is served wherever `GET` is. "
    "Errors are RFC 9457 problem details (`application/problem+json`)."
)


def _version() -> str:
    try:
        return metadata.version("tracehub")
    except metadata.PackageNotFoundError:  # run from a checkout that was not installed
        return "0+unknown"


def _scheme() -> dict[str, Any]:
    listed = "; ".join(f"`{s}`: {SCOPE_MEANINGS[s]}" for s in SCOPES)
    return {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "thc_<token id>_<secret>",
        "description": (
            "A client token issued by `tracehub clients add NAME --scope …`. Scopes (each "
            f"operation names the one it needs in `{SCOPE_KEY}`): {listed}. A missing or "
            "unknown token is answered 401, a token without the scope 403."
        ),
    }


def _secure(operation: dict[str, Any], scope: Scope | None, public_read: bool) -> None:
    if scope is None:
        operation["security"] = []
        return
    operation[SCOPE_KEY] = scope
    operation["security"] = [] if (scope == "read" and public_read) else [{SECURITY: []}]
    if operation["security"]:
        responses = operation.setdefault("responses", {})
        responses.setdefault("401", _problem("no token, or one this site did not issue"))
        responses.setdefault("403", _problem(f"the client lacks the {scope!r} scope"))


def _problem(when: str) -> dict[str, Any]:
    return {"description": when, "content": {PROBLEM_TYPE: {"schema": {"$ref": PROBLEM}}}}


def _operation(
    path: str, op: Operation, schemas: dict[str, Any], *, path_params: bool = True
) -> dict[str, Any]:
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "description": PATH_PARAMS.get(name, name),
            "schema": {"type": "string"},
        }
        for name in (re.findall(r"\{(\w+)\}", path) if path_params else ())
    ]
    parameters += [
        {"name": p.name, "in": p.where, "description": p.description, "schema": p.schema_}
        for p in op.params
    ]
    out: dict[str, Any] = {"tags": list(op.tags), "summary": op.summary}
    if op.description:
        out["description"] = op.description
    if parameters:
        out["parameters"] = parameters
    if op.request is not None:
        out["requestBody"] = {"required": True, "content": _content(op.request, schemas)}
    responses = {str(status): _answer(a, schemas) for status, a in sorted(op.answers.items())}
    responses |= {str(status): _problem(when) for status, when in sorted(op.errors.items())}
    out["responses"] = responses
    return out


def _answer(answer: Answer, schemas: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"description": answer.description}
    if answer.headers:
        out["headers"] = {h: {"schema": {"type": "string"}} for h in answer.headers}
    if answer.body is not None:
        out["content"] = _content(answer.body, schemas)
    return out


def _content(body: Body, schemas: dict[str, Any]) -> dict[str, Any]:
    schema = body.schema_
    if schema is None and body.extends is None:
        return {media: {} for media in body.media}
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        schema = _model_schema(schema, schemas)
    if body.extends is not None:
        schema = {"allOf": [_model_schema(body.extends, schemas), *([schema] if schema else [])]}
    return {media: {"schema": copy.deepcopy(schema)} for media in body.media}


def _model_schema(model: type[BaseModel], schemas: dict[str, Any]) -> dict[str, Any]:
    """``model``'s schema, its definitions moved into ``schemas`` (OpenAPI 3.0 dialect)."""
    raw = model.model_json_schema(mode="serialization", ref_template="#/components/schemas/{model}")
    defs = raw.pop("$defs", {})
    for name, schema in [*defs.items(), (model.__name__, raw)]:
        converted = oas30(schema)
        if schemas.setdefault(name, converted) != converted:
            raise ValueError(f"components/schemas/{name}: two models of this name differ")
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def oas30(schema: Any) -> Any:
    """A JSON Schema of pydantic (2020-12) in OpenAPI 3.0's dialect."""
    if isinstance(schema, list):
        return [oas30(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: oas30(v) for k, v in schema.items()}
    for key in ("anyOf", "oneOf"):
        options = out.get(key)
        if isinstance(options, list) and {"type": "null"} in options:
            rest = [o for o in options if o != {"type": "null"}]
            if len(rest) == 1 and "type" in rest[0]:  # nullable applies to its own type only
                del out[key]
                out = {**rest[0], **out, "nullable": True}
            else:  # a $ref, or several: null is one more option
                out[key] = [*rest, _NULL]
    if "const" in out:
        out["enum"] = [out.pop("const")]
    for bound, inclusive in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(out.get(bound), int | float) and not isinstance(out[bound], bool):
            out[inclusive], out[bound] = out[bound], True
    if "prefixItems" in out:
        items = out.pop("prefixItems")
        out["items"] = {"anyOf": items}
        out.setdefault("minItems", len(items))
        out.setdefault("maxItems", len(items))
    if "examples" in out:
        out["example"] = out.pop("examples")[0]
    if "$ref" in out and len(out) > 1:  # OpenAPI 3.0 ignores a $ref's siblings
        out = {"allOf": [{"$ref": out.pop("$ref")}], **out}
    return out


def _referenced(components: Mapping[str, Any], roots: list[Any]) -> dict[str, Any]:
    """The binding components ``roots`` reference, transitively (deep copies)."""
    taken: dict[str, dict[str, Any]] = {}
    pending = [ref for root in roots for ref in _refs(root)]
    while pending:
        _, kind, name = pending.pop().removeprefix("#/").split("/", 2)
        if name in taken.get(kind, {}) or name not in components.get(kind, {}):
            continue
        value = copy.deepcopy(components[kind][name])
        taken.setdefault(kind, {})[name] = value
        pending.extend(_refs(value))
    return {kind: dict(sorted(found.items())) for kind, found in taken.items()}


def _refs(value: Any) -> Iterable[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "$ref" and isinstance(inner, str) and inner.startswith("#/components/"):
                yield inner
            else:
                yield from _refs(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _refs(inner)


def _repair_patterns(components: dict[str, Any]) -> None:
    for schema in components.get("schemas", {}).values():
        pattern = schema.get("pattern")
        if isinstance(pattern, str) and "\\g<" in pattern:
            schema["x-gs1-pattern"] = pattern
            schema["pattern"] = _SCHEDULE


def _operations(item: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    return (v for k, v in item.items() if k in METHODS)


def _undescribed(path: str, method: str) -> dict[str, Any]:
    return {
        "summary": f"{method.upper()} {path} (served; not described yet)",
        UNDESCRIBED: True,
        "responses": {"default": {"description": "not described"}},
    }
