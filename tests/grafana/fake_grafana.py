"""A local HTTP server that records requests and keeps Grafana's state for them.

It answers the endpoints ``tracehub grafana publish`` uses the way Grafana 11
does (404 for unknown uids, ids/versions added to stored dashboards, server
fields added to stored rules, new rule groups at a 10 s interval), so tests
can check both the HTTP conversation and idempotency.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass
class State:
    folders: dict[str, dict[str, Any]] = field(default_factory=dict)
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[tuple[str, str], int] = field(default_factory=dict)
    contact_points: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    token: str = "secret-token"
    fail_with: int | None = None

    def writes(self) -> list[tuple[str, str]]:
        return [(r.method, r.path) for r in self.requests if r.method != "GET"]


class FakeGrafana:
    def __init__(self) -> None:
        self.state = State()
        state = self.state

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                state.requests.append(
                    Request(
                        self.command,
                        parts.path,
                        parse_qs(parts.query),
                        {k.lower(): v for k, v in self.headers.items()},
                        body,
                    )
                )
                if state.fail_with is not None:
                    return self._reply(state.fail_with, {"message": "injected failure"})
                if self.headers.get("Authorization") != f"Bearer {state.token}":
                    return self._reply(401, {"message": "invalid API key"})
                status, payload = route(
                    state, self.command, parts.path, body, parse_qs(parts.query)
                )
                self._reply(status, payload)

            def _reply(self, status: int, payload: Any) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _handle  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeGrafana:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)


_NOT_FOUND = (404, {"message": "not found"})


def route(
    state: State, method: str, path: str, body: Any, query: dict[str, list[str]]
) -> tuple[int, Any]:
    if m := re.fullmatch(r"/api/folders/([^/]+)", path):
        folder = state.folders.get(m[1])
        return (200, folder) if folder and method == "GET" else _NOT_FOUND
    if path == "/api/folders" and method == "POST":
        state.folders[body["uid"]] = {"uid": body["uid"], "title": body["title"], "id": 1}
        return 200, state.folders[body["uid"]]
    if m := re.fullmatch(r"/api/dashboards/uid/([^/]+)", path):
        stored = state.dashboards.get(m[1])
        return (200, stored) if stored else _NOT_FOUND
    if path == "/api/dashboards/db" and method == "POST":
        board = dict(body["dashboard"])
        previous = state.dashboards.get(board["uid"])
        if previous and not body.get("overwrite"):
            return 412, {"message": "version-mismatch"}
        if body["folderUid"] not in state.folders:
            return 400, {"message": "folder not found"}
        version = previous["dashboard"]["version"] + 1 if previous else 1
        board.update(id=len(state.dashboards) + 1, version=version)
        state.dashboards[board["uid"]] = {
            "dashboard": board,
            "meta": {"folderUid": body["folderUid"]},
        }
        return 200, {"uid": board["uid"], "status": "success", "version": version}
    if m := re.fullmatch(r"/api/v1/provisioning/alert-rules(?:/([^/]+))?", path):
        if method == "GET":
            stored = state.rules.get(m[1] or "")
            return (200, stored) if stored else _NOT_FOUND
        if body["notification_settings"]["receiver"] not in {
            p["name"] for p in state.contact_points.values()
        }:
            return 400, {"message": "receiver does not exist"}
        if method == "POST" and body["uid"] in state.rules:
            return 409, {"message": "rule exists"}
        if method == "PUT" and m[1] not in state.rules:
            return _NOT_FOUND
        stored = {
            **body,
            "id": len(state.rules) + 1,
            "updated": "2026-11-22T10:00:00Z",
            "provenance": "api",
        }
        state.rules[body["uid"]] = stored
        state.groups.setdefault((body["folderUID"], body["ruleGroup"]), 10)
        return (201 if method == "POST" else 200), stored
    if m := re.fullmatch(r"/api/v1/provisioning/folder/([^/]+)/rule-groups/([^/]+)", path):
        key = (m[1], m[2])
        if key not in state.groups:
            return _NOT_FOUND
        if method == "PUT":
            state.groups[key] = body["interval"]
        rules = [r for r in state.rules.values() if (r["folderUID"], r["ruleGroup"]) == key]
        return 200, {
            "title": m[2],
            "folderUid": m[1],
            "interval": state.groups[key],
            "rules": rules,
        }
    if path == "/api/v1/provisioning/contact-points":
        if method == "GET":
            name = query.get("name", [None])[0]
            return 200, [p for p in state.contact_points.values() if name in (None, p["name"])]
        state.contact_points[body["uid"]] = {**body, "provenance": "api"}
        return 202, state.contact_points[body["uid"]]
    if m := re.fullmatch(r"/api/v1/provisioning/contact-points/([^/]+)", path):
        if method == "PUT" and m[1] in state.contact_points:
            state.contact_points[m[1]] = {**body, "provenance": "api"}
            return 202, {"message": "contactpoint updated"}
        return _NOT_FOUND
    return 404, {"message": f"fake Grafana has no {method} {path}"}
