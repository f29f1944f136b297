"""``tracehub users``: the operator console's accounts and their roles.

Users live in the records database (``TRACEHUB_RECORDS_URL``), so every web replica sees
the same users, lockouts and disablings at once. ``add`` and ``reset`` print a one-time
password once, on stdout alone; the first login must replace it. Nothing here ever shows
a password hash or a TOTP secret again after ``totp`` printed it.

Each change is an audit entry by ``cli:<OS user>`` (``user.add``, ``user.disable``,
``user.enable``, ``user.reset``, ``user.totp``; subject ``user/NAME``) with ``--reason``
and the account before and after as ``_audited`` keeps it: role, display name, disabled,
locked, TOTP on, must change the password, and that a password or TOTP secret was
replaced, never the password, its hash or the secret (21 CFR 11.10(e): who changed whose
access, when, and why).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar, get_args

import click
from rich.markup import escape

from traceability.accounts.errors import InvalidAccount, UnknownUser, UserExists
from traceability.accounts.service import AccountService
from traceability.records.accounts import Role, User
from traceability.records.store import RecordStore
from tracehub.auditing import reason_option, record_change, trail_for
from tracehub.commands.records import open_records, records_option
from tracehub.console import Problem, console, err_console
from tracehub.settings import Settings

T = TypeVar("T")


def _state(user: User, now: datetime) -> str:
    if user.disabled:
        return "disabled"
    if user.locked(now):
        assert user.locked_until is not None
        return f"locked until {user.locked_until.isoformat()}"
    if user.must_change_password:
        return "one-time password"
    return "active"


def _row(user: User, now: datetime) -> dict[str, Any]:
    """What may be shown of a user: never a hash, nor the TOTP secret."""
    return {
        "name": user.name,
        "display_name": user.display_name,
        "role": user.role,
        "state": _state(user, now),
        "totp": user.totp_enabled,
        "last_login": None if user.last_login_at is None else user.last_login_at.isoformat(),
    }


def _audited(user: User | None, now: datetime, replaced: str | None = None) -> Any:
    """A user as the trail keeps them: the access they hold, never a secret or its hash;
    ``replaced`` names a secret the change replaced (``password``, ``totp_secret``)."""
    if user is None:
        return None
    kept: dict[str, Any] = {
        "role": user.role,
        "display_name": user.display_name,
        "disabled": user.disabled,
        "locked": user.locked(now),
        "totp_enabled": user.totp_enabled,
        "must_change_password": user.must_change_password,
    }
    if replaced is not None:
        kept[replaced] = "replaced"
    return kept


def _accounts(settings: Settings, store: RecordStore) -> AccountService:
    return AccountService(store, issuer=f"tracehub {settings.hub.site}")


def _audited_change(
    settings: Settings,
    records: str | None,
    name: str,
    action: str,
    change: Callable[[AccountService], T],
    reason: str | None,
    replaced: str | None = None,
) -> T:
    """``change`` made to user ``name`` and recorded as ``action``; the trail is opened
    first, so a ledger that cannot be reached refuses the change before it is made. A
    change that changes nothing (disabling a disabled user) is no entry."""
    with open_records(settings, records) as store, trail_for(settings, store, records) as trail:
        accounts = _accounts(settings, store)
        before = _audited(accounts.user(name), accounts.now())
        done = _admin(lambda: change(accounts))
        user = accounts.user(name)
        assert user is not None  # the change found them
        after = _audited(user, accounts.now(), replaced)
        if after != before:
            record_change(trail, action, ("user", user.name), before, after, reason)
    return done


@click.group()
def users() -> None:
    """Operator console users: add, disable, enable, reset, TOTP, list.

    \b
    Roles (each may do what the ones before it may):
      viewer    watch places, incidents, lots, devices
      operator  acknowledge and assess incidents
      quality   dispose of lots (release, quarantine, reject) with an e-signature
      admin     users, devices and master data
    Passwords are at least 12 characters, hashed with Argon2id. Five failed logins
    in a row lock a user for 15 minutes; `tracehub users reset NAME` unlocks them.
    """


@users.command("add")
@click.argument("name")
@click.option(
    "--role", required=True, type=click.Choice(get_args(Role)), help="What the user may do."
)
@click.option("--display-name", help="The name signatures and pages show (default: NAME).")
@records_option
@reason_option
@click.pass_obj
def add(
    settings: Settings,
    name: str,
    role: Role,
    display_name: str | None,
    records: str | None,
    reason: str | None,
) -> None:
    """Add user NAME and print their one-time password once.

    NAME (letters, digits and . _ @ -, up to 64, kept in lower case) is how they log
    in and how login events and signatures name them; it is never reused, even after
    `tracehub users disable`. Give the password to the user: their first login at
    /console/login replaces it with one of their own.

    \b
    tracehub users add alice --role quality --display-name "Alice Smith"
    """
    with open_records(settings, records) as store, trail_for(settings, store, records) as trail:
        accounts = _accounts(settings, store)
        try:
            issued = accounts.add(name, role, display_name)
        except UserExists as exc:
            raise Problem(str(exc)) from exc
        except InvalidAccount as exc:
            raise click.BadParameter(str(exc), param_hint="NAME") from exc
        after = _audited(issued.user, accounts.now())
        record_change(trail, "user.add", ("user", issued.user.name), None, after, reason)
    err_console.print(
        f"user {escape(issued.user.name)} added, role {issued.user.role}. Their one-time "
        "password follows; it is shown only this once: the first login replaces it.",
        highlight=False,
    )
    click.echo(issued.password)  # alone on stdout: `PASS=$(tracehub users add …)` works


@users.command("disable")
@click.argument("name")
@records_option
@reason_option
@click.pass_obj
def disable(settings: Settings, name: str, records: str | None, reason: str | None) -> None:
    """Disable NAME: their sessions end at once and they cannot log in or sign.

    The user and their name stay (login events and signatures keep naming them);
    `tracehub users enable NAME` lets them in again."""
    user = _audited_change(
        settings, records, name, "user.disable", lambda a: a.disable(name), reason
    )
    console.print(f"user {escape(user.name)} disabled; their sessions ended", highlight=False)


@users.command("enable")
@click.argument("name")
@records_option
@reason_option
@click.pass_obj
def enable(settings: Settings, name: str, records: str | None, reason: str | None) -> None:
    """Enable NAME again (after `tracehub users disable`)."""
    user = _audited_change(settings, records, name, "user.enable", lambda a: a.enable(name), reason)
    console.print(f"user {escape(user.name)} enabled", highlight=False)


@users.command("reset")
@click.argument("name")
@records_option
@reason_option
@click.pass_obj
def reset(settings: Settings, name: str, records: str | None, reason: str | None) -> None:
    """Give NAME a new one-time password (printed once); unlocks them.

    Their old password stops working and their sessions end; their TOTP, if any,
    stays (`tracehub users totp NAME` issues a new secret)."""
    issued = _audited_change(
        settings, records, name, "user.reset", lambda a: a.reset(name), reason, "password"
    )
    err_console.print(
        f"user {escape(issued.user.name)} reset: unlocked, sessions ended. Their new "
        "one-time password follows; it is shown only this once.",
        highlight=False,
    )
    click.echo(issued.password)


@users.command("totp")
@click.argument("name")
@records_option
@reason_option
@click.pass_obj
def totp(settings: Settings, name: str, records: str | None, reason: str | None) -> None:
    """Turn on a TOTP second factor for NAME; print its otpauth:// URI and secret.

    Give them to the user (an authenticator app scans the URI as a QR code, e.g.
    `qrencode -t ansiutf8 URI`, or takes the secret typed in): from now on their
    logins and e-signatures need the app's 6-digit code. Running it again replaces
    the secret (a lost phone)."""
    enrolment = _audited_change(
        settings, records, name, "user.totp", lambda a: a.enable_totp(name), reason, "totp_secret"
    )
    err_console.print(
        f"TOTP on for user {escape(enrolment.user.name)} (SHA-1, 30 s, 6 digits). The URI and "
        "the secret follow; store neither anywhere but the user's app.",
        highlight=False,
    )
    click.echo(enrolment.uri)
    click.echo(enrolment.secret)


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the users as JSON.")
@records_option
@click.pass_obj
def list_cmd(settings: Settings, as_json: bool, records: str | None) -> None:
    """List the users: name, role, state, TOTP, last login.

    State is active, one-time password (not logged in since add or reset), locked
    until TIME, or disabled. Never a password hash nor a TOTP secret."""
    with open_records(settings, records) as store:
        accounts = _accounts(settings, store)
        rows = [_row(u, accounts.now()) for u in accounts.users()]
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not rows:
        console.print("no users yet: `tracehub users add NAME --role admin`")
        return
    for row in rows:
        console.print(
            f"{escape(row['name'])}  {row['role']}  {escape(row['state'])}  "
            f"totp {'on' if row['totp'] else 'off'}  last login {row['last_login'] or 'never'}"
            f"  ({escape(row['display_name'])})",
            highlight=False,
            soft_wrap=True,
        )


def _admin(change: Callable[[], T]) -> T:
    try:
        return change()
    except UnknownUser as exc:
        raise Problem(str(exc)) from exc
