"""The contract between the console's pages and the accounts behind them (pure).

The pages ask the gate who the request's user is (``user``; ``peek`` when the ask is
no use of the session, as a live screen's checks are not), to insist on a role
(``require``: a page sends the browser to the login form, an action gets 403), for the
CSRF token to put in every form (``csrf_token``) and to check one (``check_csrf``), and
for an electronic signature (``sign``: the user's password again, and the TOTP code
when they enabled one, with the meaning of what they sign). ``web.console.auth``
implements it over ``traceability.accounts``; tests may use any object of this shape.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict
from starlette.requests import Request
from starlette.routing import BaseRoute

Role = Literal["viewer", "operator", "quality", "admin"]
# Each role may do what the ones before it may.
ROLES: tuple[Role, ...] = ("viewer", "operator", "quality", "admin")


def allows(held: Role, needed: Role) -> bool:
    """Whether a user of role ``held`` may do what ``needed`` may."""
    return ROLES.index(held) >= ROLES.index(needed)


class SessionUser(BaseModel):
    """The signed-in user of a request."""

    model_config = ConfigDict(frozen=True)

    name: str  # the unique account name (``tracehub users add NAME``)
    display_name: str
    role: Role


class Signature(BaseModel):
    """An electronic signature (21 CFR 11.50): who, when, and what it means."""

    model_config = ConfigDict(frozen=True)

    name: str
    display_name: str
    role: Role
    signed_at: datetime  # UTC
    meaning: str  # "approved release of lot L2026-11A"


class ConsoleGate(Protocol):
    def routes(self) -> list[BaseRoute]:
        """``/console/login`` (GET form, POST), ``/console/logout`` (POST)."""
        ...

    async def user(self, request: Request) -> SessionUser | None:
        """The request's signed-in user; None without a live session (an idle one has
        expired)."""
        ...

    async def peek(self, request: Request) -> SessionUser | None:
        """The request's signed-in user like ``user``, but the ask is no use of the
        session: its idle timer does not move. What a live screen checks each tick, so
        an unattended screen still logs off at the idle timeout (21 CFR 11.10(d),
        Annex 11 §12: automatic logoff)."""
        ...

    async def require(self, request: Request, role: Role) -> SessionUser:
        """The user if their role allows ``role``; else raises: a redirect to the login
        form (303) for a GET without a session, a 403 ``Problem`` otherwise."""
        ...

    def csrf_token(self, request: Request) -> str:
        """The token every form of this session carries (field ``csrf``)."""
        ...

    async def check_csrf(self, request: Request, token: str | None) -> None:
        """Raises a 403 ``Problem`` unless ``token`` is this session's."""
        ...

    async def sign(
        self, user: SessionUser, password: str, totp: str | None, meaning: str
    ) -> Signature:
        """The user's signature of ``meaning`` after checking their password (and TOTP
        code when enabled) again; raises a 403 ``Problem`` naming what was wrong (and
        counts the failure towards the lockout)."""
        ...
