"""The console's master-data import over FakeGate and a real ``MasterData`` with its audit
trail (SQLite records and ledger): a file uploaded as multipart or pasted, each bad row
named and nothing imported; a preview, then the admin's e-signature and the rows written
as theirs, each an audit entry with the signature; an operator and a wrong password
refused; the records' own refusal imports nothing."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from tests.support.consolegate import PASSWORD, FakeGate
from tests.support.consolepages import OPERATOR, FakeTemperatures, console_app
from tests.support.events import GTIN
from tests.support.webapp import NOW, make_client
from traceability.audit.trail import AuditTrail
from traceability.masterdata.service import MasterData
from traceability.records.store import RecordStore
from web.console.masterimport import import_routes
from web.console.render import ConsoleRenderer

if TYPE_CHECKING:
    import httpx
    from starlette.testclient import TestClient

pytestmark = pytest.mark.filterwarnings(
    "ignore:Using `httpx` with `starlette.testclient` is deprecated"
)
ADMIN = {"X-Test-User": "ada:admin"}
CSRF = "csrf-ada"
SALMON, TROUT = "04012345222227", "04012345333336"
GOOD = f"gtin,name,temp_min_c,temp_max_c\n{SALMON},Salmon 500 g,0,4\n{TROUT},Trout 300 g,0,4\n"


class Site:
    def __init__(self, store: RecordStore, tmp_path: Path) -> None:
        self.store = store
        self.ledger = LedgerStore.open(f"sqlite:///{tmp_path / 'ledger.db'}")
        signer = Signer.generate("site:test", datetime(2026, 1, 1, tzinfo=UTC))
        self.trail = AuditTrail(store, self.ledger, signer)
        self.master = MasterData(store, self.ledger, signer, audit=self.trail)
        self.gate = FakeGate()
        self.imported = 0

    def told(self) -> None:
        self.imported += 1


@pytest.fixture
def site(stocked: RecordStore, tmp_path: Path) -> Iterator[Site]:
    found = Site(stocked, tmp_path)
    yield found
    found.ledger.close()


@pytest.fixture
def client(site: Site) -> Iterator[TestClient]:
    routes = import_routes(site.gate, ConsoleRenderer(), site.master, on_imported=site.told)
    app = console_app(
        site.store, FakeTemperatures(), lambda: NOW, gate=site.gate, extra_routes=routes
    )
    with make_client(app) as test_client:
        yield test_client


def upload(
    client: TestClient, text: str, name: str = "p.csv", kind: str = "products", **more: str
) -> httpx.Response:
    files = {"file": (name, text.encode("utf-8"), "text/csv")}
    fields = {"csrf": CSRF, "kind": kind, **more}
    answer: httpx.Response = client.post("/console/import", data=fields, files=files, headers=ADMIN)
    return answer


def confirm_fields(html: str) -> dict[str, str]:
    """The confirming form's hidden fields, as the browser would send them back."""
    form = re.search(r'<form[^>]*id="confirm-form".*?</form>', html, re.S)
    assert form, "no confirming form"
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form[0]))
    text = re.search(r'<textarea name="text" hidden readonly>\n(.*?)</textarea>', form[0], re.S)
    assert text, "the file's text is not carried"
    return {**fields, "text": unescape(text[1])}


def unescape(html: str) -> str:
    import html as markup

    return markup.unescape(html)


def entries(site: Site) -> list[Any]:
    return [e for e in site.trail.entries() if e.action.startswith("master.")]


def test_bad_rows_are_each_named_and_nothing_is_imported(client: TestClient, site: Site) -> None:
    bad = f"gtin,name,temp_max_c,colour\n04012345222228,Salmon,4,red\n{TROUT},,warm,blue\n"
    answer = upload(client, bad)
    assert answer.status_code == 400
    table = re.search(r'<table id="row-errors">.*?</table>', answer.text, re.S)
    assert table, answer.text[:2000]
    rows = re.findall(r'<tr><td class="num">(\d+)</td><td>([\w.]+)</td>', table[0])
    assert ("1", "gtin") in rows
    assert ("1", "colour") in rows  # an unknown column
    assert ("2", "temp_max_c") in rows
    assert 'id="confirm-form"' not in answer.text
    assert 'id="import-form"' in answer.text  # the form again, to send the file corrected
    assert site.store.get_product(TROUT) is None
    assert entries(site) == []


def test_a_signed_import_writes_each_row_as_the_admins_with_the_signature(
    client: TestClient, site: Site
) -> None:
    preview = upload(client, GOOD)
    assert preview.status_code == 200, preview.text[:2000]
    assert "2 products from p.csv, every row valid" in preview.text
    assert "<td>Trout 300 g</td>" in preview.text
    meaning = "approved import of 2 products from p.csv"
    assert f'<blockquote class="meaning" id="meaning" lang="en">{meaning}</blockquote>' in (
        preview.text
    )
    assert site.store.get_product(SALMON) is None  # a preview writes nothing
    fields = confirm_fields(preview.text)
    assert fields["kind"] == "products"
    done = client.post(
        "/console/import/confirm",
        data={**fields, "reason": "ERP sync QA-7", "password": PASSWORD},
        headers=ADMIN,
    )
    assert done.status_code == 200, done.text[:2000]
    assert 'id="imported"' in done.text
    assert "Imported 2 products from p.csv" in done.text
    assert site.imported == 1  # the cached pages are dropped
    salmon = site.store.get_product(SALMON)
    assert salmon is not None
    assert salmon.temp_max_c == 4.0
    (signature,) = site.gate.signatures
    assert signature.meaning == meaning
    created = entries(site)
    assert sorted(e.subject.key for e in created) == [SALMON, TROUT]
    for entry in created:
        assert entry.action == "master.product.create"
        assert (entry.actor.name, entry.actor.kind, entry.actor.role) == ("ada", "user", "admin")
        assert entry.reason == "ERP sync QA-7"
        assert entry.signature is not None
        assert entry.signature.meaning == meaning
        assert entry.signature.signed_at == signature.signed_at


def test_pasted_json_is_imported_too(client: TestClient, site: Site) -> None:
    lots = json.dumps([{"gtin": GTIN, "lot": "L7", "quantity": 5, "expiry": "2026-12-20"}])
    fields = {"csrf": CSRF, "kind": "lots", "text": lots, "name": ""}
    preview = client.post("/console/import", data=fields, headers=ADMIN)  # form-encoded
    assert preview.status_code == 200, preview.text[:2000]
    assert "approved import of 1 lot from pasted" in preview.text
    done = client.post(
        "/console/import/confirm",
        data={**confirm_fields(preview.text), "reason": "late lot", "password": PASSWORD},
        headers=ADMIN,
    )
    assert done.status_code == 200, done.text[:2000]
    (entry,) = entries(site)
    assert (entry.action, entry.lots) == ("master.lot.create", (f"{GTIN}/L7",))


def test_an_operator_is_refused(client: TestClient, site: Site) -> None:
    assert client.get("/console/import", headers=OPERATOR).status_code == 403
    fields = {"csrf": "csrf-li", "kind": "products", "text": GOOD, "name": "p.csv"}
    assert client.post("/console/import", data=fields, headers=OPERATOR).status_code == 403
    signed = {**fields, "reason": "mine", "password": PASSWORD}
    refused = client.post("/console/import/confirm", data=signed, headers=OPERATOR)
    assert refused.status_code == 403
    assert "li is operator; needs admin" in refused.text
    assert site.gate.signatures == []
    assert site.store.get_product(SALMON) is None
    assert entries(site) == []
    assert '<a href="/console/import"' not in client.get("/console", headers=OPERATOR).text
    assert '<a href="/console/import"' in client.get("/console", headers=ADMIN).text


def test_a_wrong_password_or_no_reason_imports_nothing(client: TestClient, site: Site) -> None:
    fields = confirm_fields(upload(client, GOOD).text)
    wrong = client.post(
        "/console/import/confirm",
        data={**fields, "reason": "ERP sync", "password": "guess"},
        headers=ADMIN,
    )
    assert wrong.status_code == 403
    assert 'id="sign-error"' in wrong.text
    assert "not the user&#39;s password" in wrong.text
    assert 'id="confirm-form"' in wrong.text  # asked again, the reason kept
    assert ">ERP sync</textarea>" in wrong.text
    unexplained = client.post(
        "/console/import/confirm", data={**fields, "password": PASSWORD}, headers=ADMIN
    )
    assert unexplained.status_code == 400
    assert "Give the reason for the import" in unexplained.text
    assert site.gate.signatures == []
    assert site.store.get_product(SALMON) is None
    assert entries(site) == []


def test_the_records_refusal_imports_nothing(client: TestClient, site: Site) -> None:
    """Each row is valid on its own; the records refuse a lot of an unknown product."""
    lots = f"gtin,lot,quantity\n{GTIN},L8,5\n{SALMON},L9,5\n"
    preview = upload(client, lots, name="lots.csv", kind="lots")
    assert preview.status_code == 200, preview.text[:2000]
    refused = client.post(
        "/console/import/confirm",
        data={**confirm_fields(preview.text), "reason": "sync", "password": PASSWORD},
        headers=ADMIN,
    )
    assert refused.status_code == 409
    assert "The records refused lots.csv; nothing was imported" in refused.text
    assert SALMON in refused.text
    assert site.store.get_lot(GTIN, "L8") is None
    assert entries(site) == []
    assert site.imported == 0


def test_the_form_needs_its_token_a_kind_and_a_file(client: TestClient) -> None:
    page = client.get("/console/import", headers=ADMIN)
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.text
    assert client.get("/console/import?lang=zh-CN", headers=ADMIN).text.count("导入主数据") >= 1
    assert upload(client, GOOD, csrf="csrf-eve").status_code == 403
    assert upload(client, GOOD, kind="shipments").status_code == 400
    empty = upload(client, "")
    assert empty.status_code == 400
    assert "choose a file, or paste its text" in empty.text
    assert upload(client, "x" * (256 * 1024 + 1)).status_code == 400
