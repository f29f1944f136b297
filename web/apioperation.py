"""The shapes ``web.apicatalog`` describes operations with (and ``web.openapi`` reads):
a body, an answer, a parameter, an operation; small schema builders."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

BINDING = "#/components"
PROBLEM = f"{BINDING}/schemas/RFC7807ProblemResponseBody"
HTML = "text/html"
JSON = "application/json"
LINKSET = "application/linkset+json"
ANY_OBJECT: dict[str, Any] = {"type": "object", "additionalProperties": True}


class Body(BaseModel):
    """A request or response body: its media types and one schema for all of them;
    ``extends``: a model whose dump the body is, with ``schema_``'s fields added."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    media: tuple[str, ...] = (JSON,)
    schema_: dict[str, Any] | type[BaseModel] | None = None
    extends: type[BaseModel] | None = None


class Answer(BaseModel):
    """One response of an operation (``body`` None: no content)."""

    model_config = ConfigDict(frozen=True)

    description: str
    body: Body | None = None
    headers: tuple[str, ...] = ()  # response header names, described in the text


class Param(BaseModel):
    """A query or header parameter (path parameters come from the path template)."""

    model_config = ConfigDict(frozen=True)

    name: str
    where: Literal["query", "header"] = "query"
    description: str
    schema_: dict[str, Any] = {"type": "string"}


class Operation(BaseModel):
    """One method of one path. ``errors``: problem+json answers, status → when."""

    model_config = ConfigDict(frozen=True)

    summary: str
    description: str = ""
    tags: tuple[str, ...]
    params: tuple[Param, ...] = ()
    request: Body | None = None
    answers: dict[int, Answer]
    errors: dict[int, str] = {}


def json_answer(schema: dict[str, Any] | type[BaseModel], description: str) -> Answer:
    return Answer(description=description, body=Body(schema_=schema))


def ref(target: str) -> dict[str, Any]:
    return {"$ref": target}


def obj(required: tuple[str, ...] = (), **properties: dict[str, Any]) -> dict[str, Any]:
    """An object schema with ``properties``, of which ``required`` must be given."""
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    return {**schema, "required": list(required)} if required else schema
