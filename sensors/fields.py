"""Field types shared by the device messages: ids, SGLN location URNs, UTC timestamps."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    PlainSerializer,
    StringConstraints,
)

from gs1.errors import InvalidIdentifier
from gs1.identifiers import Sgln

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
# fullmatch, not match: Python's '$' also matches before a trailing newline, and a
# newline in a tag would split an InfluxDB line in two.
ID_RE = re.compile(ID_PATTERN)


# A site has few places and every reading names one: parse each once (a bad value raises,
# and lru_cache does not keep exceptions, so only valid URNs are remembered).
@lru_cache(maxsize=4096)
def _check_sgln(value: str) -> str:
    try:
        Sgln.parse(value)
    except InvalidIdentifier as exc:
        raise ValueError(
            "must be an SGLN URN urn:epc:id:sgln:<CompanyPrefix>.<LocationRef>.<Extension> "
            "whose company prefix and location reference have 12 digits together, "
            "e.g. urn:epc:id:sgln:4012345.00001.0"
        ) from exc
    return value


# InfluxDB keeps time as int64 nanoseconds since the epoch: 1677-09-21 .. 2262-04-11.
_EARLIEST = datetime(1677, 9, 22, tzinfo=UTC)
_LATEST = datetime(2262, 4, 11, tzinfo=UTC)


# RFC 3339 date-time: seconds required, an offset or 'Z' required. pydantic alone would
# also read a number (or a numeric string) as epoch seconds: ``4.2`` became 1970-01-01.
_RFC3339_RE = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})"
)
TIMESTAMP_FIX = (
    'send an RFC 3339 string with an offset, e.g. "2026-11-22T10:00:00Z" '
    "(numbers are not accepted: their unit would be a guess)"
)


def _rfc3339(value: object) -> object:
    if isinstance(value, datetime):  # built in Python (simulators, the OPC UA source)
        return value
    if isinstance(value, str) and _RFC3339_RE.fullmatch(value):
        return value
    if isinstance(value, bool | int | float):
        raise ValueError(f"a number is not a timestamp: {TIMESTAMP_FIX}")
    raise ValueError(f"not an RFC 3339 timestamp with a UTC offset: {TIMESTAMP_FIX}")


def _to_utc(value: datetime) -> datetime:
    try:
        utc = value.astimezone(UTC)
    except OverflowError as exc:  # e.g. 0001-01-01T00:00+14:00 (found by fuzzing)
        raise ValueError("timestamp is outside the range a date can hold") from exc
    if not _EARLIEST <= utc <= _LATEST:
        raise ValueError(
            f"timestamp {utc.isoformat()} is outside 1677-09-22..2262-04-11 (InfluxDB's "
            "nanosecond range): fix the device clock"
        )
    return utc


def format_timestamp(value: datetime) -> str:
    """ISO 8601 in UTC with a 'Z'; milliseconds, or microseconds when they are not zero."""
    utc = value.astimezone(UTC)
    spec = "milliseconds" if utc.microsecond % 1000 == 0 else "microseconds"
    return utc.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


DeviceId = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
"""A site, probe or reader id: 1-64 chars, letters/digits first, then also '_', '.', '-'."""

SglnUrn = Annotated[str, AfterValidator(_check_sgln)]
"""Where a device is mounted or a tag was read, as an SGLN pure-identity URN."""

UtcTimestamp = Annotated[
    AwareDatetime,
    BeforeValidator(_rfc3339),
    AfterValidator(_to_utc),
    PlainSerializer(format_timestamp, return_type=str, when_used="json"),
]
"""A timezone-aware instant, normalised to UTC; serialised as ISO 8601 with 'Z'. On the
wire only an RFC 3339 string with an offset (a number is refused, not read as epoch)."""


def check_id(value: str, what: str) -> str:
    """Return ``value`` if it is a valid id, else raise ValueError naming ``what``."""
    if not ID_RE.fullmatch(value):
        raise ValueError(
            f"{what} {value!r} is not a valid id: use 1-64 characters, a letter or digit "
            "first, then letters, digits, '_', '.' or '-'"
        )
    return value
