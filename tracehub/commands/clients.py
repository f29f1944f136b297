"""``tracehub clients``: API clients of the hub's web API and their bearer tokens.

A client is whoever calls the API: the gateway when it runs remote, an ERP/WMS
integration, a trading partner, an auditor. Each holds one token with scopes:
``capture`` (``POST /capture``), ``read`` (``GET /events``, ``/lots/…``; open to all
when ``TRACEHUB_WEB_PUBLIC_READ`` is set), ``subscribe`` (named queries and their
subscriptions), ``auditor`` (``/auditor/…``), ``operator`` and ``quality`` (incidents)
and ``admin`` (all of them). Clients live in the records database
(``TRACEHUB_RECORDS_URL``), so every web replica sees them and their revocation at
once; only the SHA-256 of each secret is kept.
"""

from __future__ import annotations

import json
from typing import Any, get_args

import click
from rich.markup import escape

from traceability.errors import RecordConflict, RecordNotFound
from traceability.records.clients import SCOPES, Client, Scope
from tracehub.auditing import reason_option, record_change, trail_for
from tracehub.commands.records import open_records, records_option
from tracehub.console import Problem, console, err_console
from tracehub.settings import Settings


def _row(client: Client) -> dict[str, Any]:
    """What may be shown of a client: never its secret, nor the secret's hash."""
    return {
        "name": client.name,
        "scopes": list(client.scopes),
        "created": client.created_at.isoformat(),
        "revoked": None if client.revoked_at is None else client.revoked_at.isoformat(),
    }


@click.group()
def clients() -> None:
    """API clients: issue, list and revoke bearer tokens with scopes.

    \b
    Scopes:
      capture    POST /capture (the event's receipt names the client)
      read       GET /events, /lots/... (open when TRACEHUB_WEB_PUBLIC_READ=true)
      subscribe  POST /queries, /queries/NAME/subscriptions (webhooks, WebSocket)
      auditor    GET /auditor/lots/...
      operator   acknowledge and assess incidents
      quality    dispose of a lot after an incident
      admin      every scope
    Clients send 'Authorization: Bearer <token>'.
    """


@clients.command("add")
@click.argument("name")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice(get_args(Scope)),
    help="What the client may do (repeatable): " + ", ".join(SCOPES) + ".",
)
@records_option
@reason_option
@click.pass_obj
def add(
    settings: Settings,
    name: str,
    scopes: tuple[Scope, ...],
    records: str | None,
    reason: str | None,
) -> None:
    """Issue a client NAME with a new token, printed once.

    NAME (letters, digits and . _ : @ -, up to 64) is what capture receipts and
    `tracehub verify` name as the sender of the events the client captures; a
    name is never reused, even after `tracehub clients revoke`.

    \b
    tracehub clients add erp-1 --scope capture --scope read
    """
    with open_records(settings, records) as store, trail_for(settings, store, records) as trail:
        try:
            issued = store.add_client(name, scopes)
        except RecordConflict as exc:
            raise Problem(str(exc)) from exc
        except ValueError as exc:  # pydantic: the name or the scopes
            raise click.BadParameter(_first_error(exc), param_hint="NAME") from exc
        client = issued.client
        record_change(trail, "client.add", ("client", client.name), None, _row(client), reason)
    err_console.print(
        f"client {escape(client.name)} added, scopes: {', '.join(client.scopes)}. Its token "
        "follows; it is shown only this once (the hub keeps its hash): store it now.",
        highlight=False,
    )
    click.echo(issued.token)  # alone on stdout, so `TOKEN=$(tracehub clients add …)` works


@clients.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the clients as JSON.")
@records_option
@click.pass_obj
def list_cmd(settings: Settings, as_json: bool, records: str | None) -> None:
    """List the clients: name, scopes, created, revoked.

    Never a token, nor its hash: a lost token cannot be shown again; revoke it and
    add a client with a new name."""
    with open_records(settings, records) as store:
        found = store.clients()
    rows = [_row(c) for c in found]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        console.print("no clients yet: `tracehub clients add NAME --scope capture`")
        return
    for row in rows:
        state = f"revoked {row['revoked']}" if row["revoked"] else "active"
        console.print(
            f"{escape(row['name'])}  scopes {','.join(row['scopes'])}  "
            f"created {row['created']}  {state}",
            highlight=False,
            soft_wrap=True,
        )


@clients.command("revoke")
@click.argument("name")
@records_option
@reason_option
@click.pass_obj
def revoke(settings: Settings, name: str, records: str | None, reason: str | None) -> None:
    """Revoke NAME's token at once.

    Every web replica answers it 401 from its next request (they read the same
    records database). The name stays taken."""
    with open_records(settings, records) as store, trail_for(settings, store, records) as trail:
        before = store.client(name)
        try:
            client = store.revoke_client(name)
        except RecordNotFound as exc:
            raise Problem(str(exc)) from exc
        if before is not None and before.revoked_at is None:  # revoked now, not before
            change = ("client", name), _row(before), _row(client)
            record_change(trail, "client.revoke", *change, reason)
    assert client.revoked_at is not None
    console.print(
        f"client {escape(client.name)} revoked at {client.revoked_at.isoformat()}; its token "
        "now gets 401",
        highlight=False,
    )


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "value"
        if where == "name":
            return (
                f"{first.get('input')!r}: use letters, digits and . _ : @ - (up to 64), "
                "starting with a letter or digit"
            )
        return f"{where}: {first.get('msg')}"
    return str(exc)
