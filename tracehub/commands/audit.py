"""``tracehub audit``: the audit trail — list it, export it as CSV, verify it, sign what
the ledger has not taken yet.

Every write made through tracehub (master data, incident steps, API clients, devices,
the site's signing key) is an entry: who (``cli:<OS user>``, an API client, a console
user with their electronic signature), when, what (before and after) and why. The trail
is append-only and hash-chained in the records database and each entry is signed into
the ledger (stream ``audit``; a lot's entries also in the lot's stream, so the lot's
evidence bundle carries them) and anchored with the hub's next batch.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.markup import escape

from ledger.signing import format_instant
from traceability.audit.entry import AuditEntry
from traceability.errors import TraceabilityError
from tracehub.auditing import open_trail
from tracehub.commands.records import records_option
from tracehub.console import Problem, console, err_console
from tracehub.settings import Settings

_TIME = click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S"])


def _filters(command: Any) -> Any:
    """The options that choose entries (``list`` and ``export``)."""
    for option in reversed(
        (
            click.option("--since", type=_TIME, help="Entries at or after (UTC unless given)."),
            click.option("--until", type=_TIME, help="Entries before (UTC unless given)."),
            click.option("--actor", help="Entries by this actor name (an OS user, a client)."),
            click.option("--subject", help="Entries about this key (a GTIN, GTIN/LOT, URN, …)."),
            click.option("--kind", help="Entries about subjects of this kind (product, lot, …)."),
            click.option("--action", help="Entries of this action or under it (e.g. master)."),
        )
    ):
        command = option(command)
    return command


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _chosen(options: dict[str, Any]) -> dict[str, Any]:
    return {
        **options,
        "since": _utc(options.get("since")),
        "until": _utc(options.get("until")),
    }


@click.group()
def audit() -> None:
    """The audit trail: who changed what, when, before and after, and why."""


@audit.command("list")
@_filters
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="The signed records, as JSON lines.")
@records_option
@click.pass_obj
def list_cmd(
    settings: Settings, /, limit: int, as_json: bool, records: str | None, **options: Any
) -> None:
    """The latest entries (newest first) and their ledger state."""
    with open_trail(settings, records) as trail:
        try:
            entries = trail.entries(**_chosen(options), limit=limit, newest_first=True)
            states = trail.ledger_states(entries)
        except TraceabilityError as exc:
            raise Problem(str(exc)) from exc
    if as_json:
        for entry in entries:
            click.echo(json.dumps({**entry.record(), "ledger": states[entry.seq]}))
        return
    if not entries:
        console.print("no audit entries match")
    for entry in entries:
        console.print(_line(entry, states[entry.seq]), highlight=False, soft_wrap=True)


def _line(entry: AuditEntry, state: str) -> str:
    signed = f" signed by {entry.signature.display_name}" if entry.signature else ""
    why = f" — {entry.reason}" if entry.reason else ""
    return escape(
        f"{entry.seq}  {format_instant(entry.at)}  {entry.actor.label}  {entry.action}  "
        f"{entry.subject.kind} {entry.subject.key}{signed}{why}  [{state}]"
    )


@audit.command("export")
@click.option(
    "--csv",
    "path",
    required=True,
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="Where to write the CSV ('-': standard output).",
)
@_filters
@records_option
@click.pass_obj
def export_cmd(settings: Settings, /, path: Path, records: str | None, **options: Any) -> None:
    """Every entry matching (all by default), oldest first, as CSV: before and after as
    canonical JSON, the signature, the hash chain (prev, digest) and the ledger state."""
    with open_trail(settings, records) as trail:
        try:
            if str(path) == "-":
                count = trail.export_csv(sys.stdout, **_chosen(options))
            else:
                with path.open("w", encoding="utf-8", newline="") as out:
                    count = trail.export_csv(out, **_chosen(options))
        except TraceabilityError as exc:
            raise Problem(str(exc)) from exc
    err_console.print(f"exported {count} audit entries to {path}", highlight=False)


@audit.command("verify")
@click.option("--json", "as_json", is_flag=True, help="The report as JSON.")
@records_option
@click.pass_obj
def verify_cmd(settings: Settings, as_json: bool, records: str | None) -> None:
    """Recompute the hash chain over the records and hold each entry against its signed
    ledger record. Exits 1 naming the first entry that was edited, deleted, moved or
    whose signature does not hold; entries not yet signed are listed, not failed."""
    with open_trail(settings, records) as trail:
        report = trail.verify()
    if as_json:
        click.echo(report.model_dump_json(indent=2))
    else:
        console.print(
            f"{report.entries} audit entries: {report.anchored} anchored (tamper-evident), "
            f"{report.signed - report.anchored} signed only (not yet anchored: a deleted "
            f"tail of these goes unseen), {len(report.unsigned)} unsigned (not "
            "tamper-evident yet)",
            highlight=False,
        )
        if report.unsigned:
            listed = ", ".join(str(s) for s in report.unsigned[:20])
            console.print(f"waiting for the ledger (not tampered): {listed}", highlight=False)
        for problem in report.problems:
            console.print(f"[red]FAIL[/red] {escape(problem.describe())}", highlight=False)
    if report.first is not None:
        if not as_json:
            console.print(f"first entry that differs: {report.first.seq}", highlight=False)
        raise SystemExit(1)
    if not as_json:
        console.print("the trail is intact", highlight=False)


@audit.command("sign")
@records_option
@click.pass_obj
def sign_cmd(settings: Settings, records: str | None) -> None:
    """Sign every entry the ledger has not taken yet (the hub does it in its loop)."""
    with open_trail(settings, records) as trail:
        try:
            count = trail.sign_pending()
        except TraceabilityError as exc:
            raise Problem(str(exc)) from exc
    console.print(f"signed {count} audit entries", highlight=False)
