"""How the EPCIS Event Hash ID pre-hash string writes a time and a number (CBV 2.0).

Times: UTC with exactly three decimals, the fourth rounded half up, and ``Z``
(``format_timestamp``). Numbers: ``26.0`` as ``26``, ``0.100`` as ``0.1``, never an
exponent (``canonical_number``); a numeric string is a number (``parse_number``), within
bounds that keep writing it out cheap. ``gs1.epcis.hashid`` uses them for every value.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from gs1.errors import NumberOutOfRange

# One way to match a number (``\d+\.?\d*`` had two: 30,000 digits backtracked for 12 s).
_NUMBER = re.compile(r"[+-]?(?:(\d+)(?:\.(\d*))?|\.(\d+))(?:[eE]([+-]?)(\d+))?")
# What the hash writes out in full: ``int(Decimal("1e1000000"))`` alone took 23 s of
# GIL. Beyond these a value is refused (capture names the field), never approximated.
MAX_NUMBER_DIGITS = 100  # significant digits of the mantissa
MAX_EXPONENT = 400  # a double reaches 1e308; its smallest subnormal is 5e-324
INT_LIMIT = 10**MAX_NUMBER_DIGITS  # integers at or beyond it are refused


def format_timestamp(text: str) -> str:
    """UTC with exactly three decimals, the 4th rounded half up, and ``Z``."""
    match = _PLAIN_TIME.fullmatch(text)
    if match is None or text[0] == "0":  # strftime writes years below 1000 unpadded
        return _any_timestamp(text)
    base, digits = match.groups()
    if not digits:
        millis = 0
    elif len(digits) <= 3:
        millis = int(digits.ljust(3, "0"))
    else:  # half up: the rest is at least one half exactly when its first digit is
        millis = int(digits[:3]) + (digits[3] >= "5")
    if millis == 1000:  # carried into the seconds
        return _any_timestamp(text)
    try:
        datetime.fromisoformat(base)  # a 31 February is written as sent, like the rest
    except ValueError:
        return text
    return f"{base}.{millis:03d}Z"


# What senders write (ASCII digits, a UTC "Z"): the fast path of ``format_timestamp``.
_PLAIN_TIME = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.([0-9]+))?Z")


def _any_timestamp(text: str) -> str:
    whole = re.sub(r"(T\d{2}:\d{2}:\d{2})\.\d+", r"\1", text.strip())
    try:
        moment = datetime.fromisoformat(whole)
    except ValueError:
        return text.strip()
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    fraction = _fraction(text)
    millis = int(fraction.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP) * 1000)
    moment = moment.replace(microsecond=0) + timedelta(milliseconds=millis)
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + f".{utc.microsecond // 1000:03d}Z"


def _fraction(text: str) -> Decimal:
    match = re.search(r"T\d{2}:\d{2}:\d{2}(\.\d+)", text)
    return Decimal("0" + match.group(1)) if match else Decimal(0)


def parse_number(text: str) -> Decimal | None:
    """``text`` as a number when it is one (``-0.5``, ``1e3``), else None; linear in ``text``.
    ``NumberOutOfRange`` beyond ``MAX_NUMBER_DIGITS`` digits or ``MAX_EXPONENT``."""
    match = _NUMBER.fullmatch(text)
    if match is None:
        return None
    whole, fraction, bare_fraction, _sign, exponent = match.groups()
    digits = ((whole or "") + (fraction or bare_fraction or "")).lstrip("0")
    if len(digits) > MAX_NUMBER_DIGITS:
        raise NumberOutOfRange(
            f"{_shown(text)} has {len(digits)} significant digits; the limit is "
            f"{MAX_NUMBER_DIGITS}: send it as a number within range (or as text, not digits)"
        )
    if exponent is not None and len(exponent.lstrip("0")) > len(str(MAX_EXPONENT)) + 1:
        raise NumberOutOfRange(f"{_shown(text)}: the exponent is beyond ±{MAX_EXPONENT}")
    number = Decimal(text)
    if number and abs(number.adjusted()) > MAX_EXPONENT:
        raise NumberOutOfRange(
            f"{_shown(text)} is of magnitude 1e{number.adjusted()}, beyond ±{MAX_EXPONENT}"
        )
    return number


def canonical_number(value: float | int | Decimal) -> str:
    """``26.0`` → ``26``; ``0.100`` → ``0.1``; no exponent for ordinary magnitudes.

    An integral value is read as a binary double first, as the reference implementation
    does: ``111100001111000011110000`` becomes ``111100001111000003641344`` (its vectors
    have such a digit string in a sensor report's ``stringValue``). ``NumberOutOfRange``
    for infinity, NaN, integers beyond ``MAX_NUMBER_DIGITS``: never written out."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= INT_LIMIT:
        raise NumberOutOfRange(f"an integer of more than {MAX_NUMBER_DIGITS} digits")
    finite = value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)
    if not finite:
        raise NumberOutOfRange(f"{value} is not a finite number")
    if not isinstance(value, int):
        as_float = float(value)
        if math.isfinite(as_float) and as_float.is_integer():
            return str(int(as_float))
    number = Decimal(str(value))
    if number == number.to_integral_value():
        return str(int(number))
    return format(number.normalize(), "f")


def _shown(text: str) -> str:
    return text if len(text) <= 20 else text[:20] + "…"
