"""The console's form bodies: urlencoded only, bounded fields, numbers with either
decimal mark, blank as None."""

from __future__ import annotations

import asyncio

import pytest
from starlette.requests import Request

from web.console.formdata import form_of, number, text
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
