"""InfluxDB v1 HTTP API adapter: ``/write`` line protocol and ``/query`` InfluxQL (httpx).

The v1 API is served by InfluxDB 1.x, by 2.x's compatibility endpoints and by 3.x, so
this one adapter covers them all (influxdb-client's writer speaks /api/v2 only).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from gateway.errors import SinkRejected, SinkUnavailable


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:500]
    if isinstance(body, dict) and "error" in body:
        return str(body["error"])
    return response.text.strip()[:500]


def _quote_ident(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


class InfluxWriter:
    """Writes lines to one database; translates every failure into the gateway error tree."""

    def __init__(
        self,
        url: str,
        database: str = "tracehub",
        timeout: float = 5.0,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not database:
            raise ValueError("database must not be empty: set the InfluxDB database name")
        self.url = url.rstrip("/")
        self.database = database
        self._client = httpx.Client(base_url=self.url, timeout=timeout, transport=transport)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> InfluxWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _post(self, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._client.post(path, **kwargs)
        except httpx.HTTPError as exc:
            raise SinkUnavailable(f"InfluxDB at {self.url} is unreachable: {exc!r}") from exc

    def ensure_database(self) -> None:
        """Create the database if it does not exist (CREATE DATABASE is idempotent)."""
        response = self._post(
            "/query", data={"q": f"CREATE DATABASE {_quote_ident(self.database)}"}
        )
        if response.status_code != 200:
            raise SinkUnavailable(
                f"InfluxDB at {self.url} could not create database {self.database!r}: "
                f"HTTP {response.status_code} {_error_text(response)}"
            )

    def write(self, lines: Sequence[str]) -> None:
        """Write points (nanosecond timestamps). A missing database is created once."""
        if not lines:
            return
        body = "\n".join(lines).encode()
        response = self._write(body)
        if response.status_code == 404 and "database not found" in _error_text(response):
            self.ensure_database()
            response = self._write(body)
        status = response.status_code
        if status == 204:
            return
        reason = _error_text(response)
        if status in (400, 413):
            # 400 covers bad syntax, field type conflicts and partial writes: the same
            # data would fail again, so the caller dead-letters it.
            raise SinkRejected(f"InfluxDB rejected the write (HTTP {status}): {reason}")
        raise SinkUnavailable(f"InfluxDB write failed (HTTP {status}): {reason}")

    def _write(self, body: bytes) -> httpx.Response:
        return self._post(
            "/write",
            params={"db": self.database, "precision": "ns"},
            content=body,
            headers={"Content-Type": "text/plain; charset=utf-8"},
        )

    def query(self, influxql: str) -> list[dict[str, Any]]:
        """Run InfluxQL; return each series as a list of row dicts (epoch ns times).

        Meant for tests and diagnostics: [{"name":..., "tags":..., "rows":[{col: val}]}].
        """
        try:
            response = self._client.get(
                "/query", params={"db": self.database, "q": influxql, "epoch": "ns"}
            )
        except httpx.HTTPError as exc:
            raise SinkUnavailable(f"InfluxDB at {self.url} is unreachable: {exc!r}") from exc
        if response.status_code != 200:
            raise SinkUnavailable(
                f"InfluxDB query failed (HTTP {response.status_code}): {_error_text(response)}"
            )
        out: list[dict[str, Any]] = []
        for result in response.json().get("results", []):
            if "error" in result:
                raise SinkRejected(f"InfluxQL error: {result['error']}")
            for series in result.get("series", []):
                columns = series["columns"]
                out.append(
                    {
                        "name": series.get("name"),
                        "tags": series.get("tags", {}),
                        "rows": [dict(zip(columns, v, strict=True)) for v in series["values"]],
                    }
                )
        return out
