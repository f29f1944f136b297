"""``tracehub ledger``: export a lot's evidence bundle, add a lot's own records as
leaves (carbon reports, exposure summaries), adopt event rows captured before they
were signed, rotate the site's signing key."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from gs1.errors import Gs1Error
from ledger.errors import LedgerError
from traceability.errors import TraceabilityError
from tracehub.auditing import open_trail, reason_option, record_change
from tracehub.console import Problem, console
from tracehub.settings import Settings


@click.group()
def ledger() -> None:
    """Evidence bundles and signing keys of the ledger."""


@ledger.command()
@click.option("--gtin", required=True, help="The product's GTIN.")
@click.option("--lot", required=True, help="The lot number.")
@click.option("--records", metavar="URL", help="Records database URL (default: settings).")
@click.option(
    "--ledger", "ledger_url", metavar="URL", help="Ledger database URL (default: settings)."
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True),
    default="-",
    help="Where to write the bundle (default: standard output).",
)
@click.pass_obj
def export(
    settings: Settings,
    gtin: str,
    lot: str,
    records: str | None,
    ledger_url: str | None,
    output: str,
) -> None:
    """Write the lot's evidence bundle (tracehub-evidence/2 JSON), signed by the site.

    Check it anywhere with `tracehub verify BUNDLE` (add --rpc URL to also confirm
    the anchors on chain).
    """
    from ledger.store.sqlstore import LedgerStore
    from traceability.anchoring.bundle import lot_bundle
    from traceability.records.store import RecordStore
    from tracehub.keys import open_keystore

    records_url = records or settings.records_url
    try:
        signer = open_keystore(settings).signer(f"site:{settings.hub.site}", datetime.now(UTC))
        store = RecordStore.open(records_url)
        evidence = LedgerStore.open(ledger_url or (records_url if records else settings.ledger_url))
    except (TraceabilityError, LedgerError) as exc:
        raise Problem(str(exc)) from exc
    from tracehub.commands.verify import page_claims, telemetry_reader
    from tracehub.localstack import local_influx_url

    # the bundle carries what the lot page states now, so verify can recompute it
    influx_url = settings.influx.url or local_influx_url(settings)
    telemetry = telemetry_reader(influx_url, settings.influx.database)
    try:
        bundle = lot_bundle(
            store,
            evidence,
            gtin,
            lot,
            signer,
            confirmations=settings.ledger.confirmations,
            claims=page_claims(store, evidence, telemetry),
        )
    except (TraceabilityError, Gs1Error, LedgerError) as exc:
        raise Problem(str(exc)) from exc
    finally:
        if telemetry is not None:
            telemetry.close()
        evidence.close()
        store.close()
    text = json.dumps(bundle, indent=2, ensure_ascii=False) + "\n"
    if output == "-":
        sys.stdout.write(text)
    else:
        Path(output).write_text(text, encoding="utf-8")
        console.print(
            f"wrote {output}: {len(bundle['items'])} item(s), {len(bundle['batches'])} batch(es)"
        )


@ledger.command()
@click.argument(
    "record_file", metavar="RECORD.json", type=click.Path(dir_okay=False, allow_dash=True)
)
@click.option("--gtin", required=True, help="The product's GTIN.")
@click.option("--lot", required=True, help="The lot number.")
@click.option(
    "--kind",
    default="carbon-report",
    show_default=True,
    help="What the record is: carbon-report, lot-exposure, or another lowercase kind.",
)
@click.option("--id", "record_id", help="Record id (default: sha256 of its canonical JSON).")
@click.option("--ledger", "ledger_url", metavar="URL", help="Ledger database URL.")
@click.pass_obj
def submit(
    settings: Settings,
    record_file: str,
    gtin: str,
    lot: str,
    kind: str,
    record_id: str | None,
    ledger_url: str | None,
) -> None:
    """Make a lot's own JSON record a signed leaf of the lot's hash chain.

    For a carbon-footprint report (`tracehub carbon report --json`) or a lot
    exposure summary: the ledger keeps the record, anchors it with the next
    batch, and the lot's evidence bundle carries it like the lot's events.
    """
    from gs1.identifiers import Gtin
    from ledger.store.sqlstore import LedgerStore
    from traceability.anchoring.feeder import lot_stream, submit_lot_record
    from tracehub.keys import open_keystore

    try:
        text = sys.stdin.read() if record_file == "-" else Path(record_file).read_text("utf-8")
        record = json.loads(text)
    except OSError as exc:
        raise Problem(f"{record_file} cannot be read: {exc.strerror}") from exc
    except ValueError as exc:
        raise Problem(f"{record_file} is not JSON: {exc}") from exc
    if not isinstance(record, dict):
        raise Problem(f"{record_file} must hold one JSON object, not {type(record).__name__}")
    now = datetime.now(UTC)
    try:
        gtin14 = Gtin.parse(gtin).value
        signer = open_keystore(settings).signer(f"site:{settings.hub.site}", now)
        store = LedgerStore.open(ledger_url or settings.ledger_url)
    except (TraceabilityError, Gs1Error, LedgerError) as exc:
        raise Problem(str(exc)) from exc
    try:
        stored = submit_lot_record(store, signer, kind, gtin14, lot, record, record_id, now)
    except LedgerError as exc:
        raise Problem(str(exc)) from exc
    finally:
        store.close()
    link = stored.entry.link(lot_stream(gtin14, lot))
    console.print(
        f"queued {kind} {stored.entry.record_id} as seq {link.seq if link else '?'} of "
        f"{lot_stream(gtin14, lot)} (leaf {stored.leaf_hash.hex()}); it is anchored with "
        "the next batch"
    )


@ledger.command()
@click.option("--gtin", required=True, help="The product's GTIN.")
@click.option("--lot", required=True, help="The lot number.")
@click.option("--records", metavar="URL", help="Records database URL (default: settings).")
@click.option(
    "--ledger", "ledger_url", metavar="URL", help="Ledger database URL (default: settings)."
)
@click.pass_obj
def adopt(
    settings: Settings, gtin: str, lot: str, records: str | None, ledger_url: str | None
) -> None:
    """Sign the lot's event rows that have no capture entry, as a recorded act.

    For events stored before capture signed each event (or by a records-only tool):
    `tracehub verify` fails them as "not captured by this hub". Adopting signs them
    with the site's key together with an `events-adopted` record naming them, how
    many and when, so the evidence shows they were adopted later, not captured live.
    Check the rows first: adopting vouches for them.
    """
    from ledger.store.sqlstore import LedgerStore
    from traceability.anchoring.feeder import adopt_events, lot_stream
    from traceability.records.store import RecordStore
    from tracehub.keys import open_keystore

    records_url = records or settings.records_url
    now = datetime.now(UTC)
    try:
        signer = open_keystore(settings).signer(f"site:{settings.hub.site}", now)
        store = RecordStore.open(records_url)
        evidence = LedgerStore.open(ledger_url or (records_url if records else settings.ledger_url))
    except (TraceabilityError, LedgerError) as exc:
        raise Problem(str(exc)) from exc
    try:
        if store.get_lot(gtin, lot) is None:
            raise Problem(f"lot {lot} of {gtin} is not in the records")
        adoption = adopt_events(store, evidence, signer, gtin, lot, now)
    except (TraceabilityError, Gs1Error, LedgerError) as exc:
        raise Problem(str(exc)) from exc
    finally:
        evidence.close()
        store.close()
    if adoption.record_id is None:
        console.print(f"nothing to adopt: every event of lot {lot} has its capture entry")
        return
    assert adoption.record is not None
    console.print(
        f"adopted {len(adoption.events)} event(s) of lot {lot} into "
        f"{lot_stream(adoption.record['gtin'], lot)} as {adoption.record_id}, signed by "
        f"{signer.key_id} at {adoption.record['adopted_at']}; they are anchored with the "
        "next batch, and `tracehub verify` names them as adopted"
    )


@ledger.command("rotate-key")
@click.option("--ledger", "ledger_url", metavar="URL", help="Ledger database URL.")
@reason_option
@click.pass_obj
def rotate_key(settings: Settings, ledger_url: str | None, reason: str | None) -> None:
    """Close the site's signing key now and start a new one.

    Signatures made before now stay valid under the old key; the old key's
    validity ends now, so anything it signs later is refused.
    """
    from ledger.store.sqlstore import LedgerStore
    from tracehub.keys import open_keystore

    owner = f"site:{settings.hub.site}"
    now = datetime.now(UTC)
    try:
        keys = open_keystore(settings)
        old = keys.signer(owner, now)
        new = keys.rotate(owner, now)
        store = LedgerStore.open(ledger_url or settings.ledger_url)
        try:
            store.close_key(old.key_id, now)
        finally:
            store.close()
    except LedgerError as exc:
        raise Problem(str(exc)) from exc
    with open_trail(settings) as trail:  # signed with the new key
        was, now_ = {"key_id": old.key_id}, {"key_id": new.key_id, "previous": old.key_id}
        record_change(trail, "key.rotate", ("signing-key", owner), was, now_, reason)
    console.print(f"rotated {owner}: {old.key_id} ends now, {new.key_id} signs from now")
