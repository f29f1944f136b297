"""Fuzz targets for every decoder that touches device bytes, and their invariants.

Shared by the hypothesis tests (tests/gateway/test_fuzz_decode.py,
tests/gs1/test_fuzz_epc.py) and the atheris harness (tests/fuzz/atheris_main.py).
The invariant: no exception escapes, and every rejection carries a reason, the field
at fault and a known dead-letter code.

Corpus (seed inputs, plus anything fuzzing ever found): tests/data/gateway/fuzz/decode
(``topic\\npayload`` per file) and tests/data/sensors/fuzz/epc (EPC text per file).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from gateway.decode import CODES, Rejection, decode
from gateway.opcua import OpcUaEndpoint, OpcUaNode, coldroom_payload
from gs1.epc import Epc, decode_epc
from gs1.errors import EpcError
from sensors.coldroom import QUANTITIES, Quantity

DATA = Path(__file__).resolve().parent.parent / "data"
DECODE_CORPUS = DATA / "gateway" / "fuzz" / "decode"
EPC_CORPUS = DATA / "sensors" / "fuzz" / "epc"
ENDPOINT = OpcUaEndpoint(
    url="opc.tcp://127.0.0.1:4840/",
    site="demo",
    plc="plc-cold1",
    location="urn:epc:id:sgln:4012345.00001.0",
    nodes=[OpcUaNode(quantity="temperature_c", node_id="ns=2;s=cold1.temperature_c")],
)


def split_seed(data: bytes) -> tuple[str, bytes]:
    """``topic\\npayload`` → (topic, payload); a topic that is not UTF-8 is replaced,
    as paho would hand over a decoded string."""
    topic, _, payload = data.partition(b"\n")
    return topic.decode("utf-8", errors="replace"), payload


def check_decode(topic: str, payload: bytes) -> Any:
    """The gateway's decoder on one message: never raises; rejections explain themselves."""
    result = decode(topic, payload)
    if isinstance(result, Rejection):
        assert result.code in CODES, result
        assert result.reason.strip(), result
        assert result.field.strip(), result
    return result


def check_epc(text: str) -> Epc | None:
    """EPC decoding: an Epc, or an EpcError with a reason; nothing else."""
    try:
        return decode_epc(text)
    except EpcError as exc:
        reason = str(exc)
    assert reason.strip()
    return None


def check_coldroom(quantity: Quantity, value: Any, ts: Any) -> Any:
    """An OPC UA data change → spooled JSON → the decoder: never raises anywhere."""
    assert quantity in QUANTITIES
    payload = coldroom_payload(ENDPOINT, quantity, value, ts)
    result = check_decode(f"opcua/{ENDPOINT.site}/{ENDPOINT.plc}", payload)
    if not isinstance(result, Rejection) and isinstance(ts, datetime):
        assert result.change.quantity == quantity
    return result


def corpus(folder: Path) -> list[bytes]:
    return [p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()]
