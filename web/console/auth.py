"""``ConsoleAuth``: the console's gate (``web.console.gate.ConsoleGate``) over the
operator accounts (``traceability.accounts``).

* ``GET /console/login`` — the form (name, password, the TOTP code for those who set one
  up), with a login CSRF token bound to a nonce cookie (``web.console.session``).
* ``POST /console/login`` — CSRF first (403), then at most ``login_limit`` attempts per
  remote address (429; the lockout bounds each account), then the account service: a
  refusal says the same for an unknown name, a wrong password or code and a disabled or
  locked user (the login events tell them apart); a right one-time password brings the
  form back asking for a new password (typed twice). Success starts a new server-side
  session (a new id: nothing planted before login survives it) and goes to ``next``
  when that is a path of this site.
* ``POST /console/logout`` — CSRF-checked; ends the session on the server, not only the
  cookie.

``user`` reads the session cookie, checks its MAC, then asks the accounts whether the
session lives (idle timeout, absolute lifetime, the user not disabled or reset since);
the answer is kept on the request. ``peek`` asks the same without moving the idle timer
and keeps nothing (a later ``user`` of the request is use). ``sign`` re-checks the
password (and code) and answers the ``Signature`` with the user's name, role and meaning
as the records have them now. Every account call blocks (Argon2id takes ~50 ms by
design), so it runs off the event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from traceability.accounts.errors import LoginRefused, PasswordChangeRequired, PasswordRefused
from traceability.accounts.passwords import MIN_LENGTH
from traceability.accounts.service import AccountService
from traceability.errors import StoreUnavailable
from traceability.records.accounts import User
from web.console.formdata import form_of
from web.console.gate import Role, SessionUser, Signature, allows
from web.console.render import ConsoleRenderer
from web.console.session import (
    HOME,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    SessionSigner,
    clear_cookie,
    new_nonce,
    safe_next,
    same,
    set_cookie,
    well_formed,
)
from web.problem import Problem
from web.ratelimit import RateLimiter

LOGIN_PATH = "/console/login"
LOGOUT_PATH = "/console/logout"
_FIELD_LIMIT = 4096  # a name, password or code longer than this is no login
T = TypeVar("T")
_UNKNOWN = object()


def login_limiter() -> RateLimiter:
    """10 attempts at once per address, then one every 6 s."""
    return RateLimiter(rate=1 / 6, burst=10)


class ConsoleAuth:
    """Implements ``web.console.gate.ConsoleGate``; see the module docstring."""

    def __init__(
        self,
        accounts: AccountService,
        secret: bytes,
        *,
        renderer: ConsoleRenderer | None = None,
        login_limit: RateLimiter | None = None,
    ) -> None:
        """``secret``: the site's console secret (at least 32 random bytes, the same on
        every web replica): it signs the cookies and the CSRF tokens."""
        self._accounts = accounts
        self._signer = SessionSigner(secret)
        self._renderer = renderer or ConsoleRenderer()
        self._limit = login_limit or login_limiter()

    def routes(self) -> list[BaseRoute]:
        return [
            Route(LOGIN_PATH, self._login, methods=["GET", "POST"]),
            Route(LOGOUT_PATH, self._logout, methods=["POST"]),
        ]

    # the gate ---------------------------------------------------------------------

    async def user(self, request: Request) -> SessionUser | None:
        cached = getattr(request.state, "console_user", _UNKNOWN)
        if cached is not _UNKNOWN:  # asked before during this request
            assert cached is None or isinstance(cached, SessionUser)
            return cached
        found: SessionUser | None = None
        session_id = self._signer.session_id(request.cookies.get(SESSION_COOKIE))
        if session_id is not None:
            user = await _blocking(self._accounts.session_user, session_id)
            found = None if user is None else _session_user(user)
        request.state.console_user = found
        return found

    async def peek(self, request: Request) -> SessionUser | None:
        session_id = self._signer.session_id(request.cookies.get(SESSION_COOKIE))
        if session_id is None:
            return None
        user = await _blocking(self._looked_at, session_id)
        return None if user is None else _session_user(user)

    def _looked_at(self, session_id: str) -> User | None:
        return self._accounts.session_user(session_id, touch=False)

    async def require(self, request: Request, role: Role) -> SessionUser:
        user = await self.user(request)
        if user is None:
            if request.method in ("GET", "HEAD"):
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                location = f"{LOGIN_PATH}?next={quote(safe_next(target), safe='/')}"
                raise Problem(303, "log in", "log in first", headers={"Location": location})
            raise Problem(403, "log in", "no session: log in again and send the form again")
        if not allows(user.role, role):
            raise Problem(403, "role required", f"{user.name} is {user.role}; needs {role}")
        return user

    def csrf_token(self, request: Request) -> str:
        session_id = self._signer.session_id(request.cookies.get(SESSION_COOKIE))
        return "" if session_id is None else self._signer.csrf(session_id)

    async def check_csrf(self, request: Request, token: str | None) -> None:
        session_id = self._signer.session_id(request.cookies.get(SESSION_COOKIE))
        if session_id is None or not same(token, self._signer.csrf(session_id)):
            raise Problem(403, "bad form", "csrf: reload the page and send the form again")

    async def sign(
        self, user: SessionUser, password: str, totp: str | None, meaning: str
    ) -> Signature:
        if not meaning.strip():
            raise Problem(400, "bad signature", "meaning: say what the signature means")
        try:
            signer = await _blocking(
                self._accounts.check_signature, user.name, password[:_FIELD_LIMIT], totp
            )
        except LoginRefused as exc:
            raise Problem(403, "signature refused", str(exc)) from exc
        return Signature(
            name=signer.name,
            display_name=signer.display_name,
            role=signer.role,
            signed_at=self._accounts.now(),
            meaning=meaning.strip(),
        )

    # the routes -------------------------------------------------------------------

    async def _login(self, request: Request) -> Response:
        if request.method == "GET":
            if await self.user(request) is not None:
                return RedirectResponse(safe_next(request.query_params.get("next")), 303)
            notice = "logged_out" if request.query_params.get("out") else None
            return self._form(request, 200, next=request.query_params.get("next"), notice=notice)
        form = await form_of(request)
        fields = {k: _text(form, k) for k in ("name", "password", "totp", "new", "repeat")}
        next_path = form.get("next")
        nonce = well_formed(request.cookies.get(LOGIN_COOKIE))
        if nonce is None or not same(_text(form, "csrf"), self._signer.login_token(nonce)):
            return self._form(request, 403, next=next_path, error="expired")
        remote = request.client.host if request.client else None
        if self._limit.take(remote or "unknown") > 0:
            return self._form(request, 429, next=next_path, error="busy", name=fields["name"])
        changing = bool(fields["new"] or fields["repeat"])
        name = fields["name"]
        if changing and fields["new"] != fields["repeat"]:
            return self._form(
                request, 400, next=next_path, name=name, change=True, error="mismatch"
            )
        earlier = self._signer.session_id(request.cookies.get(SESSION_COOKIE))
        try:
            session_id = await _blocking(
                self._login_blocking,
                name,
                fields["password"],
                fields["totp"] or None,
                remote,
                fields["new"] if changing else None,
                earlier,
            )
        except PasswordChangeRequired:
            return self._form(request, 200, next=next_path, name=name, change=True)
        except PasswordRefused:
            return self._form(request, 400, next=next_path, name=name, change=True, error="policy")
        except LoginRefused:
            return self._form(
                request, 401, next=next_path, name=name, change=changing, error="refused"
            )
        response = RedirectResponse(safe_next(next_path), 303)
        set_cookie(response, request, SESSION_COOKIE, self._signer.session_cookie(session_id))
        clear_cookie(response, request, LOGIN_COOKIE)
        return response

    def _login_blocking(
        self,
        name: str,
        password: str,
        code: str | None,
        remote: str | None,
        new: str | None,
        earlier: str | None,
    ) -> str:
        """The new session's id once the login succeeds; a session this browser had
        before (maybe someone else's) ends."""
        user = self._accounts.login(name, password, code, remote=remote, new_password=new)
        if earlier is not None:
            self._accounts.end_session(earlier)
        return self._accounts.open_session(user)

    async def _logout(self, request: Request) -> Response:
        form = await form_of(request)
        await self.check_csrf(request, _text(form, "csrf"))
        session_id = self._signer.session_id(request.cookies.get(SESSION_COOKIE))
        assert session_id is not None  # check_csrf passed
        await _blocking(self._accounts.end_session, session_id)
        response = RedirectResponse(f"{LOGIN_PATH}?out=1", 303)
        clear_cookie(response, request, SESSION_COOKIE)
        return response

    def _form(
        self,
        request: Request,
        status: int,
        *,
        next: str | None,
        error: str | None = None,
        notice: str | None = None,
        name: str = "",
        change: bool = False,
    ) -> Response:
        """The login form with a fresh login token (its nonce cookie kept or made)."""
        nonce = well_formed(request.cookies.get(LOGIN_COOKIE)) or new_nonce()
        context: dict[str, Any] = {
            "error": error,
            "notice": notice,
            "login_name": name,
            "change": change,
            "next": safe_next(next) if next else HOME,
            "min_length": MIN_LENGTH,
            "failures": self._accounts.lockout.max_failures,
            "lock_minutes": int(self._accounts.lockout.lock_for.total_seconds() // 60),
        }
        response = self._renderer.page(
            request, "login.html", status, csrf=self._signer.login_token(nonce), **context
        )
        set_cookie(response, request, LOGIN_COOKIE, nonce)
        return response


def _text(form: dict[str, str], key: str) -> str:
    """A field as typed (a password's spaces are part of it), bounded."""
    return form.get(key, "")[:_FIELD_LIMIT]


def _session_user(user: User) -> SessionUser:
    return SessionUser(name=user.name, display_name=user.display_name, role=user.role)


async def _blocking(call: Callable[..., T], *args: Any) -> T:
    try:
        return await run_in_threadpool(call, *args)
    except StoreUnavailable as exc:
        raise Problem(
            503, "accounts unavailable", f"{exc}; try again", headers={"Retry-After": "5"}
        ) from exc
