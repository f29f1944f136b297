"""The CBV 2.0 vocabulary check and the string types built on it."""

from __future__ import annotations

import pydantic
import pytest

from gs1.cbv import BizStep, Disposition, Vocabulary, short_name


class Profile(pydantic.BaseModel):
    biz_step: BizStep
    disposition: Disposition


@pytest.mark.parametrize(
    "biz_step",
    [
        "arriving",
        "https://ref.gs1.org/cbv/BizStep-arriving",
        "urn:epcglobal:cbv:bizstep:arriving",
        "https://example.com/voc/unpacking-on-site",
    ],
)
def test_the_types_keep_any_accepted_spelling_as_written(biz_step: str) -> None:
    assert Profile(biz_step=biz_step, disposition="in_progress").biz_step == biz_step


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("biz_step", "Arriving Now", "is not a CBV 2.0 bizStep"),
        ("biz_step", "in_progress", "is not a CBV 2.0 bizStep"),  # a disposition
        ("disposition", "", "is not a CBV 2.0 disposition"),
        ("disposition", "https://ref.gs1.org/cbv/Disp-melted", "'melted' is not a CBV 2.0"),
    ],
)
def test_the_types_reject_what_short_name_rejects(field: str, value: str, reason: str) -> None:
    values = {"biz_step": "arriving", "disposition": "in_progress", field: value}
    with pytest.raises(pydantic.ValidationError, match=reason) as info:
        Profile(**values)
    assert info.value.errors()[0]["loc"] == (field,)
    vocabulary: Vocabulary = "bizStep" if field == "biz_step" else "disposition"
    with pytest.raises(ValueError, match=reason):
        short_name(vocabulary, value)
