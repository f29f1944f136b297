"""The pages' template filters (``web.renderer``)."""

from __future__ import annotations

import json

from traceability.records.store import RecordStore


def test_script_data_cannot_break_out_of_its_tag(with_events: RecordStore) -> None:
    from web.renderer import script_json

    assert "</script>" not in str(script_json({"a": "</script><b>"}))
    assert json.loads(str(script_json({"a": "</script>&"}))) == {"a": "</script>&"}
