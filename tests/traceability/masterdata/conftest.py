"""A site (records + ledger on one database, embedded EVM) on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.masterdata import Site, database_url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Site]:
    with database_url(request.param, tmp_path, request) as url:
        opened = Site(url)
        yield opened
        opened.close()
