"""Errors raised by the subscriptions package.

::

    SubscriptionError (a traceability.errors.TraceabilityError)
    ├── SubscriptionInvalid   a named query or a subscription request cannot be taken
                              (``field`` + ``reason``; the web answers 400)
    └── SubscriptionLimit     a bound on active subscriptions is reached (``bound``;
                              the web answers 409 naming it)
    (an unknown query or subscription is traceability.errors.RecordNotFound, a name
    taken RecordConflict, a records outage StoreUnavailable; a query parameter the
    standard does not define is gs1.errors.QueryParameterInvalid, passed through)
"""

from __future__ import annotations

from traceability.errors import TraceabilityError


class SubscriptionError(TraceabilityError):
    """Root of the subscriptions package's errors."""


class SubscriptionInvalid(SubscriptionError):  # noqa: N818 - outcome names, as the records'
    """A subscription request names ``field`` with a value it cannot take."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class SubscriptionLimit(SubscriptionError):  # noqa: N818 - outcome names, as the records'
    """No new subscription: the client's (``bound="per_client"``) or the site's
    (``"total"``) bound on active subscriptions, ``limit``, is reached."""

    def __init__(self, bound: str, limit: int, reason: str) -> None:
        self.bound = bound
        self.limit = limit
        super().__init__(reason)
