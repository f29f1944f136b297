"""What the commands that write signed records share: the site's ledger and signer, and
the master-data writer whose every version is signed and audited."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ledger.errors import LedgerError
from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from traceability.masterdata.service import MasterData
from traceability.records.store import RecordStore
from tracehub.auditing import cli_author, ledger_url, trail_over
from tracehub.console import Problem
from tracehub.keys import open_keystore, site_signer
from tracehub.settings import Settings


@contextmanager
def site_ledger_of(settings: Settings, records: str | None) -> Iterator[tuple[LedgerStore, Signer]]:
    """The site's ledger and current signer; the ledger is the records database unless
    TRACEHUB_LEDGER_URL names another (as the hub's)."""
    try:
        signer = site_signer(open_keystore(settings), settings)
        ledger = LedgerStore.open(ledger_url(settings, records))
    except LedgerError as exc:
        raise Problem(f"opening the site's ledger: {exc}") from exc
    try:
        yield ledger, signer
    finally:
        ledger.close()


@contextmanager
def master_writer(
    settings: Settings, store: RecordStore, records: str | None, reason: str | None
) -> Iterator[MasterData]:
    """The site's master-data writer: every version it writes is signed by the site and
    is an audit entry by ``cli:<OS user>`` for ``reason``."""
    with site_ledger_of(settings, records) as (ledger, signer):
        audit = trail_over(settings, store, ledger)
        yield MasterData(store, ledger, signer, audit=audit, author=cli_author(reason))
