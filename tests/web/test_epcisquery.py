"""GET /events per the EPCIS 2.0 REST binding, over the real app and a seeded repository.

Written from the binding's OpenAPI (components.parameters) and the standard's query
parameter table: each parameter is sent to ``/events`` and the result set compared
exactly with a plain Python filter over the seed (not ``EventQuery.matches``). The seed
is a few hundred varied events (all five types, actions, bizSteps in every spelling,
dispositions, a location hierarchy, quantities, sensor data, error declarations,
extensions) captured through ``CaptureService``. Paging walks ``Link`` headers and
returns every event once. Run on SQLite and once on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pytest

from gs1.epcis.event import declared_id
from tests.support.masterdata import database_url
from tests.support.webapp import bearer
from traceability.capture import CaptureService
from traceability.records.locations import Location
from traceability.records.store import RecordStore
from web.app import create_app

if TYPE_CHECKING:
    from starlette.testclient import TestClient

pytestmark = pytest.mark.filterwarnings(
    "ignore:Using `httpx` with `starlette.testclient` is deprecated"
)

Event = dict[str, Any]
T0 = datetime(2026, 10, 1, 6, 0, tzinfo=UTC)
N = 300
SITE = "urn:epc:id:sgln:4012345.00010.0"
ROOM_A = "urn:epc:id:sgln:4012345.00010.1"
ROOM_B = "urn:epc:id:sgln:4012345.00010.2"
SHELF = "urn:epc:id:sgln:4012345.00010.11"  # in ROOM_A
OTHER = "urn:epc:id:sgln:4012345.00020.0"
DOCK = "urn:epc:id:sgln:4012345.00020.5"  # in OTHER
PLACES = [SITE, ROOM_A, ROOM_B, SHELF, OTHER, DOCK]
PARENTS = {ROOM_A: SITE, ROOM_B: SITE, SHELF: ROOM_A, DOCK: OTHER}
CUSTOM_STEP = "https://ns.example.com/voc/bizstep/cleaning"
STEPS = [
    "receiving",
    "shipping",
    "storing",
    "inspecting",
    "sensor_reporting",
    "https://ref.gs1.org/cbv/BizStep-shipping",
    CUSTOM_STEP,
]
DISPOSITIONS = ["in_progress", "in_transit", "https://ref.gs1.org/cbv/Disp-active", "damaged"]
TYPES = ["ObjectEvent"] * 6 + [
    "AggregationEvent",
    "TransactionEvent",
    "TransformationEvent",
    "AssociationEvent",
]
CONTEXT = [
    "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
    {"example": "http://ns.example.com/epcis/"},
]


def _time(i: int) -> str:
    moment = T0 + timedelta(minutes=37 * i)
    if i % 4 == 1:  # some in another offset: the query compares instants
        return moment.astimezone(timezone(timedelta(hours=2))).isoformat()
    return moment.isoformat().replace("+00:00", "Z")


def _sgtin(i: int) -> str:
    item = "011111" if i % 2 else "022222"
    return f"urn:epc:id:sgtin:4012345.{item}.{1000 + i}"


def seed_event(i: int) -> Event:
    """Event ``i`` of the seed (deterministic)."""
    kind = TYPES[i % 10]
    event: Event = {
        "type": kind,
        "eventTime": _time(i),
        "eventTimeZoneOffset": "+02:00" if i % 4 == 1 else "+00:00",
    }
    if i % 10 != 9:
        event["eventID"] = f"urn:uuid:00000000-0000-4000-8000-{i:012d}"
    if kind != "TransformationEvent":
        event["action"] = ["ADD", "OBSERVE", "DELETE"][i % 3]
    if kind == "ObjectEvent":
        epc = _sgtin(i)
        if i % 13 == 0:  # written as a Digital Link
            epc = f"https://id.gs1.org/01/04012345111118/21/{1000 + i}"
        event["epcList"] = [epc]
    elif kind == "AggregationEvent":
        event["parentID"] = f"urn:epc:id:sscc:4012345.{i:010d}"
        event["childEPCs"] = [_sgtin(i), _sgtin(i + 1)]
    elif kind == "TransactionEvent":
        event["epcList"] = [_sgtin(i)]
        event["bizTransactionList"] = [
            {"type": "po", "bizTransaction": f"urn:epc:id:gdti:4012345.00001.{i % 4}"}
        ]
    elif kind == "TransformationEvent":
        event["inputEPCList"] = [_sgtin(i)]
        event["outputEPCList"] = [f"urn:epc:id:sgtin:4012345.033333.{i}"]
        event["inputQuantityList"] = [
            {"epcClass": f"urn:epc:class:lgtin:4012345.044444.L{i % 3}", "quantity": 10 + i % 5}
        ]
        event["transformationID"] = f"urn:uuid:11111111-0000-4000-8000-{i % 3:012d}"
    else:
        event["parentID"] = f"urn:epc:id:grai:4012345.55555.{i}"
        event["childEPCs"] = [_sgtin(i)]
    if i % 11 != 0:
        event["bizStep"] = STEPS[i % 7]
    if i % 5 != 4:
        event["disposition"] = DISPOSITIONS[i % 5]
    event["readPoint"] = {"id": PLACES[i % 6]}
    if i % 4 != 0:
        event["bizLocation"] = {"id": PLACES[(i * 7 + 2) % 6]}
    if kind == "ObjectEvent" and i % 4 == 1:
        element: Event = {
            "epcClass": f"urn:epc:class:lgtin:4012345.011111.L{i % 3}",
            "quantity": (i % 10) + 0.5,
        }
        if i % 8 == 1:
            element["uom"] = "KGM"
        event["quantityList"] = [element]
    if i % 5 == 2:
        reports: list[Event] = [
            {"type": "Temperature", "value": float(i % 17) - 4.0, "uom": "CEL"},
            {"type": "RelativeHumidity", "value": float(40 + i % 30), "uom": "P1"},
        ]
        if i % 3 == 0:
            reports.append({"type": "gs1:Temperature", "stringValue": f"S{i % 3}"})
        if i % 3 == 1:
            reports.append({"type": "Temperature", "booleanValue": i % 2 == 0})
        event["sensorElementList"] = [
            {
                "sensorMetadata": {
                    "time": _time(i),
                    "deviceID": f"urn:epc:id:giai:4012345.{i % 3}",
                },
                "sensorReport": reports,
            }
        ]
    if i % 23 == 5:
        event["errorDeclaration"] = {
            "declarationTime": (T0 + timedelta(days=20, hours=i)).isoformat(),
            "reason": "incorrect_data" if i % 2 else "https://ref.gs1.org/cbv/ER-did_not_occur",
            "correctiveEventIDs": [f"urn:uuid:22222222-0000-4000-8000-{i % 2:012d}"],
        }
    if i % 2 == 0:
        event["example:grade"] = ["A", "B", "C"][i % 3]
    if i % 3 == 0:
        event["example:temp"] = i % 9
    if i % 7 == 0:
        event["example:info"] = {"example:origin": ["NO", "CL"][i % 2]}
    if kind == "ObjectEvent" and event.get("action") == "ADD" and i % 2 == 0:
        event["ilmd"] = {"example:bestBefore": f"2027-01-{1 + i % 28:02d}"}
    if i % 6 == 3:
        event["sourceList"] = [{"type": "owning_party", "source": "urn:epc:id:pgln:4012345.00001"}]
        event["destinationList"] = [
            {"type": "https://ref.gs1.org/cbv/SDT-location", "destination": OTHER}
        ]
    if i % 8 == 4:
        event["persistentDisposition"] = {
            "set": ["completeness_verified"],
            "unset": ["completeness_inferred"],
        }
    return event


SEED = [seed_event(i) for i in range(N)]


def _document(events: list[Event]) -> Event:
    return {
        "@context": CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-11-22T11:00:00Z",
        "epcisBody": {"eventList": events},
    }


def _seed(store: RecordStore) -> list[str]:
    """Capture the seed in batches (several record times); the id of each seed event."""
    for urn in PLACES:
        store.add_location(
            Location(
                urn=urn,
                name=urn[-8:],
                kind="site" if urn not in PARENTS else "cold_room",
                parent=PARENTS.get(urn),
            )
        )
    service = CaptureService(store)
    ids: list[str] = []
    for start in range(0, N, 60):
        report = service.capture_document(_document(SEED[start : start + 60]))
        assert report.ok, report.errors
        ids.extend(outcome.event_id for outcome in report.captured)
    # A result's eventID: the sender's, else the hash ID (a declaration's without the
    # suffix it is stored under beside the event it corrects).
    return [
        str(e.get("eventID", declared_id(hash_id))) for e, hash_id in zip(SEED, ids, strict=True)
    ]


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)]
)
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient, list[str]]]:
    from starlette.testclient import TestClient

    path: Path = tmp_path_factory.mktemp("epcisquery")
    with database_url(request.param, path, request) as url:
        store = RecordStore.open(url)
        try:
            ids = _seed(store)
            client = TestClient(create_app(store, None, "test chain"))
            client.headers.update(bearer(store, "read"))
            yield client, ids
        finally:
            store.close()


def _all(client: TestClient, params: dict[str, str], path: str = "/events") -> list[Event]:
    """Every result of a query, following ``Link`` headers (each page checked)."""
    found: list[Event] = []
    url: str | None = path
    query: dict[str, str] | None = {"perPage": "1000", **params}
    pages = 0
    while url is not None:
        response = client.get(url, params=query)
        assert response.status_code == 200, response.text
        assert response.headers["GS1-EPCIS-Version"] == "2.0.0"
        assert response.headers["GS1-CBV-Version"] == "2.0.0"
        body = response.json()
        assert body["type"] == "EPCISQueryDocument"
        found.extend(body["epcisBody"]["queryResults"]["resultsBody"]["eventList"])
        link = response.headers.get("Link")
        url = link[1 : link.index(">")] if link else None
        query = None
        pages += 1
        assert pages < 200
    return found


def _ids(client: TestClient, params: dict[str, str], path: str = "/events") -> set[str]:
    return {e["eventID"] for e in _all(client, params, path)}


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _bare(value: Any) -> Any:
    if isinstance(value, str):
        for prefix in ("https://ref.gs1.org/cbv/BizStep-", "https://ref.gs1.org/cbv/Disp-"):
            value = value.removeprefix(prefix)
    return value


def _reports(e: Event) -> list[Event]:
    return [r for s in e.get("sensorElementList", []) for r in s["sensorReport"]]


def _quantities(e: Event) -> list[Event]:
    return [*e.get("quantityList", []), *e.get("inputQuantityList", [])]


def _epcs(e: Event, *fields: str) -> list[str]:
    found: list[str] = []
    for field in fields:
        value = e.get(field)
        found.extend([value] if isinstance(value, str) else value or [])
    return found


def _under(place: str) -> set[str]:
    return {
        p
        for p in PLACES
        if p == place or PARENTS.get(p) == place or PARENTS.get(PARENTS.get(p, ""), "") == place
    }


CUT = T0 + timedelta(days=3)
CASES: dict[str, tuple[dict[str, str], Callable[[Event], bool]]] = {
    "eventType": (
        {"eventType": "AggregationEvent|TransformationEvent"},
        lambda e: e["type"] in ("AggregationEvent", "TransformationEvent"),
    ),
    "GE_eventTime": ({"GE_eventTime": CUT.isoformat()}, lambda e: _when(e["eventTime"]) >= CUT),
    "LT_eventTime offset": (
        {"LT_eventTime": CUT.astimezone(timezone(timedelta(hours=-5))).isoformat()},
        lambda e: _when(e["eventTime"]) < CUT,
    ),
    "EQ_action": ({"EQ_action": "ADD|DELETE"}, lambda e: e.get("action") in ("ADD", "DELETE")),
    "EQ_bizStep any spelling": (
        {"EQ_bizStep": "urn:epcglobal:cbv:bizstep:shipping"},
        lambda e: _bare(e.get("bizStep")) == "shipping",
    ),
    "EQ_bizStep custom": ({"EQ_bizStep": CUSTOM_STEP}, lambda e: e.get("bizStep") == CUSTOM_STEP),
    "EQ_disposition": (
        {"EQ_disposition": "active|in_transit"},
        lambda e: _bare(e.get("disposition")) in ("active", "in_transit"),
    ),
    "EQ_persistentDisposition_set": (
        {"EQ_persistentDisposition_set": "completeness_verified"},
        lambda e: "persistentDisposition" in e,
    ),
    "EQ_persistentDisposition_unset": (
        {"EQ_persistentDisposition_unset": "completeness_verified"},
        lambda e: False,
    ),
    "EQ_readPoint": ({"EQ_readPoint": ROOM_A}, lambda e: e["readPoint"]["id"] == ROOM_A),
    "WD_readPoint": ({"WD_readPoint": SITE}, lambda e: e["readPoint"]["id"] in _under(SITE)),
    "EQ_bizLocation": (
        {"EQ_bizLocation": f"{OTHER}|{SHELF}"},
        lambda e: e.get("bizLocation", {}).get("id") in (OTHER, SHELF),
    ),
    "WD_bizLocation": (
        {"WD_bizLocation": ROOM_A},
        lambda e: e.get("bizLocation", {}).get("id") in _under(ROOM_A),
    ),
    "EQ_transformationID": (
        {"EQ_transformationID": "urn:uuid:11111111-0000-4000-8000-000000000001"},
        lambda e: e.get("transformationID") == "urn:uuid:11111111-0000-4000-8000-000000000001",
    ),
    "MATCH_epc exact": (
        {"MATCH_epc": _sgtin(41)},
        lambda e: _sgtin(41) in _epcs(e, "epcList", "childEPCs"),
    ),
    "MATCH_epc pattern and link": (
        {"MATCH_epc": "urn:epc:idpat:sgtin:4012345.011111.*"},
        lambda e: any(
            ".011111." in x or "/01/04012345111118/" in x for x in _epcs(e, "epcList", "childEPCs")
        ),
    ),
    "MATCH_epc digital link query": (
        {"MATCH_epc": "https://id.gs1.org/01/04012345111118/21/1039"},
        lambda e: (
            _sgtin(39) in _epcs(e, "epcList", "childEPCs")
            or "https://id.gs1.org/01/04012345111118/21/1039" in _epcs(e, "epcList", "childEPCs")
        ),
    ),
    "MATCH_parentID": (
        {"MATCH_parentID": "urn:epc:idpat:sscc:4012345.*"},
        lambda e: str(e.get("parentID", "")).startswith("urn:epc:id:sscc:"),
    ),
    "MATCH_inputEPC": (
        {"MATCH_inputEPC": _sgtin(18)},
        lambda e: _sgtin(18) in _epcs(e, "inputEPCList"),
    ),
    "MATCH_outputEPC": (
        {"MATCH_outputEPC": "urn:epc:idpat:sgtin:4012345.033333.*"},
        lambda e: bool(_epcs(e, "outputEPCList")),
    ),
    "MATCH_anyEPC": (
        {"MATCH_anyEPC": f"{_sgtin(40)}|urn:epc:id:grai:4012345.55555.19"},
        lambda e: bool(
            {_sgtin(40), "urn:epc:id:grai:4012345.55555.19"}
            & set(_epcs(e, "epcList", "childEPCs", "inputEPCList", "outputEPCList", "parentID"))
        ),
    ),
    "MATCH_epcClass": (
        {"MATCH_epcClass": "urn:epc:class:lgtin:4012345.011111.L1"},
        lambda e: any(q["epcClass"].endswith("011111.L1") for q in e.get("quantityList", [])),
    ),
    "MATCH_inputEPCClass pattern": (
        {"MATCH_inputEPCClass": "urn:epc:idpat:sgtin:4012345.044444.*"},
        lambda e: bool(e.get("inputQuantityList")),
    ),
    "MATCH_anyEPCClass": (
        {"MATCH_anyEPCClass": "urn:epc:class:lgtin:4012345.044444.L2"},
        lambda e: any(q["epcClass"].endswith("044444.L2") for q in _quantities(e)),
    ),
    "EQ_quantity": (
        {"EQ_quantity": "13|5.5"},
        lambda e: any(q["quantity"] in (13, 5.5) for q in _quantities(e)),
    ),
    "GT_quantity": (
        {"GT_quantity": "7.5"},
        lambda e: any(q["quantity"] > 7.5 for q in _quantities(e)),
    ),
    "GE_quantity": (
        {"GE_quantity": "7.5"},
        lambda e: any(q["quantity"] >= 7.5 for q in _quantities(e)),
    ),
    "LT_quantity": ({"LT_quantity": "3"}, lambda e: any(q["quantity"] < 3 for q in _quantities(e))),
    "LE_quantity": (
        {"LE_quantity": "3.5"},
        lambda e: any(q["quantity"] <= 3.5 for q in _quantities(e)),
    ),
    "GE_quantity_KGM": (
        {"GE_quantity_KGM": "5"},
        lambda e: any(q.get("uom") == "KGM" and q["quantity"] >= 5 for q in _quantities(e)),
    ),
    "EQ_eventID": (
        {"EQ_eventID": "urn:uuid:00000000-0000-4000-8000-000000000007|urn:uuid:nothing"},
        lambda e: e.get("eventID") == "urn:uuid:00000000-0000-4000-8000-000000000007",
    ),
    "EXISTS_errorDeclaration": (
        {"EXISTS_errorDeclaration": ""},
        lambda e: "errorDeclaration" in e,
    ),
    "GE_errorDeclarationTime": (
        {"GE_errorDeclarationTime": (T0 + timedelta(days=25)).isoformat()},
        lambda e: (
            "errorDeclaration" in e
            and _when(e["errorDeclaration"]["declarationTime"]) >= T0 + timedelta(days=25)
        ),
    ),
    "LT_errorDeclarationTime": (
        {"LT_errorDeclarationTime": (T0 + timedelta(days=25)).isoformat()},
        lambda e: (
            "errorDeclaration" in e
            and _when(e["errorDeclaration"]["declarationTime"]) < T0 + timedelta(days=25)
        ),
    ),
    "EQ_errorReason": (
        {"EQ_errorReason": "did_not_occur"},
        lambda e: e.get("errorDeclaration", {}).get("reason", "").endswith("did_not_occur"),
    ),
    "EQ_correctiveEventID": (
        {"EQ_correctiveEventID": "urn:uuid:22222222-0000-4000-8000-000000000001"},
        lambda e: (
            "errorDeclaration" in e and e["errorDeclaration"]["correctiveEventIDs"][0].endswith("1")
        ),
    ),
    "EXISTS_sensorElementList": (
        {"EXISTS_sensorElementList": ""},
        lambda e: "sensorElementList" in e,
    ),
    "GE_time": (
        {"GE_time": CUT.isoformat()},
        lambda e: "sensorElementList" in e and _when(e["eventTime"]) >= CUT,
    ),
    "EQ_type": (
        {"EQ_type": "RelativeHumidity"},
        lambda e: any(r["type"] == "RelativeHumidity" for r in _reports(e)),
    ),
    "EQ_deviceID": (
        {"EQ_deviceID": "urn:epc:id:giai:4012345.1"},
        lambda e: any(
            s["sensorMetadata"]["deviceID"].endswith(".1") for s in e.get("sensorElementList", [])
        ),
    ),
    "EQ_stringValue": (
        {"EQ_stringValue": "S0"},
        lambda e: any(r.get("stringValue") == "S0" for r in _reports(e)),
    ),
    "EQ_booleanValue": (
        {"EQ_booleanValue": "true"},
        lambda e: any(r.get("booleanValue") is True for r in _reports(e)),
    ),
    "GT_value_CEL": (
        {"GT_value_CEL": "8"},
        lambda e: any(r.get("uom") == "CEL" and r["value"] > 8 for r in _reports(e)),
    ),
    "LE_value_CEL": (
        {"LE_value_CEL": "-2"},
        lambda e: any(r.get("uom") == "CEL" and r["value"] <= -2 for r in _reports(e)),
    ),
    "EQ_value_P1": (
        {"EQ_value_P1": "42|47"},
        lambda e: any(r.get("uom") == "P1" and r["value"] in (42, 47) for r in _reports(e)),
    ),
    "EQ_bizTransaction_po": (
        {"EQ_bizTransaction_po": "urn:epc:id:gdti:4012345.00001.3"},
        lambda e: any(t["bizTransaction"].endswith(".3") for t in e.get("bizTransactionList", [])),
    ),
    "EQ_source_owning_party": (
        {"EQ_source_owning_party": "urn:epc:id:pgln:4012345.00001"},
        lambda e: "sourceList" in e,
    ),
    "EQ_destination_location": (
        {"EQ_destination_location": OTHER},
        lambda e: "destinationList" in e,
    ),
    "EQ_ extension": (
        {"EQ_example:grade": "A|C"},
        lambda e: e.get("example:grade") in ("A", "C"),
    ),
    "GE_ extension number": (
        {"GE_example:temp": "6"},
        lambda e: e.get("example:temp", -1) >= 6,
    ),
    "EXISTS_ extension": ({"EXISTS_example:info": ""}, lambda e: "example:info" in e),
    "EQ_INNER_": (
        {"EQ_INNER_example:origin": "CL"},
        lambda e: e.get("example:info", {}).get("example:origin") == "CL",
    ),
    "EQ_ILMD_": (
        {"EQ_ILMD_example:bestBefore": "2027-01-05"},
        lambda e: e.get("ilmd", {}).get("example:bestBefore") == "2027-01-05",
    ),
    "EXISTS_ILMD_": ({"EXISTS_ILMD_example:bestBefore": ""}, lambda e: "ilmd" in e),
    "several at once": (
        {"eventType": "ObjectEvent", "EQ_bizStep": "shipping", "GE_eventTime": CUT.isoformat()},
        lambda e: (
            e["type"] == "ObjectEvent"
            and _bare(e.get("bizStep")) == "shipping"
            and _when(e["eventTime"]) >= CUT
        ),
    ),
}


def _expected(ids: list[str], wanted: Callable[[Event], bool]) -> set[str]:
    return {event_id for event, event_id in zip(SEED, ids, strict=True) if wanted(event)}


@pytest.mark.parametrize("case", list(CASES))
def test_each_parameter_gives_the_exact_result_set(
    seeded: tuple[TestClient, list[str]], case: str
) -> None:
    client, ids = seeded
    params, wanted = CASES[case]
    expected = _expected(ids, wanted)
    assert _ids(client, params) == expected
    if case not in ("EQ_persistentDisposition_unset",):
        assert expected, f"the seed has no event for {case}; the case proves nothing"


def test_paging_returns_every_event_once(seeded: tuple[TestClient, list[str]]) -> None:
    client, ids = seeded
    found: list[str] = []
    response = client.get("/events", params={"perPage": "17"})
    pages = 1
    while True:
        assert response.status_code == 200
        found.extend(
            e["eventID"]
            for e in response.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        )
        link = response.headers.get("Link")
        if link is None:
            break
        assert link.endswith('>; rel="next"')
        assert "perPage=17" in link
        response = client.get(link[1 : link.index(">")])
        pages += 1
    assert sorted(found) == sorted(ids)
    assert len(found) == len(set(found)) == N
    assert pages == -(-N // 17) or pages == -(-N // 17) + 1
    default = client.get("/events")
    events = default.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert len(events) == 30  # the binding's default perPage
    times = [e["recordTime"] for e in events]
    assert times == sorted(times)  # recordTime ascending by default


def test_order_by_event_time_descending_and_event_count_limit(
    seeded: tuple[TestClient, list[str]],
) -> None:
    client, ids = seeded
    newest = _all(
        client,
        {"orderBy": "eventTime", "orderDirection": "DESC", "eventCountLimit": "5", "perPage": "2"},
    )
    by_time = sorted(zip(SEED, ids, strict=True), key=lambda p: _when(p[0]["eventTime"]))
    assert [e["eventID"] for e in newest] == [i for _, i in reversed(by_time[-5:])]


def test_results_carry_record_time_and_the_hash_id_when_the_sender_gave_none(
    seeded: tuple[TestClient, list[str]],
) -> None:
    client, ids = seeded
    events = _all(client, {"EQ_readPoint": PLACES[9 % 6], "eventType": "AssociationEvent"})
    assert events
    assert all("recordTime" in e for e in events)
    assert all(
        e["eventID"].startswith("ni:///sha-256;") for e in events if e["eventID"] in ids[9::10]
    )
    hashed = ids[9]
    assert _ids(client, {"EQ_eventID": hashed}) == {hashed}
    one = client.get(f"/events/{quote(hashed, safe='')}")
    assert one.status_code == 200
    by_own = client.get("/events/urn:uuid:00000000-0000-4000-8000-000000000003")
    assert [
        e["eventID"] for e in by_own.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    ] == ["urn:uuid:00000000-0000-4000-8000-000000000003"]
    missing = client.get("/events/urn:uuid:no-such-event")
    assert missing.status_code == 404
    assert missing.json()["type"] == "epcisException:NoSuchResourceException"


def test_record_time_bounds(seeded: tuple[TestClient, list[str]]) -> None:
    client, _ = seeded
    everything = _all(client, {})
    times = sorted({_when(e["recordTime"]) for e in everything})
    assert len(times) >= 2  # the seed was captured in several documents
    cut = times[len(times) // 2]
    later = {e["eventID"] for e in everything if _when(e["recordTime"]) >= cut}
    assert _ids(client, {"GE_recordTime": cut.isoformat()}) == later
    assert (
        _ids(client, {"LT_recordTime": cut.isoformat()})
        == {e["eventID"] for e in everything} - later
    )


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"EQ_bizstep": "shipping"}, "EQ_bizstep"),
        ({"GE_eventTime": "yesterday"}, "GE_eventTime"),
        ({"GE_eventTime": "2026-10-01T00:00:00"}, "GE_eventTime"),
        ({"EQ_action": "MOVE"}, "EQ_action"),
        ({"EQ_bizStep": "shippin"}, "EQ_bizStep"),
        ({"GT_quantity": "many"}, "GT_quantity"),
        ({"eventCountLimit": "3"}, "eventCountLimit"),
        ({"orderBy": "eventTime", "eventCountLimit": "3", "maxEventCount": "4"}, "eventCountLimit"),
        ({"orderBy": "bizStep"}, "orderBy"),
        ({"orderDirection": "UP"}, "orderDirection"),
        ({"MATCH_epc": "urn:epc:idpat:sgtin:*.011111.5"}, "MATCH_epc"),
        ({"perPage": "none"}, "perPage"),
        ({"nextPageToken": "garbage!"}, "nextPageToken"),
        ({"HASATTR_example:x": "a"}, "HASATTR_example:x"),
    ],
)
def test_a_bad_parameter_is_a_query_parameter_exception_naming_it(
    seeded: tuple[TestClient, list[str]], params: dict[str, str], named: str
) -> None:
    client, _ = seeded
    response = client.get("/events", params=params)
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["type"] == "epcisException:QueryParameterException"
    assert problem["detail"].startswith(f"{named}:")
    assert response.headers["GS1-EPCIS-Version"] == "2.0.0"


def test_a_token_of_another_query_is_refused(seeded: tuple[TestClient, list[str]]) -> None:
    client, _ = seeded
    first = client.get("/events", params={"perPage": "5", "EQ_bizStep": "shipping"})
    link = first.headers["Link"]
    token = link.split("nextPageToken=")[1].split(">")[0]
    other = client.get("/events", params={"EQ_bizStep": "receiving", "nextPageToken": token})
    assert other.status_code == 400
    assert other.json()["detail"].startswith("nextPageToken:")
    assert client.delete(f"/nextPageToken/{token}").status_code == 204


def test_max_event_count(seeded: tuple[TestClient, list[str]]) -> None:
    client, ids = seeded
    too_many = client.get("/events", params={"eventType": "ObjectEvent", "maxEventCount": "10"})
    assert too_many.status_code == 413
    assert too_many.json()["type"] == "epcisException:QueryTooLargeException"
    few = _expected(ids, lambda e: "errorDeclaration" in e)
    fits = client.get(
        "/events", params={"EXISTS_errorDeclaration": "", "maxEventCount": str(len(few))}
    )
    assert fits.status_code == 200


def test_the_old_parameters_of_epcis_events_name_their_replacement(
    seeded: tuple[TestClient, list[str]],
) -> None:
    client, ids = seeded
    old = client.get("/epcis/events", params={"bizStep": "shipping"})
    assert old.status_code == 400
    assert "use EQ_bizStep" in old.json()["detail"]
    params, wanted = CASES["EQ_bizStep any spelling"]
    assert _ids(client, params, "/epcis/events") == _expected(ids, wanted)


def test_resource_endpoints(seeded: tuple[TestClient, list[str]]) -> None:
    client, ids = seeded
    root = client.get("/")
    assert root.json()["type"] == "Collection"
    assert "events" in root.json()["member"]
    steps = client.get("/bizSteps").json()["member"]
    assert {"shipping", "receiving", CUSTOM_STEP} <= set(steps)
    assert "https://ref.gs1.org/cbv/BizStep-shipping" not in steps  # one value per term
    types = client.get("/eventTypes").json()["member"]
    assert set(types) == set(TYPES)
    listed: list[str] = []
    response = client.get("/readPoints", params={"perPage": "4"})
    while True:
        listed.extend(response.json()["member"])
        link = response.headers.get("Link")
        if link is None:
            break
        response = client.get(link[1 : link.index(">")])
    assert listed == sorted(PLACES)
    assert client.get(f"/bizLocations/{ROOM_B}").json()["member"] == ["events"]
    assert client.get("/dispositions/stolen").status_code == 404
    at_room = _ids(client, {}, f"/readPoints/{ROOM_B}/events")
    assert at_room == _expected(ids, lambda e: e["readPoint"]["id"] == ROOM_B)
    shipped_here = _ids(client, {"EQ_readPoint": ROOM_B}, "/bizSteps/shipping/events")
    assert shipped_here == _expected(
        ids, lambda e: e["readPoint"]["id"] == ROOM_B and _bare(e.get("bizStep")) == "shipping"
    )
    epc = _sgtin(41)
    assert _ids(client, {}, f"/epcs/{epc}/events") == _expected(
        ids, lambda e: epc in _epcs(e, "epcList", "childEPCs", "inputEPCList", "parentID")
    )
    assert client.get("/epcs/urn:epc:id:sgtin:9999999.000000.1").status_code == 404
    typed = _ids(client, {}, "/eventTypes/TransactionEvent/events")
    assert typed == _expected(ids, lambda e: e["type"] == "TransactionEvent")
    options = client.options("/events")
    assert options.status_code == 204
    assert options.headers["GS1-EPCIS-Max"] == "2.0.0"
