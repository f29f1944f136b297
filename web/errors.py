"""Errors raised by the web package's pure parts (the endpoints answer ``web.problem``).

::

    WebError            root of everything this package raises besides HTTP answers
    ├── JsonRefused     a request body is not JSON, or JSON beyond the bounded reader's
    │                   limits (``path`` names where, ``reason`` the limit and the fix)
    └── UnknownDevice   the console's device directory has no such device identity
"""

from __future__ import annotations


class WebError(Exception):
    """Root of the web package's errors."""


class JsonRefused(WebError, ValueError):  # noqa: N818 - an outcome, named as the others
    """A body the bounded JSON reader refused; ``path`` is a JSON path (``""``: the body)."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path or 'body'}: {reason}")


class UnknownDevice(WebError, LookupError):  # noqa: N818 - an outcome, named as the others
    """No device identity of that id (``web.console.devices.DeviceDirectory``)."""
