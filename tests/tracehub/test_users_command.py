"""``tracehub users``: a one-time password printed once and only its hash kept, the list
without secrets, disable/enable/reset/totp; the printed password and code then log in
through the account service over the same records database."""

from __future__ import annotations

import getpass
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from tests.support.accounts import PASSWORD, cheap_hasher, code
from traceability.accounts.errors import LoginRefused, PasswordChangeRequired
from traceability.accounts.service import AccountService
from traceability.records.store import RecordStore
from tracehub.cli import main


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    records = f"sqlite:///{tmp_path / 'records.db'}"
    monkeypatch.setenv("TRACEHUB_RECORDS_URL", records)
    monkeypatch.setenv("TRACEHUB_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("TRACEHUB_SITE", "hamburg")
    return records


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["users", *args], env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def _rows(url: str) -> str:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return str([dict(r) for r in conn.execute(sa.text("SELECT * FROM users")).mappings()])
    finally:
        engine.dispose()


def _everything_but_users(url: str) -> str:
    """Every row of every table but the users' own (where the hashes live), the ledger's
    (the records database here) included."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            tables = sa.inspect(conn).get_table_names()
            return str(
                [
                    [dict(r) for r in conn.execute(sa.text(f'SELECT * FROM "{t}"')).mappings()]
                    for t in tables
                    if t != "users"
                ]
            )
    finally:
        engine.dispose()


def _login(
    url: str, name: str, password: str, totp: str | None = None, new: str | None = None
) -> None:
    store = RecordStore.open(url)
    try:
        AccountService(store, hasher=cheap_hasher()).login(name, password, totp, new_password=new)
    finally:
        store.close()


def test_add_prints_the_one_time_password_once_and_keeps_its_hash(url: str) -> None:
    code_, out, err = _run("add", "Alice", "--role", "quality", "--display-name", "Alice Smith")
    assert code_ == 0, out + err
    password = out.strip()
    assert re.fullmatch(r"([a-z2-9]{5}-){3}[a-z2-9]{5}", password)  # alone on stdout
    assert "shown only this once" in err
    assert "user alice added, role quality" in err
    assert password not in _rows(url)
    assert "$argon2id$" in _rows(url)

    code_, out, _ = _run("list", "--json")
    assert code_ == 0
    (row,) = json.loads(out)
    assert row == {
        "name": "alice",
        "display_name": "Alice Smith",
        "role": "quality",
        "state": "one-time password",
        "totp": False,
        "last_login": None,
    }
    with pytest.raises(PasswordChangeRequired):
        _login(url, "alice", password)
    _login(url, "alice", password, new=PASSWORD)
    code_, out, _ = _run("list")
    assert re.search(r"alice  quality  active  totp off  last login 20\d\d-", out)
    assert "argon2" not in out


def test_disable_enable_and_reset(url: str) -> None:
    _, password, _ = _run("add", "bob", "--role", "operator")
    _login(url, "bob", password.strip(), new=PASSWORD)
    code_, out, _ = _run("disable", "bob")
    assert (code_, "disabled; their sessions ended" in out) == (0, True)
    assert json.loads(_run("list", "--json")[1])[0]["state"] == "disabled"
    with pytest.raises(LoginRefused, match="disabled"):
        _login(url, "bob", PASSWORD)
    assert _run("enable", "bob")[0] == 0
    _login(url, "bob", PASSWORD)
    for _ in range(5):
        with pytest.raises(LoginRefused):
            _login(url, "bob", "wrong password!")
    assert json.loads(_run("list", "--json")[1])[0]["state"].startswith("locked until")
    code_, out, err = _run("reset", "bob")
    assert code_ == 0
    assert "unlocked, sessions ended" in err
    with pytest.raises(LoginRefused):
        _login(url, "bob", PASSWORD)
    _login(url, "bob", out.strip(), new="another fine passphrase")


def test_totp_prints_the_uri_and_the_secret(url: str) -> None:
    _, password, _ = _run("add", "carol", "--role", "admin")
    _login(url, "carol", password.strip(), new=PASSWORD)
    code_, out, err = _run("totp", "carol")
    assert code_ == 0, err
    uri, secret = out.split()
    assert uri == (
        f"otpauth://totp/tracehub%20hamburg:carol?secret={secret}&issuer=tracehub%20hamburg"
        "&algorithm=SHA1&digits=6&period=30"
    )
    assert "store neither anywhere" in err
    assert json.loads(_run("list", "--json")[1])[0]["totp"] is True
    with pytest.raises(LoginRefused):
        _login(url, "carol", PASSWORD)
    _login(url, "carol", PASSWORD, code(secret, datetime.now(UTC)))
    assert secret not in _run("list", "--json")[1]


def test_mistakes_are_named(url: str) -> None:
    code_, out, err = _run("add", "two words", "--role", "viewer")
    assert code_ == 2
    assert "use letters, digits" in out + err
    code_, out, err = _run("add", "dave", "--role", "root")
    assert code_ == 2
    assert "'root' is not one of" in out + err
    assert _run("add", "dave", "--role", "viewer")[0] == 0
    code_, out, err = _run("add", "Dave", "--role", "viewer")
    assert code_ == 2
    assert "the name is taken" in out + err
    for command in ("disable", "enable", "reset", "totp"):
        code_, out, err = _run(command, "nobody")
        assert code_ == 2, command
        assert "no such user" in out + err
    assert _run("list")[0] == 0


def test_an_empty_list_says_how_to_add_one(url: str) -> None:
    code_, out, _ = _run("list")
    assert code_ == 0
    assert "tracehub users add NAME --role admin" in out
    assert json.loads(_run("list", "--json")[1]) == []


def test_help_explains_roles_and_the_one_time_password() -> None:
    result = CliRunner().invoke(main, ["users", "--help"])
    assert "quality   dispose of lots" in result.stdout
    result = CliRunner().invoke(main, ["users", "add", "--help"])
    words = " ".join(result.stdout.split())
    assert "their first login at /console/login replaces it" in words
    assert "viewer|operator|quality|admin" in words


def _entries() -> list[dict[str, Any]]:
    """The trail, oldest first, as ``tracehub audit list --json`` prints it."""
    result = CliRunner().invoke(main, ["audit", "list", "--json", "--limit", "100"])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in reversed(result.stdout.splitlines())]


def test_every_change_is_audited_without_a_secret(url: str) -> None:
    _, password, _ = _run("add", "erin", "--role", "operator", "--reason", "new hire HR-7")
    _login(url, "erin", password.strip(), new=PASSWORD)
    assert _run("disable", "erin", "--reason", "left the team")[0] == 0
    assert _run("disable", "erin")[0] == 0  # disabled already: nothing changed, no entry
    assert _run("enable", "erin")[0] == 0
    _, reset, _ = _run("reset", "erin", "--reason", "forgot it")
    _, enrolled, _ = _run("totp", "erin")
    entries = _entries()
    assert [(e["action"], e["reason"]) for e in entries] == [
        ("user.add", "new hire HR-7"),
        ("user.disable", "left the team"),
        ("user.enable", None),
        ("user.reset", "forgot it"),
        ("user.totp", None),
    ]
    assert {e["subject"]["key"] for e in entries} == {"erin"}
    assert {e["subject"]["kind"] for e in entries} == {"user"}
    assert entries[0]["actor"] == {"name": getpass.getuser(), "kind": "cli", "role": None}
    added, disabled, _enabled, reset_entry, totp_entry = entries
    assert added["before"] is None
    assert added["after"] == {
        "role": "operator",
        "display_name": "erin",
        "disabled": False,
        "locked": False,
        "totp_enabled": False,
        "must_change_password": True,
    }
    assert (disabled["before"]["disabled"], disabled["after"]["disabled"]) == (False, True)
    assert disabled["before"]["must_change_password"] is False  # she set her own since
    assert reset_entry["after"]["must_change_password"] is True
    assert reset_entry["after"]["password"] == "replaced"
    kept = {k: v for k, v in reset_entry["after"].items() if k != "password"}
    assert totp_entry["before"] == kept
    assert totp_entry["after"] == {**kept, "totp_enabled": True, "totp_secret": "replaced"}
    written = json.dumps(entries) + _everything_but_users(url)
    for secret in (password.strip(), reset.strip(), PASSWORD, *enrolled.split()):
        assert secret not in written
    assert "argon2" not in written


def test_a_change_that_cannot_be_audited_is_not_made(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _run("add", "frank", "--role", "viewer")[0] == 0
    monkeypatch.setenv("TRACEHUB_LEDGER_URL", "sqlite:////nonexistent/dir/ledger.db")
    code_, out, err = _run("disable", "frank")
    assert code_ != 0
    assert "opening the site's ledger" in out + err
    monkeypatch.delenv("TRACEHUB_LEDGER_URL")
    assert json.loads(_run("list", "--json")[1])[0]["state"] == "one-time password"
