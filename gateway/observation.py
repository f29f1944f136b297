"""Custody observations → EPCIS 2.0 ObjectEvents (JSON objects, no @context: the document
has it): RFID tag reads and AGV load changes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gateway.decode import TagObservation
from gs1.cbv import BizStep, Disposition
from gs1.identifiers import Sscc
from sensors.agv import AgvState
from sensors.fields import SglnUrn, format_timestamp


class ReadPointProfile(BaseModel):
    """What a read at one read point means (CBV 2.0 bizStep and disposition)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    biz_step: BizStep = "arriving"
    disposition: Disposition = "in_progress"
    biz_location: SglnUrn | None = None


DEFAULT_PROFILE = ReadPointProfile()


def object_event(
    observation: TagObservation,
    read_point: str,
    profiles: Mapping[str, ReadPointProfile] | None = None,
    default: ReadPointProfile = DEFAULT_PROFILE,
) -> dict[str, Any]:
    """The OBSERVE ObjectEvent for one tag read at ``read_point`` (where the registry
    places its reader, never the payload's claim); the profile is chosen by that URN."""
    read = observation.read
    profile = (profiles or {}).get(read_point, default)
    event: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventTime": format_timestamp(read.ts),
        "eventTimeZoneOffset": "+00:00",
        "epcList": [observation.epc.urn],
        "action": "OBSERVE",
        "bizStep": profile.biz_step,
        "disposition": profile.disposition,
        "readPoint": {"id": read_point},
    }
    if profile.biz_location is not None:
        event["bizLocation"] = {"id": profile.biz_location}
    return event


class AgvProfile(BaseModel):
    """What an AGV's load changes mean: where custody is observed (CBV 2.0 values).

    ``read_point``: the SGLN of the AGV (or of the area it serves); left out of the
    event if unset. ``company_prefix_digits``: splits an 18-digit SSCC into the
    company prefix and serial reference of its EPC URN (an SSCC does not say).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    read_point: SglnUrn | None = None
    picked_biz_step: BizStep = "loading"
    picked_disposition: Disposition = "in_transit"
    dropped_biz_step: BizStep = "unloading"
    dropped_disposition: Disposition = "in_progress"
    company_prefix_digits: int = Field(default=7, ge=6, le=12)


DEFAULT_AGV_PROFILE = AgvProfile()


def load_event(
    state: AgvState, sscc: str, picked: bool, profile: AgvProfile = DEFAULT_AGV_PROFILE
) -> dict[str, Any]:
    """The OBSERVE ObjectEvent for a load (an SSCC) picked up or dropped by an AGV."""
    event: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventTime": format_timestamp(state.timestamp),
        "eventTimeZoneOffset": "+00:00",
        "epcList": [Sscc.of(sscc, profile.company_prefix_digits).urn],
        "action": "OBSERVE",
        "bizStep": profile.picked_biz_step if picked else profile.dropped_biz_step,
        "disposition": profile.picked_disposition if picked else profile.dropped_disposition,
    }
    if profile.read_point is not None:
        event["readPoint"] = {"id": profile.read_point}
    return event
