"""The console's form posts: ``application/x-www-form-urlencoded`` bodies, read with the
standard library (Starlette's ``request.form()`` needs python-multipart, which the hub
does not ship). The body is already bounded by ``web.limits.RequestLimits``.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl

from starlette.requests import Request

from web.problem import Problem

FORM_TYPE = "application/x-www-form-urlencoded"
MAX_FIELDS = 200


async def form_of(request: Request) -> dict[str, str]:
    """The posted fields (the last value of a repeated name)."""
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind != FORM_TYPE:
        raise Problem(415, "not a form", f"send the form as {FORM_TYPE}")
    raw = await request.body()
    try:
        pairs = parse_qsl(
            raw.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=False,
            max_num_fields=MAX_FIELDS,
            errors="strict",
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise Problem(400, "bad form", f"the form cannot be read: {exc}") from exc
    return dict(pairs)


def text(form: Mapping[str, str], name: str, *, required: bool = True, limit: int = 2000) -> str:
    value = form.get(name, "").strip()
    if required and not value:
        raise Problem(400, "bad form", f"{name}: fill it in")
    if len(value) > limit:
        raise Problem(400, "bad form", f"{name}: at most {limit} characters")
    return value


def number(form: Mapping[str, str], name: str) -> float | None:
    """A decimal number, or None when left blank (a comma decimal is taken too)."""
    value = form.get(name, "").strip().replace(",", ".")
    if not value:
        return None
    try:
        found = float(value)
    except ValueError as exc:
        raise Problem(400, "bad form", f"{name}: {value!r} is not a number") from exc
    if found != found or found in (float("inf"), float("-inf")):
        raise Problem(400, "bad form", f"{name}: give a finite number")
    return found
