"""The console's gate over real accounts (SQLite), through a tiny app that mounts
``ConsoleAuth.routes()`` and one protected page: login, one-time password change,
lockout, disabled users, CSRF, idle expiry, logout, tampered cookies, open redirects,
electronic signatures, cookie attributes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tests.support.accounts import PASSWORD, Clock, code, ready_user, service
from traceability.accounts.service import AccountService
from traceability.records.store import RecordStore
from web.console.auth import ConsoleAuth
from web.console.formdata import form_of
from web.console.session import SESSION_COOKIE, SessionSigner
from web.problem import Problem, handle_problem
from web.ratelimit import RateLimiter

if TYPE_CHECKING:
    import httpx
    from starlette.testclient import TestClient

pytestmark = pytest.mark.filterwarnings(
    "ignore:Using `httpx` with `starlette.testclient` is deprecated"
)

SECRET = b"s" * 32
PAGE = "/console/secret"


def open_client(app: Starlette, **options: Any) -> TestClient:
    from starlette.testclient import TestClient

    return TestClient(app, follow_redirects=False, **options)


def tiny_app(auth: ConsoleAuth) -> Starlette:
    async def page(request: Request) -> Response:
        user = await auth.require(request, "operator")
        return PlainTextResponse(f"hello {user.name} csrf={auth.csrf_token(request)}")

    async def act(request: Request) -> Response:
        form = await form_of(request)
        await auth.check_csrf(request, form.get("csrf"))
        user = await auth.require(request, "operator")
        return PlainTextResponse(f"done by {user.name}")

    async def sign(request: Request) -> Response:
        user = await auth.require(request, "quality")
        form = await form_of(request)
        signature = await auth.sign(user, form.get("password", ""), form.get("totp"), "approved")
        return JSONResponse(signature.model_dump(mode="json"))

    routes = [
        *auth.routes(),
        Route(PAGE, page),
        Route(PAGE + "/act", act, methods=["POST"]),
        Route("/console/sign", sign, methods=["POST"]),
    ]
    return Starlette(routes=routes, exception_handlers={Problem: handle_problem})


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def accounts(store: RecordStore, clock: Clock) -> AccountService:
    return service(store, clock)


@pytest.fixture
def client(accounts: AccountService) -> Iterator[TestClient]:
    with open_client(tiny_app(ConsoleAuth(accounts, SECRET))) as c:
        yield c


def _token(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]*)"', html)
    assert match, "no csrf field"
    return str(match[1])


def login(client: TestClient, name: str, password: str, **fields: str) -> httpx.Response:
    form = client.get("/console/login")
    assert form.status_code == 200
    data = {"csrf": _token(form.text), "name": name, "password": password, **fields}
    response: httpx.Response = client.post("/console/login", data=data)
    return response


def _error(html: str) -> str:
    match = re.search(r'id="login-error">(.*?)</p>', html, re.S)
    assert match, "no error shown"
    return str(match[1])


def _flip(token: str) -> str:
    """``token`` with its first character changed."""
    return ("A" if token[0] != "A" else "B") + token[1:]


def _csrf(client: TestClient) -> str:
    page = client.get(PAGE)
    assert page.status_code == 200, page.text
    return str(page.text.rsplit("csrf=", 1)[1])


def test_login_opens_the_page_and_the_session_cookie_is_strict(
    client: TestClient, accounts: AccountService, store: RecordStore
) -> None:
    ready_user(accounts, "alice")
    assert client.get(PAGE).headers["location"] == "/console/login?next=/console/secret"
    done = login(client, "Alice", PASSWORD, next=PAGE)
    assert done.status_code == 303
    assert done.headers["location"] == PAGE
    cookie = next(c for c in done.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/console" in cookie
    assert "Secure" not in cookie  # plain http: a Secure cookie would never come back
    assert client.get(PAGE).text.startswith("hello alice")
    assert store.login_events("alice")[0].remote == "testclient"


def test_cookies_are_secure_over_https(accounts: AccountService) -> None:
    ready_user(accounts, "alice")
    app = tiny_app(ConsoleAuth(accounts, SECRET))
    with open_client(app, base_url="https://testserver") as client:
        form = client.get("/console/login")
        assert "Secure" in form.headers["set-cookie"]
        done = login(client, "alice", PASSWORD)
        assert all("Secure" in c for c in done.headers.get_list("set-cookie"))
        assert client.get(PAGE).status_code == 200


def test_a_wrong_password_and_an_unknown_name_read_the_same(client: TestClient) -> None:
    wrong = login(client, "alice", "wrong password!")
    assert wrong.status_code == 401
    assert "Wrong user name, password or code" in wrong.text
    client.cookies.delete(SESSION_COOKIE)
    nobody = login(client, "nobody", PASSWORD)
    assert nobody.status_code == 401
    assert _error(wrong.text) == _error(nobody.text)


def test_five_failures_lock_the_account(
    client: TestClient, accounts: AccountService, store: RecordStore, clock: Clock
) -> None:
    ready_user(accounts, "alice")
    for _ in range(5):
        assert login(client, "alice", "wrong password!").status_code == 401
    assert login(client, "alice", PASSWORD).status_code == 401  # right, but locked
    assert store.login_events("alice")[0].outcome == "locked"
    clock.advance(minutes=15)
    assert login(client, "alice", PASSWORD).status_code == 303


def test_login_attempts_per_address_are_bounded(accounts: AccountService) -> None:
    ready_user(accounts, "alice")
    limiter = RateLimiter(rate=0.001, burst=2, clock=lambda: 0.0)
    app = tiny_app(ConsoleAuth(accounts, SECRET, login_limit=limiter))
    with open_client(app) as client:
        for _ in range(2):
            assert login(client, "alice", "wrong password!").status_code == 401
        busy = login(client, "alice", PASSWORD)
        assert busy.status_code == 429
        assert "Too many login attempts" in busy.text


def test_a_disabled_user_cannot_log_in_and_disabling_ends_their_session(
    client: TestClient, accounts: AccountService
) -> None:
    ready_user(accounts, "alice")
    assert login(client, "alice", PASSWORD).status_code == 303
    assert client.get(PAGE).status_code == 200
    accounts.disable("alice")
    assert client.get(PAGE).status_code == 303  # back to the login form
    assert login(client, "alice", PASSWORD).status_code == 401


def test_a_one_time_password_asks_for_a_new_one(
    client: TestClient, accounts: AccountService
) -> None:
    issued = accounts.add("alice", "operator")
    first = login(client, "alice", issued.password, next=PAGE)
    assert first.status_code == 200
    assert 'id="login-change"' in first.text
    assert 'name="new"' in first.text
    assert 'value="alice"' in first.text
    assert issued.password not in first.text  # never echoed
    again = {"csrf": _token(first.text), "name": "alice", "password": issued.password}
    differ = client.post(
        "/console/login", data={**again, "new": PASSWORD, "repeat": PASSWORD + "x"}
    )
    assert differ.status_code == 400
    assert "differ" in differ.text
    weak = client.post("/console/login", data={**again, "new": "short", "repeat": "short"})
    assert weak.status_code == 400
    assert "At least 12 characters" in weak.text
    done = client.post(
        "/console/login", data={**again, "new": PASSWORD, "repeat": PASSWORD, "next": PAGE}
    )
    assert done.status_code == 303
    assert done.headers["location"] == PAGE
    assert client.get(PAGE).status_code == 200


def test_the_login_form_refuses_a_missing_or_wrong_csrf_token(
    client: TestClient, accounts: AccountService
) -> None:
    ready_user(accounts, "alice")
    client.get("/console/login")  # the nonce cookie is set
    missing = client.post("/console/login", data={"name": "alice", "password": PASSWORD})
    assert missing.status_code == 403
    wrong = client.post(
        "/console/login", data={"name": "alice", "password": PASSWORD, "csrf": "x" * 43}
    )
    assert wrong.status_code == 403
    assert "The form expired" in wrong.text
    client.cookies.clear()
    token = _token(client.get("/console/login").text)
    client.cookies.clear()  # a token without its nonce cookie (another browser's)
    stolen = client.post(
        "/console/login", data={"name": "alice", "password": PASSWORD, "csrf": token}
    )
    assert stolen.status_code == 403


def test_forms_of_a_session_need_its_csrf_token(
    client: TestClient, accounts: AccountService
) -> None:
    ready_user(accounts, "alice")
    login(client, "alice", PASSWORD)
    token = _csrf(client)
    assert client.post(PAGE + "/act", data={"note": "x"}).status_code == 403
    assert client.post(PAGE + "/act", data={"csrf": _flip(token)}).status_code == 403
    assert client.post(PAGE + "/act", data={"csrf": token}).text == "done by alice"
    assert client.post("/console/logout", data={"note": "x"}).status_code == 403
    client.cookies.clear()
    login(client, "alice", PASSWORD)  # a new session: the old token is no use
    assert client.get(PAGE).status_code == 200
    assert client.post(PAGE + "/act", data={"csrf": token}).status_code == 403


def test_an_idle_session_expires_and_use_keeps_it_alive(
    client: TestClient, accounts: AccountService, clock: Clock
) -> None:
    ready_user(accounts, "alice")
    login(client, "alice", PASSWORD)
    for _ in range(3):
        clock.advance(minutes=14)
        assert client.get(PAGE).status_code == 200
    clock.advance(minutes=15)
    expired = client.get(PAGE + "?x=1")
    assert expired.status_code == 303
    assert expired.headers["location"] == "/console/login?next=/console/secret%3Fx%3D1"
    token = _token(client.get("/console/login").text)  # the form, not a stale redirect
    assert token


def test_logout_ends_the_session_on_the_server(
    client: TestClient, accounts: AccountService
) -> None:
    ready_user(accounts, "alice")
    login(client, "alice", PASSWORD)
    cookie = client.cookies[SESSION_COOKIE]
    out = client.post("/console/logout", data={"csrf": _csrf(client)})
    assert out.status_code == 303
    assert out.headers["location"] == "/console/login?out=1"
    assert client.get("/console/login?out=1").text.count("You are logged out") == 1
    client.cookies.set(SESSION_COOKIE, cookie, path="/console")  # a copy kept elsewhere
    assert client.get(PAGE).status_code == 303


def test_a_tampered_or_forged_cookie_opens_nothing(
    client: TestClient, accounts: AccountService
) -> None:
    ready_user(accounts, "alice")
    login(client, "alice", PASSWORD)
    cookie = client.cookies[SESSION_COOKIE]
    session_id, mac = cookie.split(".")
    flipped = _flip(session_id)
    forged = SessionSigner(b"another site's secret, 32 bytes!").session_cookie(session_id)
    for bad in (f"{flipped}.{mac}", f"{session_id}.{mac[:-2]}", forged, session_id, ""):
        client.cookies.set(SESSION_COOKIE, bad, path="/console")
        assert client.get(PAGE).status_code == 303, bad
    client.cookies.set(SESSION_COOKIE, cookie, path="/console")
    assert client.get(PAGE).status_code == 200


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/console",
        "/\\evil.example",
        "/console\\..\\x",
        "javascript:alert(1)",
        "/console/x\r\nSet-Cookie: a=b",
        "console",
    ],
)
def test_next_goes_nowhere_but_this_site(
    client: TestClient, accounts: AccountService, target: str
) -> None:
    ready_user(accounts, "alice")
    done = login(client, "alice", PASSWORD, next=target)
    assert done.status_code == 303
    assert done.headers["location"] == "/console"


def test_a_role_too_low_is_refused(client: TestClient, accounts: AccountService) -> None:
    ready_user(accounts, "vic", "viewer")
    login(client, "vic", PASSWORD)
    refused = client.get(PAGE)
    assert refused.status_code == 403
    assert "vic is viewer; needs operator" in refused.json()["detail"]


def test_an_e_signature_needs_the_password_again(
    client: TestClient, accounts: AccountService, clock: Clock
) -> None:
    ready_user(accounts, "quinn", "quality")
    login(client, "quinn", PASSWORD)
    signed = client.post("/console/sign", data={"password": PASSWORD})
    assert signed.status_code == 200
    assert signed.json() == {
        "name": "quinn",
        "display_name": "quinn",
        "role": "quality",
        "signed_at": clock.now.isoformat().replace("+00:00", "Z"),
        "meaning": "approved",
    }
    wrong = client.post("/console/sign", data={"password": "wrong password!"})
    assert wrong.status_code == 403
    assert "password: not the user's password" in wrong.json()["detail"]
    enrolment = accounts.enable_totp("quinn")
    no_code = client.post("/console/sign", data={"password": PASSWORD})
    assert no_code.status_code == 403
    assert "totp" in no_code.json()["detail"]
    ok = client.post(
        "/console/sign", data={"password": PASSWORD, "totp": code(enrolment.secret, clock.now)}
    )
    assert ok.status_code == 200


def test_a_totp_user_logs_in_with_the_code(
    client: TestClient, accounts: AccountService, clock: Clock
) -> None:
    ready_user(accounts, "alice")
    secret = accounts.enable_totp("alice").secret
    assert login(client, "alice", PASSWORD).status_code == 401
    now = code(secret, clock.now)
    assert login(client, "alice", PASSWORD, totp=now).status_code == 303
    client.cookies.clear()
    assert login(client, "alice", PASSWORD, totp=now).status_code == 401  # replayed


def test_the_login_form_speaks_chinese(client: TestClient) -> None:
    page = client.get("/console/login?lang=zh-CN")
    assert '<html lang="zh-CN">' in page.text
    assert "<h1>登录</h1>" in page.text
    assert page.headers["cache-control"] == "no-store"


def test_a_short_secret_is_refused(accounts: AccountService) -> None:
    with pytest.raises(ValueError, match="at least 32 random bytes"):
        ConsoleAuth(accounts, b"short")


def test_a_signed_in_visit_to_the_form_goes_on(
    client: TestClient, accounts: AccountService
) -> None:
    ready_user(accounts, "alice")
    login(client, "alice", PASSWORD)
    again = client.get(f"/console/login?next={PAGE}")
    assert again.status_code == 303
    assert again.headers["location"] == PAGE
    assert timedelta(0) < accounts.session_policy.idle
