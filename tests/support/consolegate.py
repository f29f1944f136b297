"""A console gate for the page tests (``web.console.gate.ConsoleGate``): the user is
whoever the ``X-Test-User: name:role`` header names, the CSRF token is ``csrf-<name>``
and the signature password is ``right-password``. The real gate
(``web.console.auth``) is tested on its own; pages tested over this one test the pages.
``signed_in`` gives the headers of a real session, for tests over the real gate."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast, get_args

from starlette.requests import Request
from starlette.routing import BaseRoute

from tests.support.accounts import PASSWORD as USER_PASSWORD
from tests.support.accounts import ready_user
from traceability.accounts.service import AccountService
from web.console.gate import Role, SessionUser, Signature, allows
from web.console.session import SESSION_COOKIE, SessionSigner
from web.problem import Problem

PASSWORD = "right-password"


def signed_in(accounts: AccountService, secret: bytes, name: str, role: Role) -> dict[str, str]:
    """A new user ``name`` logged in: the Cookie header of their session under the real
    gate (``ConsoleAuth(accounts, secret)``)."""
    ready_user(accounts, name, role)
    session = accounts.open_session(accounts.login(name, USER_PASSWORD))
    return {"Cookie": f"{SESSION_COOKIE}={SessionSigner(secret).session_cookie(session)}"}


class FakeGate:
    def __init__(self) -> None:
        self.signatures: list[Signature] = []
        self.peeks = 0

    def routes(self) -> list[BaseRoute]:
        return []

    async def user(self, request: Request) -> SessionUser | None:
        given = request.headers.get("x-test-user")
        if not given:
            return None
        name, _, role = given.partition(":")
        if role not in get_args(Role):
            raise ValueError(f"X-Test-User: role {role!r}")
        return SessionUser(name=name, display_name=name.title(), role=cast(Role, role))

    async def peek(self, request: Request) -> SessionUser | None:
        """As ``user``: the header has no idle timer (``ExpiringGate`` in the stream tests
        counts the looks)."""
        self.peeks += 1
        return await self.user(request)

    async def require(self, request: Request, role: Role) -> SessionUser:
        user = await self.user(request)
        if user is None:
            if request.method == "GET":
                raise Problem(303, "log in", "log in first", headers={"Location": "/console/login"})
            raise Problem(403, "log in", "log in first")
        if not allows(user.role, role):
            raise Problem(403, "role required", f"{user.name} is {user.role}; needs {role}")
        return user

    def csrf_token(self, request: Request) -> str:
        given = request.headers.get("x-test-user", "")
        return f"csrf-{given.partition(':')[0]}"

    async def check_csrf(self, request: Request, token: str | None) -> None:
        if token is None or token != self.csrf_token(request):
            raise Problem(403, "bad form", "csrf: reload the page and send the form again")

    async def sign(
        self, user: SessionUser, password: str, totp: str | None, meaning: str
    ) -> Signature:
        if password != PASSWORD:
            raise Problem(403, "signature refused", "password: not the user's password")
        signature = Signature(
            name=user.name,
            display_name=user.display_name,
            role=user.role,
            signed_at=datetime(2026, 12, 2, 12, 0, tzinfo=UTC),
            meaning=meaning,
        )
        self.signatures.append(signature)
        return signature
