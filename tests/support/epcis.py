"""Capture through the REST binding in tests: post a document, await its capture job.

``captured(client, document)`` posts to ``/capture`` (or ``path``), checks the 202 and
its ``Location``, then reads the job until it is no longer running and returns it.
``client`` is anything with httpx's ``post``/``get`` (a Starlette ``TestClient``, an
``httpx.Client`` with a ``base_url``). The wait is bounded by ``within_s``; it polls the
job's own state (a test client has usually finished the job by the time the 202
returns, a real server's worker a moment later), never a fixed sleep.
"""

from __future__ import annotations

import json
import time
from typing import Any, Protocol

import httpx

JOB_WITHIN_S = 30.0


class HttpClient(Protocol):
    """What the helpers call: httpx's ``Client`` and Starlette's ``TestClient`` both fit."""

    def post(self, url: str, *, content: Any = ..., headers: Any = ...) -> httpx.Response: ...

    def get(self, url: str, *, headers: Any = ...) -> httpx.Response: ...


def submitted(
    client: HttpClient,
    document: dict[str, Any] | bytes | str,
    *,
    path: str = "/capture",
    behaviour: str | None = None,
    headers: dict[str, str] | None = None,
) -> str:
    """POST ``document``; the job's URL (the answer must be 202 with a Location)."""
    sent = dict(headers or {})
    sent.setdefault("Content-Type", "application/json")
    if behaviour is not None:
        sent["GS1-Capture-Error-Behaviour"] = behaviour
    body = document if isinstance(document, bytes | str) else json.dumps(document)
    answer = client.post(path, content=body, headers=sent)
    assert answer.status_code == 202, answer.text
    location = answer.headers["Location"]
    assert location.startswith("/capture/"), location
    return location


def finished(
    client: HttpClient,
    location: str,
    *,
    headers: dict[str, str] | None = None,
    within_s: float = JOB_WITHIN_S,
) -> dict[str, Any]:
    """The job at ``location`` once it is no longer running (fails after ``within_s``)."""
    deadline = time.monotonic() + within_s
    pause = 0.002
    while True:
        answer = client.get(location, headers=headers or {})
        assert answer.status_code == 200, answer.text
        job: dict[str, Any] = answer.json()
        if not job["running"]:
            return job
        assert time.monotonic() < deadline, f"job {location} still running after {within_s} s"
        time.sleep(pause)  # the job's state is the event awaited; the pause only paces it
        pause = min(pause * 2, 0.1)


def captured(
    client: HttpClient,
    document: dict[str, Any] | bytes | str,
    *,
    path: str = "/capture",
    behaviour: str | None = None,
    headers: dict[str, str] | None = None,
    within_s: float = JOB_WITHIN_S,
) -> dict[str, Any]:
    """Post ``document`` and return its finished capture job."""
    location = submitted(client, document, path=path, behaviour=behaviour, headers=headers)
    reading = {k: v for k, v in (headers or {}).items() if k.lower() == "authorization"}
    return finished(client, location, headers=reading, within_s=within_s)
