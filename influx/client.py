"""The InfluxDB v1 HTTP API over httpx: ``/write`` line protocol, ``/query`` InfluxQL, ``/ping``.

The v1 API is served by InfluxDB 1.x, by 2.x through its compatibility endpoints and by
3.x, so this one client covers them all. Every httpx exception and every non-success
answer becomes an ``influx.errors`` error here; building a client does no I/O.

Credentials ride in the URL (``http://user:password@host:8086``, percent-encoded) and go
as HTTP Basic auth, which 1.x takes with ``auth-enabled`` and 2.x/3.x take with a token as
the password. They are kept out of ``url``, which every error message names.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import httpx

from influx.errors import DatabaseNotFound, InfluxError, InfluxRejected, InfluxUnavailable
from influx.quoting import identifier
from influx.series import Series, parse_answer

Epoch = Literal["ns", "u", "ms", "s", "m", "h"]
# Above this length a query is POSTed (no URL length limit). Shorter ones are GETs: a GET
# is one TCP segment, where httpx sends a POST's headers and body apart and Nagle's
# algorithm meets the server's delayed ACK (~40 ms per request on loopback).
LONG_QUERY = 6000


class InfluxClient:
    """One database on an InfluxDB v1 HTTP API. Thread-safe: one pooled httpx client.

    ``url`` is where the server is, without the credentials the given URL carried.
    """

    def __init__(
        self,
        url: str,
        database: str,
        *,
        timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not database:
            raise ValueError("database must not be empty: set the InfluxDB database name")
        self.url, auth = _credentials(url)
        self.database = database
        self._http = httpx.Client(
            base_url=self.url, auth=auth, timeout=timeout, transport=transport
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> InfluxClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def ping(self) -> str:
        """The server's version (empty if it names none); raises if it does not answer."""
        response = self._send("GET", "/ping", "the ping")
        # 1.x and 2.x answer 204, 3.x 200.
        if response.status_code not in (httpx.codes.OK, httpx.codes.NO_CONTENT):
            raise self._failure(response, "the ping")
        return str(response.headers.get("X-Influxdb-Version", ""))

    def create_database(self) -> None:
        """Create the database; InfluxDB does nothing if it exists already."""
        statement = f"CREATE DATABASE {identifier(self.database)}"
        response = self._send("POST", "/query", "CREATE DATABASE", data={"q": statement})
        self._series(response, "CREATE DATABASE")

    def write(self, lines: Sequence[str]) -> None:
        """Write line-protocol points with nanosecond timestamps (no lines: no request)."""
        if not lines:
            return
        response = self._send(
            "POST",
            "/write",
            "the write",
            params={"db": self.database, "precision": "ns"},
            content="\n".join(lines).encode(),
            headers={"Content-Type": "text/plain; charset=utf-8"},
        )
        if response.status_code != httpx.codes.NO_CONTENT:
            raise self._failure(response, "the write")

    def query(self, influxql: str, *, epoch: Epoch = "ns") -> list[Series]:
        """Every series of every statement of ``influxql`` (``;``-separated), in order.

        Times are integers in ``epoch`` units. A statement InfluxDB refuses raises
        ``InfluxRejected`` (``DatabaseNotFound`` when the database does not exist).
        """
        params = {"db": self.database, "q": influxql, "epoch": epoch}
        if len(influxql) > LONG_QUERY:
            response = self._send("POST", "/query", "the query", data=params)
        else:
            response = self._send("GET", "/query", "the query", params=params)
        return self._series(response, "the query")

    def execute(self, influxql: str) -> list[Series]:
        """Run a statement that changes the server (CREATE, ALTER, DROP): always POSTed,
        as InfluxDB asks of everything but SELECT and SHOW. Raises as ``query``."""
        what = influxql.split(" ON ", 1)[0][:80]
        data = {"db": self.database, "q": influxql}
        return self._series(self._send("POST", "/query", what, data=data), what)

    def _send(self, method: str, path: str, what: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise InfluxUnavailable(
                f"InfluxDB at {self.url} did not answer {what} "
                f"({exc.__class__.__name__}: {exc}): unreachable or too slow; "
                "check that it is running and that the URL is right"
            ) from exc

    def _series(self, response: httpx.Response, what: str) -> list[Series]:
        if response.status_code != httpx.codes.OK:
            raise self._failure(response, what)
        try:
            return parse_answer(response.content)
        except ValueError as exc:
            raise InfluxUnavailable(
                f"InfluxDB at {self.url} sent an answer to {what} that is not InfluxDB's "
                "JSON; is the URL an InfluxDB v1 API?"
            ) from exc

    def _failure(self, response: httpx.Response, what: str) -> InfluxError:
        status = response.status_code
        reason = _reason(response)
        if not 400 <= status < 500:
            return InfluxUnavailable(
                f"InfluxDB at {self.url} failed {what} (HTTP {status}): {reason}"
            )
        message = f"InfluxDB rejected {what} (HTTP {status}): {reason}"
        if status == httpx.codes.NOT_FOUND and "database not found" in reason:
            return DatabaseNotFound(message, reason=reason, status=status)
        return InfluxRejected(message, reason=reason, status=status)


def _credentials(url: str) -> tuple[str, httpx.BasicAuth | None]:
    """The URL without its user and password, and those as Basic auth (None: none given)."""
    parsed = httpx.URL(url)
    if not parsed.userinfo:
        return url.rstrip("/"), None
    auth = httpx.BasicAuth(parsed.username, parsed.password)
    return str(parsed.copy_with(username=None, password=None)).rstrip("/"), auth


def _reason(response: httpx.Response) -> str:
    """InfluxDB's own words: ``error`` (1.x, 3.x) or ``message`` (2.x), else the text."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ("error", "message"):
            if key in body:
                return str(body[key])
    return response.text.strip()[:500]
