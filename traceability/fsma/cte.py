"""Critical Tracking Events of FSMA 204 (21 CFR 1 Subpart S) and the EPCIS events that are
them; the KDE columns each CTE must fill (pure).

CBV 2.0 names shipping and receiving; a ``TransformationEvent`` is a transformation, and
an ``ObjectEvent`` ``ADD`` with bizStep ``commissioning`` is where a packed lot (its
traceability lot code) comes into being: initial packing. CBV has no step for harvesting,
cooling or first land-based receiving, so those are read from a user vocabulary
(``urn:tracehub:cte:<name>``, any CTE but transformation, which its event type names)
and from GDST's (``urn:gdst:bizstep:farmharvest``, ``…:landing``). Every other event
(arriving, storing, sensor reports) is no CTE.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

Cte = Literal[
    "harvesting",
    "cooling",
    "initial_packing",
    "first_land_based_receiving",
    "shipping",
    "receiving",
    "transformation",
]
CTE_NAMES: dict[Cte, str] = {
    "harvesting": "Harvesting",
    "cooling": "Cooling",
    "initial_packing": "Initial Packing",
    "first_land_based_receiving": "First Land-Based Receiving",
    "shipping": "Shipping",
    "receiving": "Receiving",
    "transformation": "Transformation",
}
OWN_PREFIX = "urn:tracehub:cte:"
# bizStep values of other vocabularies that name a CTE outright.
NAMED_STEPS: dict[str, Cte] = {
    **{OWN_PREFIX + cte: cte for cte in CTE_NAMES if cte != "transformation"},
    "urn:gdst:bizstep:farmharvest": "harvesting",
    "urn:gdst:bizstep:landing": "first_land_based_receiving",
}
# The bizStep values a CTE can have besides a TransformationEvent's (the export's query).
CTE_STEPS: tuple[str, ...] = ("commissioning", "shipping", "receiving", *NAMED_STEPS)
_CBV_PREFIXES = ("https://ref.gs1.org/cbv/BizStep-", "urn:epcglobal:cbv:bizstep:")

# The KDE columns (web.fsmaexport, traceability.fsma.sheet) in order.
TLC = "Traceability Lot Code"
GTIN = "GTIN"
CTE_COLUMN = "Critical Tracking Event"
ROLE = "Lot Role"
DATE = "Date"
TLC_SOURCE = "Traceability Lot Code Source"
PRODUCT = "Product Description"
QUANTITY = "Quantity"
UOM = "Unit of Measure"
LOCATION = "Location Description"
PREVIOUS = "Immediate Previous Source"
SUBSEQUENT = "Immediate Subsequent Recipient"
DOC_TYPE = "Reference Document Type"
DOC_NUMBER = "Reference Document Number"
HARVEST_LOCATION = "Harvest Location Description"
FIELD = "Field or Growing Area"
HARVEST_DATE = "Harvest Date"
COOLING_LOCATION = "Cooling Location Description"
COOLING_DATE = "Cooling Date"
EVENT_TIME = "Event Time"
EVENT_ID = "Event ID"
EPCIS_EVENT = "EPCIS Event"
TRACE = "Trace"
MISSING = "Missing KDEs"
COLUMNS: tuple[str, ...] = (
    TLC,
    GTIN,
    CTE_COLUMN,
    ROLE,
    DATE,
    TLC_SOURCE,
    PRODUCT,
    QUANTITY,
    UOM,
    LOCATION,
    PREVIOUS,
    SUBSEQUENT,
    DOC_TYPE,
    DOC_NUMBER,
    HARVEST_LOCATION,
    FIELD,
    HARVEST_DATE,
    COOLING_LOCATION,
    COOLING_DATE,
    EVENT_TIME,
    EVENT_ID,
    EPCIS_EVENT,
    TRACE,
    MISSING,
)

_COMMON = (PRODUCT, QUANTITY, UOM, LOCATION, DATE, DOC_TYPE, DOC_NUMBER)
# What each CTE's record must hold (§1.1325-§1.1350); a KDE not listed is not asked of it.
REQUIRED: dict[str, tuple[str, ...]] = {
    # TLCs are not required before initial packing; the farm is the harvest's Location
    "harvesting": (*_COMMON, SUBSEQUENT, FIELD),
    "cooling": (*_COMMON, SUBSEQUENT),
    # §1.1330(a): also the harvest and cooling of the food packed (cooling if it was cooled)
    "initial_packing": (
        TLC,
        TLC_SOURCE,
        *_COMMON,
        HARVEST_LOCATION,
        FIELD,
        HARVEST_DATE,
        COOLING_LOCATION,
        COOLING_DATE,
    ),
    # §1.1335: also the harvest date range and location of the catch (ILMD)
    "first_land_based_receiving": (TLC, TLC_SOURCE, *_COMMON, HARVEST_LOCATION, HARVEST_DATE),
    "shipping": (TLC, TLC_SOURCE, *_COMMON, SUBSEQUENT),
    "receiving": (TLC, TLC_SOURCE, *_COMMON, PREVIOUS),
    # §1.1350(a)(1): of each lot used, its TLC, description and quantity
    "transformation input": (TLC, PRODUCT, QUANTITY, UOM),
    "transformation output": (TLC, TLC_SOURCE, *_COMMON),
}
# KDEs a CTE requires that the records have no field for: always named in Missing KDEs.
NOT_HELD: dict[str, tuple[str, ...]] = {
    "initial_packing": (
        "Commodity and Variety Received",
        "Date Received",
        "Quantity Received",
        "Harvester Business Name and Phone",
    ),
}
# The parts of a Location Description (§1.1310) the records never hold, and those they
# may (coordinates stand in for the address); of a Product Description, all but the name.
NO_PHONE = "phone"
NO_ADDRESS = "address or coordinates"
PRODUCT_PARTS = "brand, commodity, variety, pack size and style"
# Optional KDEs: named as "<KDE> (if cooled)" when missing (§1.1330(a)(9)-(10)).
IF_APPLICABLE: dict[str, str] = {COOLING_LOCATION: "if cooled", COOLING_DATE: "if cooled"}
# The CTEs at which a traceability lot code is assigned (§1.1320): its TLC source.
ASSIGNING: frozenset[str] = frozenset(
    {"initial_packing", "first_land_based_receiving", "transformation output"}
)


# The bizStep values of the CTEs that assign a TLC (with a TransformationEvent's outputs),
# and of those that tell where and when a lot was harvested and cooled.
ASSIGNING_STEPS: tuple[str, ...] = (
    "commissioning",
    *(step for step, cte in NAMED_STEPS.items() if cte in ASSIGNING),
)
ORIGIN_STEPS: tuple[str, ...] = tuple(
    step for step, cte in NAMED_STEPS.items() if cte in ("harvesting", "cooling")
)


def step_name(document: Mapping[str, Any]) -> str | None:
    """The event's bizStep as a CBV short name (a user vocabulary's URI unchanged)."""
    step = document.get("bizStep")
    if not isinstance(step, str):
        return None
    for prefix in _CBV_PREFIXES:
        if step.startswith(prefix):
            return step[len(prefix) :]
    return step


def cte_of(document: Mapping[str, Any]) -> Cte | None:
    """The CTE an EPCIS event records, or None (see the module docstring)."""
    if document.get("type") == "TransformationEvent":
        return "transformation"
    step = step_name(document)
    if step is None:
        return None
    if step in NAMED_STEPS:
        return NAMED_STEPS[step]
    if step in ("shipping", "receiving"):
        return "shipping" if step == "shipping" else "receiving"
    if step == "commissioning" and document.get("action") == "ADD":
        return "initial_packing"
    return None


def requirement(cte: Cte, role: str) -> str:
    """The key of ``REQUIRED`` for a row: a transformation's by its lot's role."""
    if cte != "transformation":
        return cte
    return "transformation input" if role == "input" else "transformation output"
