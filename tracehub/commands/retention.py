"""``tracehub retention``: how long InfluxDB keeps readings, against the compliance period."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import click
from rich.table import Table

from influx.client import InfluxClient
from influx.errors import (
    DatabaseNotFound,
    InfluxError,
    InfluxUnavailable,
    RetentionConflict,
    RetentionUnsupported,
)
from influx.retention import PolicyState, RetentionAdmin, RetentionState
from influx.retentionplan import Policy, RetentionPlan, same_query
from ledger.errors import LedgerError
from ledger.store.sqlstore import LedgerStore
from tracehub.console import Problem, console
from tracehub.retaining import RetentionVerdict, retention_verdict
from tracehub.settings import Settings

_INFLUX = click.option(
    "--influx-url", metavar="URL", help="InfluxDB v1 API (default TRACEHUB_INFLUX_URL)."
)
_DATABASE = click.option("--database", help="InfluxDB database (default TRACEHUB_INFLUX_DATABASE).")
_LEDGER = click.option(
    "--ledger", "ledger_url", metavar="URL", help="Ledger database URL (default: settings)."
)


@click.group()
def retention() -> None:
    """How long InfluxDB keeps readings, held to the compliance period.

    EU GDP, WHO TRS 961 Annex 9 and China GSP want temperature records kept for the
    whole retention period (GSP: at least 5 years), and `tracehub verify` re-derives
    every sealed telemetry window from the raw readings in InfluxDB. So the raw
    readings' policy (the database's DEFAULT, which every reader queries) keeps
    TRACEHUB_RETENTION_RAW_DAYS (default 1827), a longer policy keeps a 15-minute
    mean/min/max/count per probe for long dashboards, and a raw retention shorter than
    TRACEHUB_RETENTION_COMPLIANCE_DAYS, or than the age of the oldest sealed window
    still inside its period, is refused: here and at every hub start.

    \b
    Example:
      tracehub retention show
      TRACEHUB_RETENTION_RAW_DAYS=2557 tracehub retention apply
    """


@retention.command()
@_INFLUX
@_DATABASE
@_LEDGER
@click.option("--json", "as_json", is_flag=True, help="Print it as JSON.")
@click.pass_obj
def show(
    settings: Settings,
    influx_url: str | None,
    database: str | None,
    ledger_url: str | None,
    as_json: bool,
) -> None:
    """Show InfluxDB's policies and continuous queries next to the settings.

    Also the oldest sealed telemetry window inside the compliance period and whether
    the settings would be refused. Example: tracehub retention show --json
    """
    verdict = _verdict(settings, ledger_url)
    with _admin(settings, influx_url, database) as admin:
        try:
            state: RetentionState | None = admin.state()
        except DatabaseNotFound:
            state = None
        except InfluxError as exc:
            raise Problem(f"reading InfluxDB's retention: {exc}") from exc
        name = admin.database
    if as_json:
        click.echo(json.dumps(_as_json(name, verdict, state), indent=2))
        return
    _print(name, verdict, state)


@retention.command()
@_INFLUX
@_DATABASE
@_LEDGER
@click.option("--dry-run", is_flag=True, help="Print the statements, run none.")
@click.pass_obj
def apply(
    settings: Settings,
    influx_url: str | None,
    database: str | None,
    ledger_url: str | None,
    dry_run: bool,
) -> None:
    """Apply the retention settings to InfluxDB now (the hub does at every start).

    Refused, changing nothing, when the raw retention would delete readings the
    compliance period or a sealed telemetry window still needs. Applying twice runs
    nothing the second time. Example: tracehub retention apply --dry-run
    """
    verdict = _verdict(settings, ledger_url)
    if verdict.refusal is not None:
        raise click.ClickException(f"refused: {verdict.refusal}")
    with _admin(settings, influx_url, database) as admin:
        try:
            if dry_run:
                todo = admin.statements(verdict.plan, _state_or_fresh(admin))
            else:
                todo = admin.apply(verdict.plan, create=True)
        except RetentionUnsupported as exc:
            raise click.ClickException(str(exc)) from exc
        except RetentionConflict as exc:
            raise click.ClickException(f"refused: {exc}") from exc
        except InfluxError as exc:
            raise Problem(f"applying the retention: {exc}") from exc
    for statement in todo:
        console.print(statement, soft_wrap=True, highlight=False, markup=False)
    done = "would run" if dry_run else "ran"
    summary = f"{done} {len(todo)} statement(s)" if todo else "nothing to change"
    console.print(f"{admin.database}: {summary}", highlight=False)


def _verdict(settings: Settings, ledger_url: str | None) -> RetentionVerdict:
    try:
        ledger = LedgerStore.open(ledger_url or settings.ledger_url)
    except LedgerError as exc:
        raise Problem(f"opening the ledger: {exc}") from exc
    try:
        return retention_verdict(settings, ledger)
    except LedgerError as exc:
        raise Problem(f"reading the sealed telemetry windows: {exc}") from exc
    finally:
        ledger.close()


@contextmanager
def _admin(
    settings: Settings, influx_url: str | None, database: str | None
) -> Iterator[RetentionAdmin]:
    from tracehub.localstack import local_influx_url

    url = influx_url or settings.influx.url or local_influx_url(settings)
    if url is None:
        raise Problem("no InfluxDB: give --influx-url (or TRACEHUB_INFLUX_URL), or start the hub")
    with InfluxClient(url, database or settings.influx.database) as client:
        try:
            yield RetentionAdmin(client)
        except InfluxUnavailable as exc:
            raise Problem(str(exc)) from exc


def _state_or_fresh(admin: RetentionAdmin) -> RetentionState:
    try:
        return admin.state()
    except DatabaseNotFound:
        # What CREATE DATABASE makes: autogen, the DEFAULT, keeping everything, still empty.
        autogen = PolicyState(
            name="autogen", duration=None, shard_duration=timedelta(days=7), default=True, shards=0
        )
        return RetentionState(policies=(autogen,), queries=())


def _rows(plan: RetentionPlan, state: RetentionState | None) -> list[dict[str, Any]]:
    rows = []
    for role, wanted in (("raw (DEFAULT)", plan.raw), ("rollup", plan.rollup)):
        shown = None if state is None else state.policy(wanted.name)
        ok = shown is not None and shown.duration == wanted.duration
        ok = ok and (shown is not None and (shown.default or role == "rollup"))
        rows.append(
            {
                "role": role,
                "policy": wanted.name,
                "setting": wanted.describe(),
                "influxdb": "missing" if shown is None else _held(shown),
                "matches": ok,
            }
        )
    return rows


def _held(shown: PolicyState) -> str:
    keeps = Policy(name=shown.name, duration=shown.duration).describe()
    flags = " DEFAULT" if shown.default else ""
    shards = "" if shown.shards is None else f", {shown.shards} shard group(s)"
    return f"{keeps}{flags}{shards}"


def _queries(name: str, plan: RetentionPlan, state: RetentionState | None) -> list[dict[str, Any]]:
    out = []
    for cq in plan.downsamples:
        wanted = plan.continuous_query(name, cq)
        shown = None if state is None else state.query(cq.name)
        out.append(
            {
                "name": cq.name,
                "into": f"{plan.rollup.name}.{cq.into}",
                "present": shown is not None,
                "matches": shown is not None and same_query(shown.query, wanted),
                "query": wanted,
            }
        )
    return out


def _as_json(name: str, verdict: RetentionVerdict, state: RetentionState | None) -> dict[str, Any]:
    now = datetime.now(UTC)
    oldest = verdict.oldest
    return {
        "database": name,
        "database_exists": state is not None,
        "policies": _rows(verdict.plan, state),
        "continuous_queries": _queries(name, verdict.plan, state),
        "other_policies": [
            p.name
            for p in (state.policies if state else ())
            if p.name not in (verdict.plan.raw.name, verdict.plan.rollup.name)
        ],
        "compliance_days": verdict.rule.compliance / timedelta(days=1),
        "oldest_sealed_window": None
        if oldest is None
        else {"device": oldest.device, "start": oldest.start.isoformat(), "age_days":
              (now - oldest.start) / timedelta(days=1)},
        "refusal": verdict.refusal,
    }  # fmt: skip


def _print(name: str, verdict: RetentionVerdict, state: RetentionState | None) -> None:
    table = Table(title=f"InfluxDB database {name}" + ("" if state else " (does not exist yet)"))
    for column in ("role", "policy", "setting", "InfluxDB has", ""):
        table.add_column(column)
    for row in _rows(verdict.plan, state):
        mark = "✓" if row["matches"] else "✗ apply"
        table.add_row(row["role"], row["policy"], row["setting"], row["influxdb"], mark)
    console.print(table)
    cqs = Table(title="continuous queries")
    for column in ("name", "into", ""):
        cqs.add_column(column)
    for cq in _queries(name, verdict.plan, state):
        mark = "✓" if cq["matches"] else ("✗ differs" if cq["present"] else "✗ missing")
        cqs.add_row(cq["name"], cq["into"], mark)
    console.print(cqs)
    now = datetime.now(UTC)
    oldest = verdict.oldest
    console.print(
        f"compliance minimum {verdict.rule.compliance / timedelta(days=1):g} days; oldest "
        "sealed telemetry window inside it: "
        + ("none" if oldest is None else oldest.describe(now)),
        highlight=False,
    )
    if verdict.refusal is not None:
        console.print(f"[red]refused:[/red] {verdict.refusal}", highlight=False)
