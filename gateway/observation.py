"""TagObservation → EPCIS 2.0 ObjectEvent (JSON object, no @context: the document has it)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict

from gateway.decode import TagObservation
from sensors.fields import SglnUrn, format_timestamp

# CBV values are written in their bare form ("arriving"); a user-defined value must be
# an absolute URI (EPCIS 2.0 JSON-LD rules).
_CBV_TOKEN = re.compile(r"^[a-z][a-z_]*$")
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")


def _cbv_or_uri(value: str) -> str:
    if not (_CBV_TOKEN.fullmatch(value) or _URI.fullmatch(value)):
        raise ValueError(
            f"{value!r} is neither a bare CBV value (like 'arriving') nor an absolute URI"
        )
    return value


CbvValue = Annotated[str, AfterValidator(_cbv_or_uri)]


class ReadPointProfile(BaseModel):
    """What a read at one read point means (CBV 2.0 bizStep and disposition)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    biz_step: CbvValue = "arriving"
    disposition: CbvValue = "in_progress"
    biz_location: SglnUrn | None = None


DEFAULT_PROFILE = ReadPointProfile()


def object_event(
    observation: TagObservation,
    profiles: Mapping[str, ReadPointProfile] | None = None,
    default: ReadPointProfile = DEFAULT_PROFILE,
) -> dict[str, Any]:
    """The OBSERVE ObjectEvent for one tag read; the profile is chosen by read point URN."""
    read = observation.read
    profile = (profiles or {}).get(read.read_point, default)
    event: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventTime": format_timestamp(read.ts),
        "eventTimeZoneOffset": "+00:00",
        "epcList": [observation.epc.urn],
        "action": "OBSERVE",
        "bizStep": profile.biz_step,
        "disposition": profile.disposition,
        "readPoint": {"id": read.read_point},
    }
    if profile.biz_location is not None:
        event["bizLocation"] = {"id": profile.biz_location}
    return event
