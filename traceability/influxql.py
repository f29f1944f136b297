"""The InfluxDB v1 ``/query`` endpoint, for every InfluxQL reader in traceability.

One client so that every reader gets the same transport choices and the same
translation of HTTP failures into ``TelemetryUnavailable``; callers that speak
for another concept (cold-room energy) translate that error in turn.
"""

from __future__ import annotations

from typing import Any

import httpx

from traceability.errors import TelemetryUnavailable


def influxql_string(value: str) -> str:
    """``value`` as a single-quoted InfluxQL string literal.

    InfluxQL strings accept the escapes ``\\\\``, ``\\'`` and ``\\n``; anything else
    is literal, so escaping those three keeps any tag value from ending the literal.
    """
    escaped = value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")
    return f"'{escaped}'"


class InfluxQL:
    """Runs InfluxQL against ``url``'s ``database`` and returns the decoded JSON body."""

    def __init__(
        self,
        url: str,
        database: str,
        *,
        timeout: float,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.database = database
        self._client = httpx.Client(timeout=timeout, transport=transport)

    def close(self) -> None:
        self._client.close()

    def query(self, query: str, *, post: bool = False) -> dict[str, Any]:
        """The body of ``/query?epoch=ns``; statement errors are left in it for the caller."""
        params = {"db": self.database, "q": query, "epoch": "ns"}
        try:
            # POST only for long multi-statement queries: a GET is one TCP segment, where
            # httpx sends a POST's headers and body apart and Nagle's algorithm meets the
            # server's delayed ACK (~40 ms per request on loopback).
            if post and len(query) > 6000:
                response = self._client.post(f"{self.url}/query", data=params)
            else:
                response = self._client.get(f"{self.url}/query", params=params)
        except httpx.HTTPError as exc:
            raise TelemetryUnavailable(
                f"InfluxDB at {self.url} did not answer ({exc.__class__.__name__}: {exc}); "
                "check that it is running and the URL is right"
            ) from exc
        if response.status_code != httpx.codes.OK:
            raise TelemetryUnavailable(
                f"InfluxDB at {self.url} answered HTTP {response.status_code}: "
                f"{response.text[:200]}"
            )
        try:
            body: dict[str, Any] = response.json()
        except ValueError as exc:
            raise TelemetryUnavailable(
                f"InfluxDB at {self.url} sent a non-JSON answer; is the URL an InfluxDB?"
            ) from exc
        return body
