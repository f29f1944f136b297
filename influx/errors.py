"""Errors raised by the influx package.

::

    InfluxError                 base of everything this package raises
     ├── InfluxUnavailable      transient: connection refused, timeout, HTTP 5xx, an answer
     │                          that is not InfluxDB's JSON; the same request may work later
     ├── RetentionConflict      a retention plan would hide stored points from every reader
     │                          (a new DEFAULT policy while the old one holds shards)
     └── InfluxRejected         InfluxDB refused the request itself (HTTP 4xx, or a statement
          │                     error inside a 200 answer); ``reason`` is InfluxDB's message,
          │                     ``status`` the HTTP status (None for a statement error)
          ├── DatabaseNotFound  the database named by the client does not exist
          └── RetentionUnsupported  the server takes no retention statements (InfluxDB 2.x/3.x
                                through the v1 API): set the bucket's retention instead

httpx exceptions are translated in ``influx.client`` and chained with ``raise ... from``.
What a refusal means to the caller (dead-letter the points, retry, show "unavailable") is
the caller's decision: the gateway and traceability translate these into their own trees.
"""

from __future__ import annotations


class InfluxError(Exception):
    """Base class for errors raised by the influx package."""


class InfluxUnavailable(InfluxError):  # noqa: N818 - outcome names, as the callers' trees
    """InfluxDB could not be reached, timed out or failed on its side; retry later."""


class InfluxRejected(InfluxError):  # noqa: N818 - outcome names, as the callers' trees
    """InfluxDB refused the request: the same write or query would be refused again."""

    def __init__(self, message: str, *, reason: str, status: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.status = status


class DatabaseNotFound(InfluxRejected):
    """The database does not exist (``create_database`` makes it)."""


class RetentionUnsupported(InfluxRejected):
    """The server cannot take ``CREATE RETENTION POLICY`` (2.x/3.x v1 API): its buckets'
    retention is set with their own tools; the message says how."""


class RetentionConflict(InfluxError):  # noqa: N818 - outcome names, as the callers' trees
    """Applying the plan would make another policy the DEFAULT while the current one holds
    points: every reader (and ``verify``) would stop seeing them."""
