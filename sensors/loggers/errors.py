"""The one error of the logger-file parsers.

::

    sensors.errors.SensorError
     └── LoggerFileError    a logger export cannot be read as it stands (``fix`` says how)

Also a ValueError, like the package's other input errors.
"""

from __future__ import annotations

from sensors.errors import SensorError


class LoggerFileError(SensorError, ValueError):
    """A file-level refusal: unknown or ambiguous format, no unit, no time zone..."""
