"""``tracehub clients``: a token printed once and only its hash kept, the list without
secrets, revocation; the token then works (and stops working) against the web app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from tests.support.epcis import captured
from tests.support.events import object_event
from tests.support.webapp import app_for, make_client
from tests.traceability.test_capture_document import document
from traceability.records.store import RecordStore
from tracehub.cli import main

pytestmark = pytest.mark.filterwarnings(
    "ignore:Using `httpx` with `starlette.testclient` is deprecated"
)


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    records = f"sqlite:///{tmp_path / 'records.db'}"
    monkeypatch.setenv("TRACEHUB_RECORDS_URL", records)
    monkeypatch.setenv("TRACEHUB_STATE_DIR", str(tmp_path / "state"))
    return records


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["clients", *args], env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def test_add_prints_the_token_once_and_keeps_its_hash(url: str, stocked: RecordStore) -> None:
    code, out, err = _run("add", "erp-1", "--scope", "capture", "--scope", "read")
    assert code == 0, out + err
    token = out.strip()
    assert token.startswith("thc_")
    assert "\n" not in token  # alone on stdout
    assert "shown only this once" in err
    assert "capture, read" in err
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        stored = str([dict(r) for r in conn.execute(sa.text("SELECT * FROM clients")).mappings()])
    engine.dispose()
    assert token not in stored
    assert token.rsplit("_", 1)[-1] not in stored  # nor the secret

    code, out, _ = _run("list", "--json")
    assert code == 0
    (row,) = json.loads(out)
    assert row["name"] == "erp-1"
    assert row["scopes"] == ["capture", "read"]
    assert row["revoked"] is None
    assert set(row) == {"name", "scopes", "created", "revoked"}  # no token, no hash
    assert token not in out

    auth = {"Authorization": f"Bearer {token}"}
    with make_client(app_for(stocked), auth) as client:  # the same records database
        assert captured(client, document(object_event()))["success"]
        code, out, _ = _run("revoke", "erp-1")
        assert code == 0
        assert "revoked at" in out
        refused = client.post("/epcis/capture", json=document(object_event(serial="1002")))
        assert refused.status_code == 401
    code, out, _ = _run("list")
    assert "erp-1" in out
    assert "revoked 20" in out


def test_mistakes_are_named(url: str) -> None:
    code, out, err = _run("add", "two words", "--scope", "read")
    assert code == 2
    assert "use letters, digits" in out + err
    code, out, err = _run("add", "erp-1", "--scope", "write")
    assert code == 2
    assert "'write' is not one of" in out + err
    code, out, err = _run("add", "erp-1")
    assert code == 2
    assert "--scope" in out + err
    assert _run("add", "erp-1", "--scope", "read")[0] == 0
    code, out, err = _run("add", "erp-1", "--scope", "capture")
    assert code == 2
    assert "erp-1: the name is taken" in out + err
    code, out, err = _run("revoke", "nobody")
    assert code == 2
    assert "no such client" in out + err
    code, out, _ = _run("list")
    assert "erp-1  scopes read" in out
