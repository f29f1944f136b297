"""The audit trail as the commands use it: who runs them (the OS user), ``--reason``, and
the trail over the site's records, ledger and key.

A command that changes something opens the trail first (a database it cannot reach
refuses the change before it is made), makes the change, then records it
(``record_change``); an entry that cannot be recorded after the change is a ``Problem``
saying the change stands without its entry. Commands run as ``cli:<OS user>``: their
identity is the operating system's, not an electronic signature. ``device_json`` is a
device registration as the trail keeps it (the CLI's and the console's device changes).
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click

from ledger.errors import LedgerError
from ledger.store.sqlstore import LedgerStore
from traceability.audit.entry import AuditActor, AuditEntry, AuditSubject
from traceability.audit.port import Authorship
from traceability.audit.trail import AuditTrail
from traceability.errors import TraceabilityError
from traceability.records.store import RecordStore
from tracehub.console import Problem
from tracehub.keys import open_keystore, site_keys, site_signer
from tracehub.settings import Settings

reason_option = click.option(
    "--reason", metavar="TEXT", help="Why: kept in the audit trail with who and when."
)


def os_user() -> str:
    """Who runs the command, as the OS says (``cli:<user>`` in receipts and the trail)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (a bare container)
        return f"uid-{os.getuid()}"


def cli_actor() -> AuditActor:
    return AuditActor(name=os_user(), kind="cli")


def cli_author(reason: str | None) -> Authorship:
    return Authorship(actor=cli_actor(), reason=reason)


def ledger_url(settings: Settings, records: str | None) -> str:
    """The ledger is the records database unless TRACEHUB_LEDGER_URL names another."""
    return settings.ledger.url or records or settings.records_url


def trail_over(settings: Settings, store: RecordStore, ledger: LedgerStore) -> AuditTrail:
    """The trail over an opened records store and ledger, signed by the site's key."""
    try:
        keys = open_keystore(settings)
        signer = site_signer(keys, settings)
    except LedgerError as exc:
        raise Problem(f"opening the site's signing key: {exc}") from exc
    return AuditTrail(
        store,
        ledger,
        signer,
        renew=lambda: site_signer(keys, settings),
        trusted=lambda: site_keys(keys, settings),
    )


@contextmanager
def trail_for(settings: Settings, store: RecordStore, records: str | None) -> Iterator[AuditTrail]:
    """The trail over an opened records store and the site's ledger (opened here and
    closed after use); a ledger or key that cannot be opened is a ``Problem``."""
    try:
        ledger = LedgerStore.open(ledger_url(settings, records))
    except LedgerError as exc:
        raise Problem(f"opening the site's ledger: {exc}") from exc
    try:
        yield trail_over(settings, store, ledger)
    finally:
        ledger.close()


@contextmanager
def open_trail(settings: Settings, records: str | None = None) -> Iterator[AuditTrail]:
    """The trail over the records of ``--records`` (or the settings') and the site's
    ledger, closed after use; what cannot be opened is a ``Problem``."""
    settings.hub.state_dir.mkdir(parents=True, exist_ok=True)  # the default records' home
    try:
        store = RecordStore.open(records or settings.records_url)
    except TraceabilityError as exc:
        raise Problem(str(exc)) from exc
    try:
        with trail_for(settings, store, records) as trail:
            yield trail
    finally:
        store.close()


def record_change(
    trail: AuditTrail,
    action: str,
    subject: tuple[str, str],
    before: Any,
    after: Any,
    reason: str | None,
    lots: Sequence[str] = (),
) -> AuditEntry:
    """Record a change the command made, as ``cli:<OS user>``; ``subject`` is (kind, key)."""
    kind, key = subject
    try:
        return trail.record(
            cli_actor(), action, AuditSubject(kind=kind, key=key), before, after, reason,
            lots=lots,
        )  # fmt: skip
    except TraceabilityError as exc:
        raise Problem(
            f"{action} {key} is done, but its audit entry could not be recorded: {exc}"
        ) from exc


def device_json(record: Any, other: Any) -> dict[str, Any] | None:
    """A registration as the trail keeps it: without the password hash (``"password":
    "replaced"`` when it differs from ``other``'s), certificate serials as text."""
    if record is None:
        return None
    data: dict[str, Any] = _exact(record.model_dump(mode="json", exclude={"password_hash"}))
    if other is not None and other.password_hash != record.password_hash:
        data["password"] = "replaced"
    return data


def _exact(value: Any) -> Any:
    """``value`` with each integer JSON numbers cannot hold exactly (a certificate's
    160-bit serial) as its decimal text."""
    if isinstance(value, dict):
        return {k: _exact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_exact(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
        return str(value)
    return value
