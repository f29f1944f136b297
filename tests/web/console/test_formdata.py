"""The console's form bodies: urlencoded, and multipart for an upload (its file's own
name, bounded parts, UTF-8 fields), bounded fields, numbers with either decimal mark,
blank as None."""

from __future__ import annotations

import asyncio

import pytest
from starlette.requests import Request

from web.console.formdata import MAX_PARTS, form_of, multipart_of, number, text
from web.problem import Problem


def request(body: bytes, kind: str = "application/x-www-form-urlencoded") -> Request:
    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": body, "more_body": False}

    scope = {"type": "http", "method": "POST", "headers": [(b"content-type", kind.encode())]}
    return Request(scope, receive)


def test_a_form_is_read() -> None:
    form = asyncio.run(form_of(request(b"csrf=abc&comment=door+%C3%B6ffnen&blank=")))
    assert form == {"csrf": "abc", "comment": "door öffnen", "blank": ""}


@pytest.mark.parametrize(
    ("body", "kind", "status"),
    [
        (b"a=1", "application/json", 415),
        (b"a=%FF", "application/x-www-form-urlencoded", 400),
        (b"&".join(b"f%d=1" % i for i in range(201)), "application/x-www-form-urlencoded", 400),
    ],
)
def test_other_bodies_are_refused(body: bytes, kind: str, status: int) -> None:
    with pytest.raises(Problem) as refused:
        asyncio.run(form_of(request(body, kind)))
    assert refused.value.status == status


def test_fields() -> None:
    form = {"n": " 42,5 ", "e": "", "x": "many", "inf": "inf", "t": "  hi "}
    assert number(form, "n") == 42.5
    assert number(form, "e") is None
    assert number(form, "missing") is None
    for bad in ("x", "inf"):
        with pytest.raises(Problem, match=f"{bad}: "):
            number(form, bad)
    assert text(form, "t") == "hi"
    assert text(form, "e", required=False) == ""
    with pytest.raises(Problem, match="e: fill it in"):
        text(form, "e")
    with pytest.raises(Problem, match="at most 1 characters"):
        text(form, "t", limit=1)


BOUNDARY = "b0undary"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


def parts(*given: tuple[str, bytes]) -> bytes:
    """A multipart body of (Content-Disposition parameters, content) parts."""
    body = b"".join(
        f"--{BOUNDARY}\r\nContent-Disposition: form-data; {params}\r\n\r\n".encode()
        + content
        + b"\r\n"
        for params, content in given
    )
    return body + f"--{BOUNDARY}--\r\n".encode()


def test_a_multipart_form_is_read_with_its_file() -> None:
    body = parts(
        ('name="csrf"', b"abc"),
        ('name="file"; filename="../../etc/Produkte 冷.csv"', b"a,b\r\n1,2\n"),
    )
    fields, files = asyncio.run(multipart_of(request(body, MULTIPART)))
    assert fields == {"csrf": "abc"}
    assert files["file"].filename == "Produkte 冷.csv"  # no folder
    assert files["file"].content == b"a,b\r\n1,2\n"  # byte for byte


@pytest.mark.parametrize(
    ("body", "kind", "status"),
    [
        (parts(('name="a"', b"1")), "application/x-www-form-urlencoded", 415),
        (b"no parts at all", MULTIPART, 400),
        (parts(('name="t"', b"\xff\xfe")), MULTIPART, 400),  # a field that is not UTF-8
        (parts(('filename="x.csv"', b"1")), MULTIPART, 400),  # a part without a name
        (parts(*[(f'name="f{i}"', b"1") for i in range(MAX_PARTS + 1)]), MULTIPART, 400),
    ],
)
def test_a_multipart_form_that_cannot_be_read_is_refused(
    body: bytes, kind: str, status: int
) -> None:
    with pytest.raises(Problem) as refused:
        asyncio.run(multipart_of(request(body, kind)))
    assert refused.value.status == status
