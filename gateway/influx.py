"""The gateway's InfluxDB sink: ``influx.InfluxClient`` speaking the gateway's error tree.

A write InfluxDB refuses for its data (HTTP 400: bad syntax, a field type conflict, a
partial write; 413: too large) is ``SinkRejected``: the same points would fail again, so
the pipeline dead-letters them. Every other failure (unreachable, 5xx, an auth refusal, a
database that cannot be created) is ``SinkUnavailable``: the batch stays spooled and the
drainer retries it.

Given a ``RetentionPlan`` (the hub's, checked against the sealed evidence first:
``tracehub.retaining``), ``ensure_database`` also applies it, at start and whenever
InfluxDB lost the database. A plan the server cannot take (2.x/3.x) or that would hide
stored points is logged with what to do and never stops the writes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import httpx

from gateway.errors import GatewayError, SinkRejected, SinkUnavailable
from influx.client import InfluxClient
from influx.errors import (
    DatabaseNotFound,
    InfluxError,
    InfluxRejected,
    RetentionConflict,
    RetentionUnsupported,
)
from influx.quoting import string_literal
from influx.retention import RetentionAdmin
from influx.retentionplan import RetentionPlan

log = logging.getLogger(__name__)
_REFUSED_DATA = (400, 413)


class InfluxWriter:
    """Writes lines to one database (the pipeline's ``PointSink``) and reads rows back."""

    def __init__(
        self,
        url: str,
        database: str = "tracehub",
        timeout: float = 5.0,
        *,
        transport: httpx.BaseTransport | None = None,
        retention: RetentionPlan | None = None,
    ) -> None:
        self._client = InfluxClient(url, database, timeout=timeout, transport=transport)
        self._retention = retention

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> InfluxWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def ensure_database(self) -> None:
        """Create the database if it does not exist, and apply the retention plan."""
        try:
            self._client.create_database()
        except InfluxRejected as exc:
            # A user with rights on its database only (compose: the admin made it) may
            # not create one: refused, but nothing is missing if the database is there.
            if not self._database_exists():
                raise SinkUnavailable(
                    f"InfluxDB could not create database {self._client.database!r}: {exc}"
                ) from exc
            log.debug("database %r exists; this user may not create one", self._client.database)
        except InfluxError as exc:
            raise SinkUnavailable(
                f"InfluxDB could not create database {self._client.database!r}: {exc}"
            ) from exc
        if self._retention is not None:
            self._apply_retention(self._retention)

    def _database_exists(self) -> bool:
        try:
            self._client.query("SHOW MEASUREMENTS LIMIT 1")
        except InfluxError:  # DatabaseNotFound, or not even readable: not usable
            return False
        return True

    def _apply_retention(self, plan: RetentionPlan) -> None:
        database = self._client.database
        try:
            done = RetentionAdmin(self._client).apply(plan)
        except (RetentionUnsupported, RetentionConflict) as exc:
            # Writes go on into the DEFAULT policy, where every reader looks.
            log.error("retention of InfluxDB database %r not applied: %s", database, exc)
            return
        except InfluxRejected as exc:
            log.error("InfluxDB refused the retention of database %r: %s", database, exc)
            return
        except InfluxError as exc:
            raise SinkUnavailable(f"InfluxDB retention of {database!r}: {exc}") from exc
        for statement in done:
            log.info("InfluxDB retention of %r: %s", database, statement)

    def write(self, lines: Sequence[str]) -> None:
        """Write points (nanosecond timestamps). A missing database is created once."""
        try:
            self._client.write(lines)
        except DatabaseNotFound:
            # Not only at start: InfluxDB may have been started afresh since.
            self.ensure_database()
            self._write_again(lines)
        except InfluxError as exc:
            raise _sink_error(exc) from exc

    def _write_again(self, lines: Sequence[str]) -> None:
        try:
            self._client.write(lines)
        except InfluxError as exc:
            raise _sink_error(exc) from exc

    def query(self, influxql: str) -> list[dict[str, Any]]:
        """Run InfluxQL; each series as ``{"name", "tags", "rows": [{column: value}]}``.

        Times are epoch nanoseconds.
        """
        try:
            found = self._client.query(influxql)
        except InfluxRejected as exc:
            raise SinkRejected(str(exc)) from exc
        except InfluxError as exc:
            raise SinkUnavailable(str(exc)) from exc
        return [{"name": s.name, "tags": s.tags, "rows": s.rows()} for s in found]

    def count_readings(self, site: str, device_id: str) -> int:
        """How many temperature points of ``device_id`` at ``site`` InfluxDB holds, of any
        age (whether a logger file may speak for it: gateway/loggerdevice.py)."""
        statement = (
            f"SELECT count(celsius) FROM temperature WHERE device = {string_literal(device_id)}"
            f" AND site = {string_literal(site)}"
        )
        try:
            found = self._client.query(statement)
        except DatabaseNotFound:
            return 0  # no database yet: nothing stored
        except InfluxError as exc:
            # Unanswered is not "none": the batch waits (retried) rather than guess.
            raise SinkUnavailable(f"InfluxDB did not count {device_id}'s readings: {exc}") from exc
        return sum(int(row[1]) for series in found for row in series.values)


def _sink_error(exc: InfluxError) -> GatewayError:
    if isinstance(exc, InfluxRejected) and exc.status in _REFUSED_DATA:
        return SinkRejected(str(exc))
    return SinkUnavailable(str(exc))
