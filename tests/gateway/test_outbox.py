from __future__ import annotations

from pathlib import Path

import pytest

from gateway.errors import CaptureRejected
from gateway.outbox import OutboxCapture

EVENT = {"type": "ObjectEvent", "eventTime": "2026-11-22T10:00:00.000Z", "epcList": ["urn:x"]}


def test_an_event_is_stored_once_under_its_content_id(tmp_path: Path) -> None:
    outbox = OutboxCapture(tmp_path / "outbox.sqlite3")
    first = outbox.capture(EVENT)
    assert first == outbox.capture(dict(reversed(list(EVENT.items()))))
    assert first.startswith("sha256:")
    assert len(first) == 7 + 64
    assert outbox.events() == [EVENT]
    with pytest.raises(CaptureRejected, match="nan is not allowed"):
        outbox.capture({"bad": float("nan")})
    outbox.close()
