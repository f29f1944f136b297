"""A records URL the store cannot use is named in the error without its password."""

from __future__ import annotations

import pytest

from traceability.errors import StoreUnavailable
from traceability.records.store import RecordStore


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://tracehub:s3cr3t-pw@db:notaport/records",  # does not parse
        "nosuchdialect://tracehub:s3cr3t-pw@db/records",  # parses, no such driver
    ],
)
def test_the_error_names_the_url_but_not_its_password(url: str) -> None:
    with pytest.raises(StoreUnavailable) as raised:
        RecordStore.open(url)
    assert "s3cr3t-pw" not in str(raised.value)
    assert "tracehub:***@db" in str(raised.value)
