"""A ledger URL the store cannot use is named in the error without its password."""

from __future__ import annotations

import pytest

from ledger.errors import StoreUnavailable
from ledger.store.database import open_engine


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://tracehub:s3cr3t-pw@db:notaport/ledger",  # does not parse
        "nosuchdialect://tracehub:s3cr3t-pw@db/ledger",  # parses, no such driver
    ],
)
def test_the_error_names_the_url_but_not_its_password(url: str) -> None:
    with pytest.raises(StoreUnavailable) as raised:
        open_engine(url)
    assert "s3cr3t-pw" not in str(raised.value)
    assert "tracehub:***@db" in str(raised.value)
