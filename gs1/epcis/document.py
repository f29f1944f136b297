"""The EPCISDocument header: what capture checks before it reads the events.

``capture_events(document)`` gives the event list of a JSON-LD ``EPCISDocument`` once
its header is valid per the EPCIS 2.0 JSON Schema (``epcisDocument``: ``@context``,
``type``, ``schemaVersion``, ``creationDate`` and ``epcisBody.eventList`` required) and
the JSON-LD rules (``@context`` present; any key outside the schema's list namespaced,
``gs1.epcis.extensions``); else ``EventRejected`` naming the field. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from gs1.epcis.extensions import key_problem
from gs1.epcis.hashid import context_prefixes
from gs1.epcis.schema import time_problem
from gs1.errors import EventRejected

# Keys an EPCISDocument may carry besides namespaced extensions (the schema's list).
_DOCUMENT_KEYS = frozenset(
    {
        "@context",
        "id",
        "type",
        "schemaVersion",
        "creationDate",
        "instanceIdentifier",
        "sender",
        "receiver",
        "epcisHeader",
        "epcisBody",
    }
)


def capture_events(document: Any) -> list[Any]:
    """The events of an EPCISDocument once its header is valid (schema and JSON-LD)."""
    if not isinstance(document, Mapping):
        raise EventRejected("document", "must be a JSON object (an EPCISDocument)")
    context = document.get("@context")
    if context is None:
        raise EventRejected(
            "@context",
            "is missing; a JSON-LD EPCISDocument names its context, e.g. "
            '["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]',
        )
    entries = context if isinstance(context, list) else [context]
    if not entries or not all(isinstance(e, str | Mapping) for e in entries):
        raise EventRejected(
            "@context", "must be a context URL, an object of prefixes, or a list of them"
        )
    if document.get("type") != "EPCISDocument":
        raise EventRejected(
            "type", f"{document.get('type')!r}: capture takes an EPCISDocument (type is required)"
        )
    version = document.get("schemaVersion")
    if not isinstance(version, str) or not _VERSION.match(version):
        raise EventRejected("schemaVersion", f"{version!r}: give the EPCIS version, e.g. '2.0'")
    problem = time_problem(document.get("creationDate"))
    if problem:
        raise EventRejected("creationDate", problem)
    prefixes = context_prefixes(context)
    for key in document:
        if key not in _DOCUMENT_KEYS and (problem := key_problem(key, prefixes)):
            raise EventRejected(str(key), problem)
    body = document.get("epcisBody")
    if not isinstance(body, Mapping) or not isinstance(body.get("eventList"), list):
        raise EventRejected(
            "epcisBody.eventList", "is missing; an EPCISDocument carries its events there"
        )
    events: list[Any] = body["eventList"]
    return events


_VERSION = re.compile(r"^\d+(\.\d+)*$")
