"""RFC 8785 JSON Canonicalization Scheme (JCS).

The canonical form is what the ledger hashes, so it must be byte-identical to
every other JCS implementation: object keys sorted by UTF-16 code units,
ECMAScript ``Number.prototype.toString`` for numbers, minimal string escaping,
no whitespace, UTF-8 output.

Three writers, fastest first, each used only where its output is provably the
careful one's (``tests/ledger/test_canonical.py`` checks them against each other,
the RFC 8785 vectors and node's ``Number#toString``):

1. orjson (Rust) with sorted keys, when a few byte checks on its output and a
   round trip show nothing it writes differently (see ``_orjson_form``);
2. Python's C JSON encoder, for values whose every part it writes like RFC 8785;
3. a path-tracking writer that handles everything else and names what it rejects.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

import orjson

from ledger.errors import CanonicalizationError
from ledger.es6number import format_number

__all__ = ["canonicalize", "format_number"]


_SHORT_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def canonicalize(value: Any) -> bytes:
    """``value`` as RFC 8785 canonical JSON, UTF-8 encoded.

    Accepts what ``json.loads`` produces (dict, list, str, int, float, bool,
    None) plus tuples and any ``Mapping``. Raises ``CanonicalizationError``
    naming the offending path for anything else.
    """
    fast = _orjson_form(value)
    if fast is not None:
        return fast
    return _canonicalize_python(value)


def _canonicalize_python(value: Any) -> bytes:
    """The same bytes without orjson: the C JSON encoder where safe, else pure Python."""
    try:
        if _plain(value):
            # Output identical to RFC 8785 for these values, built by the C encoder.
            return _dumps_plain(value).encode("utf-8")
    except RecursionError as exc:
        raise CanonicalizationError(
            "value is nested too deeply (or contains itself): flatten it or break the cycle"
        ) from exc
    parts: list[str] = []
    try:
        try:
            _fast(value, parts.append)
        except _Slow:
            # Rare input (or an error): the path-tracking writer says exactly where.
            parts = []
            _write(value, parts, "$")
    except RecursionError as exc:
        raise CanonicalizationError(
            "value is nested too deeply (or contains itself): flatten it or break the cycle"
        ) from exc
    return "".join(parts).encode("utf-8")


# Natively serialised types that RFC 8785 input must not contain (dataclasses,
# datetimes, str/int/dict/list subclasses) go to ``default``, which refuses them.
_ORJSON_OPTIONS = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_STRICT_INTEGER  # |n| < 2**53: printed exactly like an ES6 Number
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)
# orjson writes integral floats as "1.0" (ES6: "1") and switches to exponents
# ("1e-6", "1e+16") at other bounds than ES6; either form sends the value on.
# In compact output a number token ends at "," "]" "}" or the end, and a string
# token at a quote, so ".0" before one of those is an integral float; a false
# match inside a string only costs the slower writer, never a wrong byte. The
# pattern starts with a literal, which ``re`` scans for at C speed.
_ORJSON_INTEGRAL = re.compile(rb"\.0(?=[,\]}]|\Z)")
# orjson sorts keys by code point; UTF-16 code units order U+E000..U+FFFF after
# U+10000 and up. Only output holding both kinds (lead bytes EE/EF and F0-F4)
# could be ordered differently.
_BMP_HIGH = re.compile(rb"[\xee\xef]")
_ASTRAL = re.compile(rb"[\xf0-\xf4]")


def _refuse(value: Any) -> NoReturn:
    raise TypeError(type(value).__name__)


def _orjson_form(value: Any) -> bytes | None:
    """orjson's sorted-keys output when it is byte-identical to RFC 8785, else None.

    Beyond the checks on numbers and key order above, strings need none: orjson
    rejects lone surrogates and escapes exactly what RFC 8785 escapes (quote,
    backslash, ``\\b \\t \\n \\f \\r``, other controls as lowercase ``\\u00xx``).
    It also writes NaN and infinities as ``null`` and UUIDs, enums and
    ``orjson.Fragment`` natively; the round trip catches all of those, since
    parsing its output back must give a value equal to the input.
    """
    try:
        out = orjson.dumps(value, default=_refuse, option=_ORJSON_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError included: the careful writers decide
        return None
    if b".0" in out and _ORJSON_INTEGRAL.search(out) is not None:
        return None
    if _has_exponent(out):
        return None
    if not out.isascii() and _BMP_HIGH.search(out) and _ASTRAL.search(out):
        return None
    if orjson.loads(out) != value:
        return None
    return out


def _has_exponent(out: bytes) -> bool:
    """Whether ``out`` holds ``<digit>e[-+]<digit>``, as orjson's exponent form does."""
    for marker in (b"e-", b"e+"):
        at = out.find(marker)
        while at != -1:
            # Digits are bytes 48..57; a marker at either end of ``out`` is no number.
            if 0 < at < len(out) - 2 and 47 < out[at - 1] < 58 and 47 < out[at + 2] < 58:
                return True
            at = out.find(marker, at + 2)
    return False


class _Slow(Exception):  # noqa: N818 -- internal signal, never escapes canonicalize
    """The fast writer met something it leaves to the careful one."""


_SAFE_INT = 2**53
_dumps_string = json.JSONEncoder(ensure_ascii=False).encode


_dumps_plain = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
).encode
# Python's float repr and ECMAScript's agree (shortest digits, positional) in here.
_PLAIN_FLOAT_MIN, _PLAIN_FLOAT_MAX = 1e-4, 1e16


def _plain(value: Any) -> bool:
    """Whether ``json.dumps(sort_keys=True)`` writes ``value`` exactly as RFC 8785 does.

    True for dicts with ASCII keys (code-point order = UTF-16 order), strings
    without lone surrogates, safe integers, non-integral floats whose Python repr
    is positional, bools, None, lists and tuples of those.
    """
    kind = type(value)
    if kind is str:
        if value.isascii():
            return True
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or not key.isascii() or not _plain(item):
                return False
        return True
    if kind is list or kind is tuple:
        # A plain loop, not all(genexpr): each nesting level then costs no C stack.
        for item in value:  # noqa: SIM110
            if not _plain(item):
                return False
        return True
    if value is None or value is True or value is False:
        return True
    if kind is int:
        return bool(-_SAFE_INT < value < _SAFE_INT)
    if kind is float:
        magnitude = abs(value)
        return (
            _PLAIN_FLOAT_MIN <= magnitude < _PLAIN_FLOAT_MAX
            and not value.is_integer()
            and math.isfinite(value)
        )
    return False


def _fast(value: Any, emit: Callable[[str], None]) -> None:
    """The common case without path bookkeeping; raises ``_Slow`` for anything unusual.

    Python's JSON string encoder with ``ensure_ascii=False`` escapes exactly what
    RFC 8785 escapes (quote, backslash, control characters, lowercase ``\\u00xx``),
    once lone surrogates are ruled out; integral floats and safe ints print as
    integers; ASCII keys sort by code unit like plain ``str`` comparison.
    """
    kind = type(value)
    if kind is str:
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise _Slow from None
        emit(_dumps_string(value))
    elif kind is dict:
        keys = list(value)
        if not all(type(k) is str and k.isascii() for k in keys):
            raise _Slow
        emit("{")
        first = True
        for key in sorted(keys):
            if not first:
                emit(",")
            first = False
            emit(_dumps_string(key))
            emit(":")
            _fast(value[key], emit)
        emit("}")
    elif kind is list or kind is tuple:
        emit("[")
        for i, item in enumerate(value):
            if i:
                emit(",")
            _fast(item, emit)
        emit("]")
    elif value is None:
        emit("null")
    elif value is True:
        emit("true")
    elif value is False:
        emit("false")
    elif kind is int and -_SAFE_INT < value < _SAFE_INT:
        emit(str(value))
    elif kind is float and math.isfinite(value):
        if value.is_integer() and abs(value) < _SAFE_INT:
            emit(str(int(value)))
        else:
            emit(format_number(value))
    else:
        raise _Slow


def _write(value: Any, out: list[str], path: str) -> None:
    # bool before int: bool is an int subclass in Python.
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_string(value, path))
    elif isinstance(value, int):
        out.append(_integer(value, path))
    elif isinstance(value, float):
        out.append(_float(value, path))
    elif isinstance(value, Mapping):
        _object(value, out, path)
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _write(item, out, f"{path}[{i}]")
        out.append("]")
    else:
        raise CanonicalizationError(
            f"{path}: {type(value).__name__} has no JSON form; "
            "convert it to str, int, float, bool, None, list or dict first"
        )


def _object(value: Mapping[Any, Any], out: list[str], path: str) -> None:
    for key in value:
        if not isinstance(key, str):
            raise CanonicalizationError(
                f"{path}: object key {key!r} is {type(key).__name__}; JSON keys must be str"
            )
    # UTF-16-BE bytes compare exactly like arrays of UTF-16 code units.
    keys = sorted(value, key=lambda k: _utf16_units(k, path))
    out.append("{")
    for i, key in enumerate(keys):
        if i:
            out.append(",")
        out.append(_string(key, path))
        out.append(":")
        _write(value[key], out, f"{path}.{key}")
    out.append("}")


def _utf16_units(key: str, path: str) -> bytes:
    try:
        return key.encode("utf-16-be")
    except UnicodeEncodeError as exc:
        raise CanonicalizationError(
            f"{path}: object key {key!r} contains a lone surrogate; use valid Unicode"
        ) from exc


def _string(text: str, path: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CanonicalizationError(
            f"{path}: string {text!r} contains a lone surrogate at index {exc.start}; "
            "use valid Unicode"
        ) from exc
    escaped: list[str] = ['"']
    for ch in text:
        if ch in _SHORT_ESCAPES:
            escaped.append(_SHORT_ESCAPES[ch])
        elif ch < " ":
            escaped.append(f"\\u{ord(ch):04x}")
        else:
            escaped.append(ch)
    escaped.append('"')
    return "".join(escaped)


def _integer(value: int, path: str) -> str:
    # JSON numbers are IEEE-754 doubles (I-JSON): an int that a double cannot hold
    # exactly would silently change meaning in every other implementation.
    try:
        as_float = float(value)
    except OverflowError:
        as_float = math.inf
    if math.isinf(as_float) or int(as_float) != value:
        raise CanonicalizationError(
            f"{path}: integer {value} is not exactly representable as an IEEE-754 double; "
            "write it as a string"
        )
    return format_number(as_float)


def _float(value: float, path: str) -> str:
    if not math.isfinite(value):
        raise CanonicalizationError(
            f"{path}: {value!r} is not allowed in JSON (RFC 8785 §3.2.2.3); use null or a string"
        )
    return format_number(value)
