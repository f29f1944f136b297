"""Errors raised by the grafana package.

::

    GrafanaError
    ├── TemplateError          a query's $variable has no value, or a macro is malformed
    └── PublishError           pushing to a Grafana failed
        ├── GrafanaUnavailable     not reachable / timed out / 5xx: retry later
        └── PublishRejected        Grafana refused a request (4xx): fix the input or the token
"""

from __future__ import annotations


class GrafanaError(Exception):
    """Base class for the grafana package's errors."""


class TemplateError(GrafanaError):
    """A query cannot be expanded the way Grafana would expand it."""


class PublishError(GrafanaError):
    """Pushing dashboards or alert rules to a Grafana failed."""


class GrafanaUnavailable(PublishError):  # noqa: N818 - same family as ledger/gateway errors
    """Grafana could not be reached or answered 5xx; nothing is wrong with the input."""


class PublishRejected(PublishError):  # noqa: N818 - same family as ledger/gateway errors
    """Grafana answered 4xx to a request (bad token, bad payload, missing folder)."""

    def __init__(self, status: int, what: str, message: str) -> None:
        super().__init__(f"Grafana rejected {what} (HTTP {status}): {message}")
        self.status = status
        self.what = what
