"""The EPCIS SimpleEventQuery: parameters parsed and checked (every error names its
parameter), the predicate per parameter on hand-written events, the JSON form."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from gs1.epcis.query import EventQuery, QueryParameterInvalid, parse_query, query_from_json
from gs1.epcis.querymatch import epc_matches, urn_spellings

RECORDED = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SGTIN = "urn:epc:id:sgtin:0614141.107346.2018"
LINK = "https://id.gs1.org/01/10614141073464/21/2018"  # the same instance

EVENT: dict[str, Any] = {
    "type": "ObjectEvent",
    "eventID": "urn:uuid:6a1c1a5e-0000-4000-8000-000000000001",
    "eventTime": "2026-11-22T10:00:00.000+01:00",
    "eventTimeZoneOffset": "+01:00",
    "action": "OBSERVE",
    "epcList": [SGTIN],
    "bizStep": "urn:epcglobal:cbv:bizstep:shipping",
    "disposition": "in_transit",
    "persistentDisposition": {"set": ["completeness_verified"], "unset": ["container_open"]},
    "readPoint": {"id": "urn:epc:id:sgln:0614141.00777.1", "example:door": "7"},
    "bizLocation": {"id": "urn:epc:id:sgln:0614141.00777.0"},
    "quantityList": [
        {"epcClass": "urn:epc:class:lgtin:0614141.107346.LOT9", "quantity": 200, "uom": "KGM"}
    ],
    "bizTransactionList": [{"type": "po", "bizTransaction": "urn:epc:id:gdti:0614141.00001.1"}],
    "sourceList": [{"type": "owning_party", "source": "urn:epc:id:pgln:0614141.00001"}],
    "destinationList": [
        {"type": "https://ref.gs1.org/cbv/SDT-location", "destination": "urn:epc:id:sgln:1.2.0"}
    ],
    "sensorElementList": [
        {
            "sensorMetadata": {
                "time": "2026-11-22T09:00:00Z",
                "startTime": "2026-11-22T08:00:00Z",
                "endTime": "2026-11-22T09:00:00Z",
                "deviceID": "urn:epc:id:giai:4000001.111",
                "bizRules": "https://example.com/rules/1",
                "dataProcessingMethod": "https://example.com/method/1",
            },
            "sensorReport": [
                {
                    "type": "gs1:Temperature",
                    "value": 6.5,
                    "minValue": 2.0,
                    "maxValue": 8.1,
                    "meanValue": 5.0,
                    "sDev": 0.4,
                    "percRank": 50,
                    "percValue": 5.5,
                    "uom": "CEL",
                    "microorganism": "https://www.ncbi.nlm.nih.gov/taxonomy/1126011",
                    "chemicalSubstance": "https://identifiers.org/inchikey:CZMRCDWAGMRECN",
                    "stringValue": "ok",
                    "booleanValue": True,
                    "hexBinaryValue": "F0F0",
                    "uriValue": "https://example.com/u",
                    "example:probe": "p1",
                }
            ],
            "example:calibrated": "2026-01-01",
        }
    ],
    "errorDeclaration": {
        "declarationTime": "2026-11-23T00:00:00Z",
        "reason": "https://ref.gs1.org/cbv/ER-incorrect_data",
        "correctiveEventIDs": ["urn:uuid:corrective-1"],
        "example:by": "auditor",
    },
    "ilmd": {
        "example:bestBefore": "2027-01-31",
        "example:packedAt": "2026-11-20T08:00:00Z",
        "example:lab": {"example:grade": "A"},
    },
    "example:temp": 4,
    "example:note": {"example:origin": "NO", "example:deep": [{"example:level": 3}]},
}
TRANSFORMATION: dict[str, Any] = {
    "type": "TransformationEvent",
    "eventTime": "2026-11-22T10:00:00Z",
    "eventTimeZoneOffset": "+00:00",
    "transformationID": "urn:uuid:t-1",
    "inputEPCList": ["urn:epc:id:sgtin:0614141.107346.1"],
    "outputEPCList": ["urn:epc:id:sgtin:0614141.107347.9"],
    "inputQuantityList": [{"epcClass": "urn:epc:idpat:sgtin:4012345.022222.*", "quantity": 3}],
}
AGGREGATION: dict[str, Any] = {
    "type": "AggregationEvent",
    "eventTime": "2026-11-22T10:00:00Z",
    "eventTimeZoneOffset": "+00:00",
    "action": "ADD",
    "parentID": "urn:epc:id:sscc:0614141.1234567890",
    "childEPCs": [LINK],
}


def matches(params: dict[str, str], event: dict[str, Any] = EVENT, **kw: Any) -> bool:
    return parse_query(params.items()).matches(event, RECORDED, **kw)


# (parameter values that match EVENT, values that do not)
CASES: list[tuple[dict[str, str], dict[str, str]]] = [
    ({"eventType": "AggregationEvent|ObjectEvent"}, {"eventType": "TransactionEvent"}),
    ({"GE_eventTime": "2026-11-22T09:00:00Z"}, {"GE_eventTime": "2026-11-22T09:00:01Z"}),
    ({"LT_eventTime": "2026-11-22T10:00:00+00:00"}, {"LT_eventTime": "2026-11-22T09:00:00Z"}),
    ({"GE_recordTime": "2026-11-22T12:00:00Z"}, {"LT_recordTime": "2026-11-22T12:00:00Z"}),
    ({"EQ_action": "OBSERVE"}, {"EQ_action": "ADD|DELETE"}),
    ({"EQ_bizStep": "shipping"}, {"EQ_bizStep": "receiving"}),
    ({"EQ_bizStep": "https://ref.gs1.org/cbv/BizStep-shipping"}, {"EQ_bizStep": "urn:x:y"}),
    ({"EQ_disposition": "urn:epcglobal:cbv:disp:in_transit"}, {"EQ_disposition": "active"}),
    (
        {"EQ_persistentDisposition_set": "completeness_verified"},
        {"EQ_persistentDisposition_unset": "completeness_verified"},
    ),
    ({"EQ_readPoint": "urn:epc:id:sgln:0614141.00777.1"}, {"EQ_readPoint": "urn:x:1"}),
    ({"EQ_bizLocation": "urn:x:1|urn:epc:id:sgln:0614141.00777.0"}, {"EQ_bizLocation": "urn:x"}),
    ({"MATCH_epc": SGTIN}, {"MATCH_epc": "urn:epc:id:sgtin:0614141.107346.2019"}),
    ({"MATCH_epc": LINK}, {"MATCH_parentID": SGTIN}),
    ({"MATCH_epc": "urn:epc:idpat:sgtin:0614141.107346.*"}, {"MATCH_inputEPC": SGTIN}),
    ({"MATCH_anyEPC": "urn:epc:idpat:sgtin:0614141.*.*"}, {"MATCH_outputEPC": SGTIN}),
    (
        {"MATCH_epcClass": "urn:epc:class:lgtin:0614141.107346.LOT9"},
        {"MATCH_epcClass": "urn:epc:class:lgtin:0614141.107346.LOT8"},
    ),
    (
        {"MATCH_anyEPCClass": "urn:epc:idpat:sgtin:0614141.107346.*"},
        {"MATCH_inputEPCClass": "urn:epc:idpat:sgtin:0614141.107346.*"},
    ),
    ({"EQ_quantity": "100|200"}, {"EQ_quantity": "199"}),
    ({"GT_quantity": "199.5"}, {"GT_quantity": "200"}),
    ({"GE_quantity": "200"}, {"LT_quantity": "200"}),
    ({"LE_quantity": "200"}, {"LE_quantity": "199"}),
    ({"GE_quantity_KGM": "200"}, {"GE_quantity_LBR": "1"}),
    ({"EQ_eventID": "urn:uuid:6a1c1a5e-0000-4000-8000-000000000001"}, {"EQ_eventID": "urn:x"}),
    ({"EXISTS_errorDeclaration": ""}, {"EQ_errorReason": "did_not_occur"}),
    (
        {"GE_errorDeclarationTime": "2026-11-23T00:00:00Z"},
        {"LT_errorDeclarationTime": "2026-11-23T00:00:00Z"},
    ),
    ({"EQ_errorReason": "incorrect_data"}, {"EQ_correctiveEventID": "urn:uuid:corrective-2"}),
    (
        {"EQ_correctiveEventID": "urn:uuid:corrective-1"},
        {"EXISTS_ERROR_DECLARATION_example:to": ""},
    ),
    ({"EXISTS_sensorElementList": ""}, {"GE_time": "2026-11-22T09:00:01Z"}),
    ({"LT_time": "2026-11-22T09:00:01Z"}, {"GE_startTime": "2026-11-22T08:00:01Z"}),
    ({"LT_endTime": "2026-11-22T09:00:01Z"}, {"GE_endTime": "2026-11-22T09:00:01Z"}),
    ({"EQ_type": "Temperature"}, {"EQ_type": "RelativeHumidity"}),
    ({"EQ_deviceID": "urn:epc:id:giai:4000001.111"}, {"EQ_deviceID": "urn:epc:id:giai:4000001.1"}),
    ({"EQ_dataProcessingMethod": "https://example.com/method/1"}, {"EQ_bizRules": "https://x/y"}),
    (
        {"EQ_microorganism": "https://www.ncbi.nlm.nih.gov/taxonomy/1126011"},
        {"EQ_uriValue": "https://x/y"},
    ),
    (
        {"EQ_chemicalSubstance": "https://identifiers.org/inchikey:CZMRCDWAGMRECN"},
        {"EQ_stringValue": "bad"},
    ),
    ({"EQ_bizRules": "https://example.com/rules/1"}, {"EQ_hexBinaryValue": "0F0F"}),
    ({"EQ_stringValue": "ok|fine"}, {"EQ_booleanValue": "false"}),
    ({"EQ_hexBinaryValue": "f0f0"}, {"EQ_value_CEL": "6.4"}),
    ({"EQ_uriValue": "https://example.com/u"}, {"GT_value_CEL": "6.5"}),
    ({"EQ_booleanValue": "true"}, {"GE_value_FAH": "0"}),
    ({"EQ_value_CEL": "6.5|7"}, {"LT_minValue_CEL": "2"}),
    ({"GE_minValue_CEL": "2"}, {"GT_maxValue_CEL": "8.1"}),
    ({"LE_maxValue_CEL": "8.1"}, {"LT_meanValue_CEL": "5"}),
    ({"GE_meanValue_CEL": "5"}, {"GT_sDev_CEL": "0.4"}),
    ({"LE_sDev_CEL": "0.4"}, {"LT_percValue_CEL": "5.5"}),
    ({"GE_percValue_CEL": "5.5"}, {"GT_percRank": "50"}),
    ({"LE_percRank": "50"}, {"LT_percRank": "50"}),
    (
        {"EQ_bizTransaction_po": "urn:epc:id:gdti:0614141.00001.1"},
        {"EQ_bizTransaction_inv": "urn:epc:id:gdti:0614141.00001.1"},
    ),
    (
        {"EQ_source_owning_party": "urn:epc:id:pgln:0614141.00001"},
        {"EQ_source_location": "urn:epc:id:pgln:0614141.00001"},
    ),
    ({"EQ_destination_location": "urn:epc:id:sgln:1.2.0"}, {"EQ_destination_location": "urn:x:2"}),
    ({"EQ_example:temp": "4|5"}, {"EQ_example:temp": "3"}),
    ({"GT_example:temp": "3.5"}, {"GE_example:temp": "4.5"}),
    ({"EXISTS_example:note": ""}, {"EXISTS_example:missing": ""}),
    ({"EQ_INNER_example:origin": "NO"}, {"EQ_example:origin": "NO"}),  # nested, not top level
    ({"GE_INNER_example:level": "3"}, {"GT_INNER_example:level": "3"}),
    ({"EQ_ILMD_example:bestBefore": "2027-01-31"}, {"EQ_ILMD_example:bestBefore": "2027-02-01"}),
    ({"LT_ILMD_example:packedAt": "2026-11-20T08:00:01+00:00"}, {"EXISTS_ILMD_example:grade": ""}),
    ({"EQ_INNER_ILMD_example:grade": "A"}, {"EQ_INNER_ILMD_example:grade": "B"}),
    ({"EQ_ERROR_DECLARATION_example:by": "auditor"}, {"EQ_ERROR_DECLARATION_example:by": "x"}),
    ({"EQ_SENSORREPORT_example:probe": "p1"}, {"EXISTS_SENSORMETADATA_example:probe": ""}),
    ({"EXISTS_SENSORELEMENT_example:calibrated": ""}, {"EQ_SENSORELEMENT_example:calibrated": "x"}),
    ({"EQ_readPoint_example:door": "7"}, {"EQ_bizLocation_example:door": "7"}),
]


@pytest.mark.parametrize(("hit", "miss"), CASES, ids=[next(iter(c[0])) for c in CASES])
def test_each_parameter_matches_what_the_body_says(
    hit: dict[str, str], miss: dict[str, str]
) -> None:
    assert matches(hit)
    assert not matches(miss)


def test_event_id_matches_the_stored_hash_id_too() -> None:
    query = parse_query([("EQ_eventID", "ni:///sha-256;abc?ver=CBV2.0")])
    assert query.matches(EVENT, RECORDED, stored_id="ni:///sha-256;abc?ver=CBV2.0")
    assert not query.matches(EVENT, RECORDED, stored_id="ni:///sha-256;abd?ver=CBV2.0")


def test_with_descendants_follows_the_hierarchy() -> None:
    site = "urn:epc:id:sgln:0614141.00777.9"
    under = {site: ("urn:epc:id:sgln:0614141.00777.1",)}
    query = parse_query([("WD_readPoint", site)])
    assert query.matches(EVENT, RECORDED, lambda urn: under.get(urn, ()))
    assert not query.matches(EVENT, RECORDED)  # no hierarchy: the named location only
    assert parse_query([("WD_bizLocation", "urn:epc:id:sgln:0614141.00777.0")]).matches(
        EVENT, RECORDED
    )


def test_transformation_and_aggregation_lists() -> None:
    assert matches({"EQ_transformationID": "urn:uuid:t-1"}, TRANSFORMATION)
    assert matches({"MATCH_inputEPC": "urn:epc:id:sgtin:0614141.107346.1"}, TRANSFORMATION)
    assert matches({"MATCH_outputEPC": "urn:epc:idpat:sgtin:0614141.107347.*"}, TRANSFORMATION)
    assert matches({"MATCH_inputEPCClass": "urn:epc:idpat:sgtin:4012345.022222.*"}, TRANSFORMATION)
    assert not matches({"MATCH_epc": "urn:epc:id:sgtin:0614141.107346.1"}, TRANSFORMATION)
    assert matches({"MATCH_parentID": "urn:epc:idpat:sscc:0614141.*"}, AGGREGATION)
    assert matches({"MATCH_epc": SGTIN}, AGGREGATION)  # a child written as a Digital Link
    assert not matches({"EQ_bizStep": "shipping"}, AGGREGATION)  # no bizStep at all


def test_epc_matching_across_spellings() -> None:
    assert epc_matches(LINK, SGTIN)
    assert epc_matches(SGTIN, LINK)
    assert epc_matches("urn:epc:idpat:sgtin:0614141.107346.*", LINK)
    assert epc_matches("urn:epc:idpat:sgtin:0614141.*.*", LINK)
    assert not epc_matches("urn:epc:idpat:sgtin:0614142.*.*", LINK)
    assert not epc_matches(
        "urn:epc:idpat:sgtin:0614141.107346.*", "urn:epc:id:sgtin:0614141.107347.1"
    )
    assert epc_matches(
        "urn:epc:idpat:sgtin:0614141.107346.*", "urn:epc:class:lgtin:0614141.107346.L"
    )
    assert SGTIN in (urn_spellings(LINK) or ())


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ([("EQ_bizstep", "shipping")], "EQ_bizstep"),
        ([("eventType", "Thing")], "eventType"),
        ([("GE_eventTime", "2026-11-22")], "GE_eventTime"),
        ([("GE_eventTime", "2026-11-22T10:00:00")], "GE_eventTime"),  # no offset
        ([("LT_eventTime", "0001-01-01T00:00:00+14:00")], "LT_eventTime"),  # no UTC time
        ([("GE_recordTime", "9999-12-31T23:59:59-01:00")], "GE_recordTime"),
        ([("GE_time", "0001-01-01T00:00:00+00:01")], "GE_time"),
        ([("maxEventCount", "\u0663")], "maxEventCount"),  # int() takes this Arabic 3
        ([("maxEventCount", " 3")], "maxEventCount"),
        ([("maxEventCount", "9" * 101)], "maxEventCount"),
        ([("EQ_action", "add")], "EQ_action"),
        ([("EQ_bizStep", "shipped")], "EQ_bizStep"),
        ([("EQ_disposition", "in_transit|")], "EQ_disposition"),
        ([("EQ_readPoint", "dock-1")], "EQ_readPoint"),
        ([("MATCH_epc", "urn:epc:idpat:sgtin:0614141.*.5")], "MATCH_epc"),
        ([("EQ_quantity", "ten")], "EQ_quantity"),
        ([("GT_value_CEL", "warm")], "GT_value_CEL"),
        ([("EQ_minValue_CEL", "1")], "EQ_minValue_CEL"),
        ([("EQ_booleanValue", "yes")], "EQ_booleanValue"),
        ([("EXISTS_errorDeclaration", "false")], "EXISTS_errorDeclaration"),
        ([("EQ_errorReason", "lost")], "EQ_errorReason"),
        ([("GT_example:temp", "warm")], "GT_example:temp"),
        ([("EQ_ATTR_urn:x_y", "1")], "EQ_ATTR_urn:x_y"),
        ([("orderBy", "bizStep")], "orderBy"),
        ([("orderBy", "example:temp")], "orderBy"),
        ([("orderDirection", "down")], "orderDirection"),
        ([("eventCountLimit", "2")], "eventCountLimit"),
        ([("orderBy", "eventTime"), ("eventCountLimit", "0")], "eventCountLimit"),
        ([("maxEventCount", "x")], "maxEventCount"),
        (
            [("orderBy", "eventTime"), ("eventCountLimit", "2"), ("maxEventCount", "3")],
            "eventCountLimit",
        ),
        ([("EQ_action", "ADD"), ("EQ_action", "DELETE")], "EQ_action"),
        ([("perPage", "3")], "perPage"),
    ],
)
def test_a_bad_parameter_names_itself_and_the_fix(
    params: list[tuple[str, str]], named: str
) -> None:
    with pytest.raises(QueryParameterInvalid) as raised:
        parse_query(params)
    assert raised.value.name == named
    assert str(raised.value).startswith(f"{named}: ")
    assert len(raised.value.reason) > 10


def test_unescaped_plus_of_an_offset_is_read_back() -> None:
    # "+01:00" sent without %2B arrives as " 01:00"
    assert matches({"GE_eventTime": "2026-11-22T10:00:00 01:00"})


def test_json_form_round_trips() -> None:
    query = parse_query(
        [
            ("eventType", "ObjectEvent|AggregationEvent"),
            ("GE_eventTime", "2026-11-22T09:00:00Z"),
            ("EQ_quantity", "200"),
            ("GT_quantity", "1.5"),
            ("EXISTS_errorDeclaration", ""),
            ("EQ_booleanValue", "true"),
            ("EQ_example:temp", "4"),
            ("orderBy", "eventTime"),
            ("orderDirection", "DESC"),
            ("eventCountLimit", "3"),
        ]
    )
    as_json = query.to_json()
    assert as_json == {
        "eventType": ["ObjectEvent", "AggregationEvent"],
        "GE_eventTime": "2026-11-22T09:00:00Z",
        "EQ_quantity": [200],
        "GT_quantity": 1.5,
        "EXISTS_errorDeclaration": None,
        "EQ_booleanValue": True,
        "EQ_example:temp": ["4"],
        "orderBy": "eventTime",
        "orderDirection": "DESC",
        "eventCountLimit": 3,
    }
    again = query_from_json(as_json)
    assert again == query
    assert again.order_direction == "DESC"
    assert again.event_count_limit == 3
    assert isinstance(again, EventQuery)


def test_json_queries_take_the_schema_spellings() -> None:
    query = query_from_json(
        {
            "@context": [{"example": "http://ns.example.com/epcis/"}],
            "GE_errorDeclaration_Time": "2026-11-23T00:00:00Z",
            "EQ_bizStep": ["shipping", "receiving"],
            "GE_quantity": 200,
        }
    )
    assert query.matches(EVENT, RECORDED)
    with pytest.raises(QueryParameterInvalid, match=r"EQ_bizStep: .*array"):
        query_from_json({"EQ_bizStep": "shipping|receiving"})
    with pytest.raises(QueryParameterInvalid, match=r"^query: "):
        query_from_json(["EQ_bizStep"])  # type: ignore[arg-type]
