"""ECMAScript ``Number.prototype.toString``: how RFC 8785 writes every number.

RFC 8785 §3.2.2.3 defers to ECMA-262 §6.1.6.1.20: the shortest decimal digits
that round-trip to the same double, laid out positionally from 1e-6 up to below
1e21 and in exponent form (``1e+21``, ``1.5e-7``) outside that range.
"""

from __future__ import annotations

# ECMAScript switches to exponent notation from 1e21 up and below 1e-6.
_MAX_PLAIN_EXPONENT = 21
_MIN_PLAIN_EXPONENT = -6


def format_number(value: float) -> str:
    """ECMAScript ``Number.prototype.toString`` of a finite double."""
    if value == 0:
        return "0"  # also turns -0 into 0
    if value < 0:
        return "-" + format_number(-value)
    digits, exponent = _shortest_digits(value)
    k = len(digits)
    n = exponent  # value = 0.digits × 10**n, as in ECMA-262 §6.1.6.1.20
    if k <= n <= _MAX_PLAIN_EXPONENT:
        return digits + "0" * (n - k)
    if 0 < n <= _MAX_PLAIN_EXPONENT:
        return digits[:n] + "." + digits[n:]
    if _MIN_PLAIN_EXPONENT < n <= 0:
        return "0." + "0" * (-n) + digits
    e = n - 1
    sign = "+" if e >= 0 else "-"
    mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{mantissa}e{sign}{abs(e)}"


def _shortest_digits(value: float) -> tuple[str, int]:
    """The shortest round-trip decimal digits of a positive double, and n.

    Python's ``repr`` already yields the shortest string that round-trips
    (and the closest one on ties), the same digit choice ECMAScript requires;
    only its layout differs, so the digits are re-laid out by the caller.
    """
    text = repr(value)
    mantissa, _, exp_text = text.partition("e")
    exp10 = int(exp_text) if exp_text else 0
    int_part, _, frac_part = mantissa.partition(".")
    if frac_part == "0":
        frac_part = ""
    all_digits = int_part + frac_part
    stripped = all_digits.lstrip("0")
    leading_zeros = len(all_digits) - len(stripped)
    digits = stripped.rstrip("0")
    n = len(int_part) - leading_zeros + exp10
    return digits, n
