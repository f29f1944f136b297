"""Errors raised by the notify package.

One small tree; third-party errors (httpx, smtplib, socket) are translated in the channel
that meets them and chained with ``raise ... from exc``::

    NotifyError
    ├── BadDestination    a channel URL or address is malformed (a setting to fix; at build)
    └── DeliveryFailed    one message was not delivered; ``permanent`` says whether trying
                          the same message again can help (False: an outage, a timeout, a
                          429/5xx; True: a 4xx refusal, a rejected recipient, bad credentials)
"""

from __future__ import annotations


class NotifyError(Exception):
    """Root of every error this package raises."""


class BadDestination(NotifyError, ValueError):  # noqa: N818 - outcome names
    """A channel's URL or a recipient's address cannot be used; the message names the fix."""


class DeliveryFailed(NotifyError):  # noqa: N818 - outcome names
    """A message was not delivered. ``permanent``: retrying the same message cannot help."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent
