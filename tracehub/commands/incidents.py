"""``tracehub incidents``: list, show, acknowledge, assess, dispose and close incidents.

The actor of a step is the API client whose token is given (``--token`` or
``TRACEHUB_TOKEN``: the local secret until the operator console's identities land):
its name is who acted, its strongest scope the role it acts in (admin, quality,
operator). Each step is signed by the site into the incident's and every affected
lot's ledger stream and anchored with the next batch. An acknowledgement or closing is
told to the notifications' outbox in the records (as the hub would), so escalation
stops; the hub's delivery loop sends the "acknowledged" notes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import click
from rich.markup import escape

from gs1.errors import Gs1Error
from ledger.errors import LedgerError
from ledger.store.sqlstore import LedgerStore
from notify.errors import NotifyError
from traceability.anchoring.feeder import EventLeaves
from traceability.capture import CaptureService
from traceability.errors import TraceabilityError
from traceability.incidents.audited import AuditedIncidentService
from traceability.incidents.model import (
    STATES,
    Actor,
    Disposition,
    Incident,
    IncidentState,
    LotImpact,
    role_of,
)
from traceability.incidents.service import IncidentService
from traceability.notifications.policy import default_policy, load_policy
from traceability.notifications.service import Notifications
from traceability.records.store import RecordStore
from tracehub.auditing import trail_over
from tracehub.commands.records import open_records, records_option
from tracehub.console import Problem, console
from tracehub.settings import Settings
from tracehub.subscribing import subscriptions_for

LIFECYCLE = """\
An alarm opens an incident naming the place, the time span, the peak and the lots
that were there (the recall query). Then, each step signed and anchored:

\b
  open --ack--> acknowledged --assess--> assessed --dispose (per lot)--> disposed --close--> closed

\b
  ack      someone saw it (role operator, quality or admin), with a comment
  assess   the impact per lot: --impact GTIN/LOT=TEXT (your words) and
           --budget-left GTIN/LOT=MINUTES (the stability budget it has left)
  dispose  per lot: --release, --quarantine or --reject, with a reason (role quality
           or admin); the signature means "I approve this disposition", and the lot's
           EPCIS record follows (an ObjectEvent: inspecting/conformant, holding/
           non_sellable_other, inspecting/non_conformant)
  close    once every affected lot is disposed and the excursion has cleared

The hub signs two steps of its own, which keep the state: "cleared" (an alarm of the
incident cleared: the excursion's end and its peak) and "joined" (the alarm came back
while the incident was not closed).

The actor is the client whose token is given (--token or TRACEHUB_TOKEN; issue one
with `tracehub clients add NAME --scope operator`)."""

token_option = click.option(
    "--token",
    envvar="TRACEHUB_TOKEN",
    metavar="TOKEN",
    help="The acting client's token (default: TRACEHUB_TOKEN).",
)
comment_option = click.option("--comment", required=True, help="What you saw or decided.")


@click.group(help=LIFECYCLE)
def incidents() -> None:
    pass


@contextmanager
def _service(settings: Settings, records: str | None) -> Iterator[IncidentService]:
    """The incident service over the records, the ledger and the site's signing key."""
    from tracehub.keys import open_keystore

    with open_records(settings, records) as store:
        try:
            now = datetime.now(UTC)
            signer = open_keystore(settings).signer(f"site:{settings.hub.site}", now)
            ledger = LedgerStore.open(settings.ledger_url if records is None else records)
        except LedgerError as exc:
            raise Problem(str(exc)) from exc
        try:
            hook = subscriptions_for(settings, store).on_stored  # as the hub's captures
            capture = CaptureService(store, ledger=EventLeaves(ledger, signer), on_stored=hook)
            notifications = _notifications(settings, store)
            try:
                yield AuditedIncidentService(
                    store,
                    ledger,
                    signer,
                    notifier=notifications,
                    dispositions=capture,
                    url=settings.public_url,
                    audit=trail_over(settings, store, ledger),  # each step an audit entry
                )
            finally:
                notifications.close()
        finally:
            ledger.close()


def _notifications(settings: Settings, store: RecordStore) -> Notifications:
    """The hub's notifications over the same records (its rule file's ``notify:``, its
    channels: built, not connected), so a step taken here ends escalation as the hub's."""
    alerts = settings.alerts
    path = settings.alarms.file
    try:  # the hub warns about a thin escalation at its start; a command does not repeat it
        policy = (load_policy(path) if path is not None else None) or default_policy(
            email=alerts.smtp_to, phone=alerts.sms_to, webhook=alerts.webhook_url is not None
        )
        return Notifications(store, policy, alerts.channels(), url=settings.public_url)
    except (TraceabilityError, NotifyError) as exc:
        raise Problem(f"notifications: {exc}") from exc


def _actor(store: RecordStore, token: str | None, needs: tuple[str, ...]) -> Actor:
    """The client of ``token`` as an actor; refused naming the scope it lacks."""
    if not token:
        raise Problem("give --token (or set TRACEHUB_TOKEN): the acting client's token")
    client = store.authenticate(token)
    if client is None:
        raise Problem("the token is not a valid client token; see `tracehub clients list`")
    if client.revoked:
        raise Problem(f"client {client.name} is revoked")
    role = role_of(client.scopes)
    if role is None or role not in needs:
        raise Problem(
            f"client {client.name} lacks the scope {' or '.join(needs)} "
            f"(it holds {', '.join(client.scopes)})"
        )
    return Actor(name=client.name, role=role)


def _run(settings: Settings, records: str | None, step: Any) -> Incident:
    with _service(settings, records) as service:
        try:
            return step(service)  # type: ignore[no-any-return]
        except (TraceabilityError, Gs1Error) as exc:
            raise click.ClickException(str(exc)) from exc


def _lot(value: str) -> tuple[str, str]:
    gtin, sep, lot = value.partition("/")
    if not sep or not gtin or not lot:
        raise click.BadParameter(f"{value!r}: give GTIN/LOT, e.g. 04012345111118/L1")
    return gtin, lot


def _line(incident: Incident) -> str:
    place = incident.place_name or incident.location
    return (
        f"{incident.id}  {incident.state:<12}  {incident.raised_at:%Y-%m-%d %H:%M}  "
        f"{escape(place)}  {escape(incident.summary)}"
    )


def _show(incident: Incident, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(incident.to_json(), indent=2, ensure_ascii=False))
        return
    console.print(f"[bold]{incident.id}[/]  {incident.state}")
    console.print(f"  {escape(incident.summary)}")
    console.print(f"  place: {escape(incident.place_name or '')} {incident.location}")
    if incident.ongoing or incident.cleared_at is None:
        end = "still going on"
    else:
        end = incident.cleared_at.isoformat()
    console.print(f"  span:  {incident.started_at.isoformat()} → {end}")
    if incident.peak_c is not None:
        console.print(f"  peak:  {incident.peak_c:g} °C")
    console.print(f"  lots:  {', '.join(incident.lots) or 'none found'}")
    assessed = incident.last("assessed")
    for impact in (assessed.record.get("impacts") or []) if assessed else []:
        found = LotImpact.model_validate(impact)
        said = [f'"{escape(found.impact)}"'] if found.impact else []
        if found.minutes_out is not None:
            said.append(f"{found.minutes_out:g} min out")
        if found.budget_left_min is not None:
            said.append(f"stability budget left {found.budget_left_min:g} min")
        console.print(f"  impact: {found.gtin}/{found.lot}: {'; '.join(said) or '-'}")
    for lot, disposition in incident.dispositions.items():
        console.print(f"  disposed: {lot} {disposition}")
    for step in incident.steps:
        comment = f": {escape(step.comment)}" if step.comment else ""
        console.print(
            f"  {step.seq}. {step.step} by {escape(step.actor)} ({step.role}) "
            f"at {step.at.isoformat()}{comment}"
        )


@incidents.command("list")
@click.option("--state", type=click.Choice(STATES), help="Only incidents in this state.")
@click.option("--limit", type=int, default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@records_option
@click.pass_obj
def list_cmd(
    settings: Settings, state: IncidentState | None, limit: int, as_json: bool, records: str | None
) -> None:
    """Incidents, newest first."""
    with open_records(settings, records) as store:
        found = [Incident.model_validate(i) for i in store.incidents(state, limit)]
    if as_json:
        click.echo(json.dumps([i.to_json() for i in found], indent=2, ensure_ascii=False))
        return
    if not found:
        console.print("no incidents" + (f" {state}" if state else ""))
    for incident in found:
        console.print(_line(incident))


@incidents.command("show")
@click.argument("incident_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@records_option
@click.pass_obj
def show_cmd(settings: Settings, incident_id: str, as_json: bool, records: str | None) -> None:
    """One incident with its steps."""
    with open_records(settings, records) as store:
        found = store.incident(incident_id)
    if found is None:
        raise click.ClickException(f"incident {incident_id}: no such incident")
    _show(Incident.model_validate(found), as_json)


_PEOPLE = ("operator", "quality", "admin")


@incidents.command("ack")
@click.argument("incident_id")
@comment_option
@token_option
@records_option
@click.pass_obj
def ack_cmd(
    settings: Settings, incident_id: str, comment: str, token: str | None, records: str | None
) -> None:
    """Acknowledge an open incident (role operator, quality or admin)."""
    with open_records(settings, records) as store:
        actor = _actor(store, token, _PEOPLE)
    done = _run(settings, records, lambda s: s.acknowledge(incident_id, actor, comment))
    console.print(f"{done.id}: acknowledged by {escape(actor.name)} ({actor.role}); signed")


@incidents.command("assess")
@click.argument("incident_id")
@comment_option
@click.option(
    "--impact",
    "impacts",
    multiple=True,
    metavar="GTIN/LOT=TEXT",
    help="The impact on one lot, in your words (repeat per lot).",
)
@click.option(
    "--budget-left",
    "budgets",
    multiple=True,
    metavar="GTIN/LOT=MINUTES",
    help="The stability budget one lot has left, in minutes (repeat per lot).",
)
@token_option
@records_option
@click.pass_obj
def assess_cmd(
    settings: Settings,
    incident_id: str,
    comment: str,
    impacts: tuple[str, ...],
    budgets: tuple[str, ...],
    token: str | None,
    records: str | None,
) -> None:
    """Record the assessed impact per lot (role operator, quality or admin): your words
    (--impact) and the stability budget left (--budget-left), one or both per lot."""
    parsed = _impacts(impacts, budgets)
    with open_records(settings, records) as store:
        actor = _actor(store, token, _PEOPLE)
    done = _run(settings, records, lambda s: s.assess(incident_id, actor, comment, parsed))
    console.print(f"{done.id}: assessed by {escape(actor.name)} ({actor.role}); signed")


def _impacts(impacts: tuple[str, ...], budgets: tuple[str, ...]) -> list[LotImpact]:
    """``--impact GTIN/LOT=TEXT`` and ``--budget-left GTIN/LOT=MINUTES``, one per lot."""
    fields: dict[tuple[str, str], dict[str, Any]] = {}
    for option, values in (("--impact", impacts), ("--budget-left", budgets)):
        for value in values:
            key, sep, given = value.partition("=")
            if not sep:
                shape = "TEXT" if option == "--impact" else "MINUTES"
                raise click.BadParameter(f"{value!r}: give GTIN/LOT={shape}", param_hint=option)
            lot = fields.setdefault(_lot(key), {})
            if option == "--impact":
                lot["impact"] = given
                continue
            try:
                minutes = float(given)
            except ValueError:
                minutes = -1.0
            if not 0 <= minutes < float("inf"):
                raise click.BadParameter(
                    f"{value!r}: give the minutes left as a number, e.g. {key}=46",
                    param_hint=option,
                )
            lot["budget_left_min"] = minutes
    return [LotImpact(gtin=g, lot=lot, **rest) for (g, lot), rest in fields.items()]


@incidents.command("dispose")
@click.argument("incident_id")
@click.option("--lot", "lot_value", required=True, metavar="GTIN/LOT", help="The lot.")
@click.option("--release", "disposition", flag_value="release", help="Release the lot.")
@click.option("--quarantine", "disposition", flag_value="quarantine", help="Hold the lot.")
@click.option("--reject", "disposition", flag_value="reject", help="Reject the lot.")
@click.option("--reason", required=True, help="Why.")
@token_option
@records_option
@click.pass_obj
def dispose_cmd(
    settings: Settings,
    incident_id: str,
    lot_value: str,
    disposition: Disposition | None,
    reason: str,
    token: str | None,
    records: str | None,
) -> None:
    """Dispose of one affected lot (role quality or admin): "I approve this disposition"."""
    if disposition is None:
        raise click.UsageError("give --release, --quarantine or --reject")
    gtin, lot = _lot(lot_value)
    with open_records(settings, records) as store:
        actor = _actor(store, token, ("quality", "admin"))
    done = _run(
        settings, records, lambda s: s.dispose(incident_id, actor, gtin, lot, disposition, reason)
    )
    console.print(
        f"{done.id}: {gtin}/{lot} {disposition} by {escape(actor.name)} ({actor.role}); signed"
    )


@incidents.command("close")
@click.argument("incident_id")
@comment_option
@token_option
@records_option
@click.pass_obj
def close_cmd(
    settings: Settings, incident_id: str, comment: str, token: str | None, records: str | None
) -> None:
    """Close an incident whose every affected lot is disposed."""
    with open_records(settings, records) as store:
        actor = _actor(store, token, _PEOPLE)
    done = _run(settings, records, lambda s: s.close(incident_id, actor, comment))
    console.print(f"{done.id}: closed by {escape(actor.name)} ({actor.role}); signed")
