"""The canonical field order of the EPCIS Event Hash ID pre-hash string (CBV 2.0).

As the reference implementation emits it (its vectors put certificationInfo after the
time zone and parentID before epcList); ``gs1.epcis.hashid`` writes events in this
order and the XML reader (``gs1.epcis.xml``) uses the sensor field lists.
"""

from __future__ import annotations

from collections.abc import Sequence

Order = Sequence[tuple[str, "Order | None"]]

QUANTITY: Order = (("epcClass", None), ("quantity", None), ("uom", None))
SENSOR_METADATA_FIELDS = (
    "time",
    "startTime",
    "endTime",
    "deviceID",
    "deviceMetadata",
    "rawData",
    "dataProcessingMethod",
    "bizRules",
)
SENSOR_METADATA: Order = tuple((name, None) for name in SENSOR_METADATA_FIELDS)
SENSOR_REPORT_FIELDS = (
    "type",
    "exception",
    "deviceID",
    "deviceMetadata",
    "rawData",
    "dataProcessingMethod",
    "time",
    "microorganism",
    "chemicalSubstance",
    "value",
    "component",
    "stringValue",
    "booleanValue",
    "hexBinaryValue",
    "uriValue",
    "minValue",
    "maxValue",
    "meanValue",
    "sDev",
    "percRank",
    "percValue",
    "uom",
    "coordinateReferenceSystem",
)
SENSOR_REPORT: Order = tuple((name, None) for name in SENSOR_REPORT_FIELDS)
# The canonical field order, as the reference implementation emits it (its vectors put
# certificationInfo after the time zone and parentID before epcList).
EVENT_ORDER: Order = (
    ("eventTime", None),
    ("eventTimeZoneOffset", None),
    ("certificationInfo", None),
    ("parentID", None),
    ("epcList", None),
    ("inputEPCList", None),
    ("childEPCs", None),
    ("quantityList", QUANTITY),
    ("childQuantityList", QUANTITY),
    ("inputQuantityList", QUANTITY),
    ("outputEPCList", None),
    ("outputQuantityList", QUANTITY),
    ("action", None),
    ("transformationID", None),
    ("bizStep", None),
    ("disposition", None),
    ("persistentDisposition", (("set", None), ("unset", None))),
    ("readPoint", (("id", None),)),
    ("bizLocation", (("id", None),)),
    ("bizTransactionList", (("type", None), ("bizTransaction", None))),
    ("destinationList", (("type", None), ("destination", None))),
    ("sourceList", (("type", None), ("source", None))),
    ("sensorElementList", (("sensorMetadata", SENSOR_METADATA), ("sensorReport", SENSOR_REPORT))),
)
TAIL_LISTS = frozenset({"bizTransactionList", "destinationList", "sourceList"})
EPC_LISTS = frozenset({"epcList", "inputEPCList", "childEPCs", "outputEPCList"})
QUANTITY_LISTS = frozenset(
    {"quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"}
)
LIST_ITEM = {
    "bizTransactionList": "",
    "destinationList": "",
    "sourceList": "",
    "sensorElementList": "sensorElement",
}
