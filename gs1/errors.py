"""Errors raised by the gs1 package.

Every message names the identifier (or the JSON path) and says how to fix it::

    Gs1Error                    root of everything this package raises
    ├── InvalidIdentifier       a GTIN, lot, serial, SGTIN, SGLN, SSCC or Digital Link
    │                           string is malformed (a ValueError)
    ├── EventRejected           an EPCIS event or document failed validation (field + reason)
    ├── QueryParameterInvalid   an EPCIS query parameter is unknown or malformed (the
    │                           standard's QueryParameterException; name + reason)
    ├── NumberOutOfRange        a number (or numeric string) beyond the digits or exponent
    │                           the event hash writes out in linear time (a ValueError)
    └── EpcError                an EPC cannot be decoded/encoded per the GS1 TDS binary
                                layouts (a ValueError)

InvalidIdentifier and EpcError are also ValueErrors so pydantic validators can raise
them and report the field that was wrong. EventRejected is not: it is the outcome of
a whole validation, which callers answer (HTTP 400, a capture report) rather than wrap.
"""

from __future__ import annotations


class Gs1Error(Exception):
    """Root of every error this package raises."""


class InvalidIdentifier(Gs1Error, ValueError):  # noqa: N818 - outcome names, as the contract's
    """A GS1 identifier string is malformed.

    ``field`` is the identifier kind (``"GTIN"``, ``"lot"`` …), ``value`` the rejected text.
    """

    def __init__(self, field: str, value: str, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        shown = value if value and value.strip() == value else repr(value)
        super().__init__(f"{field} {shown}: {reason}")


class EventRejected(Gs1Error):  # noqa: N818 - outcome names, as the contract's
    """An EPCIS event is invalid; ``field`` is a JSON path such as ``epcList[0]``."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class QueryParameterInvalid(Gs1Error):  # noqa: N818 - outcome names, as the contract's
    """An EPCIS query names a parameter the standard does not define, or gives one a
    value it cannot take; ``name`` is the parameter (``EQ_bizStep``, ``perPage``)."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__(f"{name}: {reason}")


class NumberOutOfRange(Gs1Error, ValueError):  # noqa: N818 - outcome names, as the contract's
    """A number too long or too large to canonicalise cheaply (``1e1000000`` would
    be written out as a million digits)."""


class EpcError(Gs1Error, ValueError):
    """An EPC is not a decodable SGTIN-96 / SSCC-96, or its parts are out of range."""
