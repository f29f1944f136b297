"""The console's form posts: ``application/x-www-form-urlencoded`` bodies, and
``multipart/form-data`` ones for a file upload (the master-data import), both read with
the standard library (Starlette's ``request.form()`` needs python-multipart, which the
hub does not ship): ``email``'s MIME parser reads the parts. The body is already bounded
by ``web.limits.RequestLimits``; a multipart body may have at most ``MAX_PARTS`` parts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict
from starlette.requests import Request

from web.problem import Problem

FORM_TYPE = "application/x-www-form-urlencoded"
MULTIPART_TYPE = "multipart/form-data"
MAX_FIELDS = 200
MAX_PARTS = 20
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class Upload(BaseModel):
    """A file a multipart form carried: its name as the browser gave it (no folder) and
    its bytes."""

    model_config = ConfigDict(frozen=True)

    filename: str
    content: bytes


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def form_of(request: Request) -> dict[str, str]:
    """The posted fields (the last value of a repeated name)."""
    if media_type(request) != FORM_TYPE:
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


async def multipart_of(request: Request) -> tuple[dict[str, str], dict[str, Upload]]:
    """The fields and the files of a ``multipart/form-data`` post (the last of a repeated
    name); a part that is no form-data part, or text that is not UTF-8, is a 400."""
    if media_type(request) != MULTIPART_TYPE:
        raise Problem(415, "not a form", f"send the form as {MULTIPART_TYPE}")
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=HTTP).parsebytes(head + await request.body())
    if not isinstance(message, EmailMessage) or not message.is_multipart():
        raise Problem(400, "bad form", "the form cannot be read: no parts")
    fields: dict[str, str] = {}
    files: dict[str, Upload] = {}
    for number, part in enumerate(message.iter_parts(), start=1):
        if number > MAX_PARTS:
            raise Problem(400, "bad form", f"the form has more than {MAX_PARTS} parts")
        name = part.get_param("name", header="content-disposition")
        if part.get_content_disposition() != "form-data" or not isinstance(name, str):
            raise Problem(400, "bad form", f"part {number}: not a named form-data part")
        raw = part.get_payload(decode=True)
        content = raw if isinstance(raw, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            files[name] = Upload(filename=_base_name(filename), content=content)
            continue
        try:
            fields[name] = content.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise Problem(400, "bad form", f"{name}: the text is not UTF-8") from exc
    return fields, files


def _base_name(filename: str) -> str:
    """The file's own name: no folder (old browsers send C:\\…), no control characters."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    return _UNSAFE_NAME.sub("", base)[:200]


def text(form: Mapping[str, str], name: str, *, required: bool = True, limit: int = 2000) -> str:
    value = form.get(name, "").strip()
    if required and not value:
        raise Problem(400, "bad form", f"{name}: fill it in")
    if len(value) > limit:
        raise Problem(400, "bad form", f"{name}: at most {limit} characters")
    # A NUL would be taken by the step's JSON and refused by PostgreSQL's text column
    # of its audit entry: a step without its entry. Line breaks and tabs are text.
    if _CONTROL.search(value):
        raise Problem(400, "bad form", f"{name}: remove the control characters")
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
