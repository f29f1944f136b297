"""Times in logger exports: local date-times, the time zone that makes them instants,
and the logging interval.

A time with an offset (``2026-11-20T08:00:00+01:00``, ``...Z``) is an instant on its
own. One without needs the time zone the preamble states or the user gives
(``--tz``); with neither the file is refused, naming the option: a zone is never
guessed. A zone is a fixed offset (``UTC+08:00``, ``GMT-5``, ``+01:00``, ``Z``; "+"
is east of Greenwich, as logger software writes it) or an IANA name
(``Europe/Berlin``); with a name, a local time that happens twice (the autumn
change) or never (the spring one) is refused for that row rather than picked.
Dates are ``YYYY-MM-DD`` or ``YYYY/MM/DD``; ``DD/MM/YYYY`` and ``MM/DD/YYYY`` look the
same, so a slashed date with the year last needs the order from the preamble's
"Date Format" or ``--date-order``.
"""

from __future__ import annotations

import itertools
import re
import statistics
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sensors.loggers.errors import LoggerFileError

DateOrder = Literal["dmy", "mdy", "ymd"]
DATE_ORDERS: tuple[DateOrder, ...] = ("dmy", "mdy", "ymd")
TZ_FIX = (
    "give --tz (e.g. --tz Europe/Berlin or --tz +01:00) with the zone the logger's clock was set to"
)
DEFAULT_INTERVAL_S = 60

_OFFSET = re.compile(r"^(?:utc|gmt)?\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)
_DATE_TIME = re.compile(
    r"^(?P<date>\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4})[T\s]+(?P<time>\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)"
    r"\s*(?P<ampm>[AaPp][Mm])?\s*(?P<offset>[Zz]|[+-]\d{2}:?\d{2})?$"
)
_TIME = re.compile(
    r"^(?P<time>\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)\s*(?P<ampm>[AaPp][Mm])?"
    r"\s*(?P<offset>[Zz]|[+-]\d{2}:?\d{2})?$"
)
_INTERVAL = re.compile(
    r"^(\d+(?:\.\d+)?)\s*(s|sec|secs|second|seconds|m|min|mins|minute|minutes|h|hr|hrs|hour|hours)$",
    re.IGNORECASE,
)
_UNIT_S = {"s": 1, "m": 60, "h": 3600}


def parse_zone(text: str) -> tuple[tzinfo, str]:
    """A zone and how to name it; LoggerFileError if it is neither an offset nor a name."""
    value = text.strip()
    if value.upper() in ("Z", "UTC", "GMT", "UTC+0", "UTC+00:00"):
        return UTC, "UTC"
    found = _OFFSET.match(value)
    if found:
        sign, hours, minutes = found.group(1), int(found.group(2)), int(found.group(3) or 0)
        if hours > 14 or minutes > 59:
            raise LoggerFileError(f"time zone {text!r} is not an offset a clock can have")
        delta = timedelta(hours=hours, minutes=minutes) * (-1 if sign == "-" else 1)
        return timezone(delta), f"UTC{sign}{hours:02d}:{minutes:02d}"
    try:
        return ZoneInfo(value), value
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise LoggerFileError(
            f"time zone {text!r} is neither an offset (UTC+08:00, +01:00) nor an IANA zone "
            "name (Europe/Berlin)"
        ) from exc


def resolve_zone(preamble: str | None, given: str | None) -> tuple[tzinfo, str] | None:
    """The zone for local times: the preamble's, or ``--tz``; both must agree."""
    stated = parse_zone(preamble) if preamble else None
    chosen = parse_zone(given) if given else None
    if stated and chosen:
        probe = datetime(2026, 1, 15, 12)  # compared at a winter and a summer instant
        same = all(
            probe.replace(month=m, tzinfo=stated[0]).utcoffset()
            == probe.replace(month=m, tzinfo=chosen[0]).utcoffset()
            for m in (1, 7)
        )
        if not same:
            raise LoggerFileError(
                f"the file states time zone {stated[1]} but --tz says {chosen[1]}: drop --tz "
                "or correct the logger's setting"
            )
    return stated or chosen


def date_order_of(text: str | None) -> DateOrder | None:
    """The order a preamble's "Date Format" (``DD/MM/YYYY``, ``mm-dd-yy``) names."""
    if not text:
        return None
    order = "".join(dict.fromkeys(re.sub(r"[^dmy]", "", text.lower())))
    return next((known for known in DATE_ORDERS if known == order), None)


def _date(text: str, order: DateOrder | None) -> tuple[int, int, int]:
    parts = [int(p) for p in re.split(r"[-/.]", text)]
    if len(str(re.split(r"[-/.]", text)[0])) == 4:  # the year first: never ambiguous
        return parts[0], parts[1], parts[2]
    if order is None:
        raise LoggerFileError(
            f"date {text!r} could be day/month or month/day: give --date-order dmy or mdy "
            '(or a "Date Format" line in the preamble)'
        )
    if order == "ymd":
        raise LoggerFileError(f"date {text!r} does not start with a 4-digit year (order ymd)")
    day, month = (parts[0], parts[1]) if order == "dmy" else (parts[1], parts[0])
    year = parts[2] + (2000 if parts[2] < 100 else 0)
    return year, month, day


def _clock(text: str, ampm: str | None) -> tuple[int, int, int, int]:
    pieces = text.split(":")
    hour, minute = int(pieces[0]), int(pieces[1])
    second, micro = 0, 0
    if len(pieces) > 2:
        whole, _, fraction = pieces[2].partition(".")
        second, micro = int(whole), int((fraction or "0").ljust(6, "0"))
    if ampm:
        if not 1 <= hour <= 12:
            raise ValueError(f"hour {hour} with {ampm}")
        hour = hour % 12 + (12 if ampm.lower() == "pm" else 0)
    return hour, minute, second, micro


def _offset(text: str) -> tzinfo:
    if text in ("Z", "z"):
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def local_time(
    date_text: str | None,
    time_text: str,
    zone: tzinfo | None,
    order: DateOrder | None,
) -> datetime:
    """The instant (UTC) of one row's date and time. ``ValueError`` names a bad cell;
    ``LoggerFileError`` a rule of the whole file (no zone, ambiguous date order)."""
    if date_text is None:
        found = _DATE_TIME.match(time_text.strip())
        if not found:
            raise ValueError(f"time {time_text!r} is not a date and time")
        date_part = found.group("date")
    else:
        found = _TIME.match(time_text.strip())
        if not found:
            raise ValueError(f"time {time_text!r} is not a time of day")
        date_part = date_text.strip()
        if not re.fullmatch(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}", date_part):
            raise ValueError(f"date {date_text!r} is not a date")
    year, month, day = _date(date_part, order)
    hour, minute, second, micro = _clock(found.group("time"), found.group("ampm"))
    naive = datetime(year, month, day, hour, minute, second, micro)
    if found.group("offset"):
        return naive.replace(tzinfo=_offset(found.group("offset"))).astimezone(UTC)
    if zone is None:
        raise LoggerFileError(f"times such as {time_text!r} carry no UTC offset: {TZ_FIX}")
    early, late = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
    if early.utcoffset() != late.utcoffset():
        raise ValueError(
            f"local time {naive.isoformat(sep=' ')} happens twice or never in {zone} (a "
            "daylight-saving change): give --tz as a fixed offset (e.g. +01:00)"
        )
    return early.astimezone(UTC)


def parse_interval(text: str | None) -> int | None:
    """A preamble's logging interval in seconds (``00:10:00``, ``10 Min``, ``30s``)."""
    if not text:
        return None
    value = text.strip()
    hms = re.fullmatch(r"(\d{1,2}):(\d{2}):(\d{2})", value)
    if hms:
        seconds = int(hms.group(1)) * 3600 + int(hms.group(2)) * 60 + int(hms.group(3))
        return seconds or None
    found = _INTERVAL.match(value.replace(" ", "")) or _INTERVAL.match(value)
    if found:
        seconds = round(float(found.group(1)) * _UNIT_S[found.group(2)[0].lower()])
        return seconds or None
    return None


def inferred_interval(instants: Sequence[datetime]) -> int:
    """The median step between consecutive readings (s); 60 s for a single reading."""
    ordered = sorted(instants)
    steps = [round((b - a).total_seconds()) for a, b in itertools.pairwise(ordered)]
    positive = [s for s in steps if s > 0]
    return max(1, round(statistics.median(positive))) if positive else DEFAULT_INTERVAL_S
