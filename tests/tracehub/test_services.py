"""The launcher starts each real service, and a restart keeps port and data."""

from __future__ import annotations

import json
import socket
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.support.postgres import PostgreSQL
from tracehub.services import Anvil, InfluxDB, Mosquitto, ServiceError

pytestmark = pytest.mark.integration


def _influx(url: str, path: str, data: bytes | None = None, **params: str) -> bytes:
    query = urllib.parse.urlencode(params)
    with urllib.request.urlopen(f"{url}{path}?{query}", data=data, timeout=5) as resp:
        return bytes(resp.read())


def test_influxdb_keeps_points_across_restart(fresh_influxdb: InfluxDB) -> None:
    url = fresh_influxdb.url
    _influx(url, "/query", data=b"", q="CREATE DATABASE t")
    _influx(url, "/write", data=b"m,k=a v=1.5 1700000000000000000", db="t")
    fresh_influxdb.restart()
    body = json.loads(_influx(url, "/query", db="t", q="SELECT v FROM m"))
    assert body["results"][0]["series"][0]["values"] == [["2023-11-14T22:13:20Z", 1.5]]


def test_mosquitto_accepts_connections_and_stops(fresh_mosquitto: Mosquitto) -> None:
    with socket.create_connection((fresh_mosquitto.host, fresh_mosquitto.port), timeout=2):
        pass
    fresh_mosquitto.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((fresh_mosquitto.host, fresh_mosquitto.port), timeout=0.5)


def test_anvil_answers_json_rpc(anvil: Anvil) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []})
    req = urllib.request.Request(
        anvil.url, data=body.encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert int(json.loads(resp.read())["result"], 16) == anvil.chain_id


def test_missing_binary_names_the_install_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    node = Anvil(tmp_path, node_modules=tmp_path / "nowhere")
    with pytest.raises(ServiceError, match="npm ci"):
        node.command()


def test_postgres_serves_sql_and_survives_restart(fresh_postgres: PostgreSQL) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(fresh_postgres.url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (v int)"))
        conn.execute(sa.text("INSERT INTO t VALUES (42)"))
    engine.dispose()
    fresh_postgres.restart()
    engine = sa.create_engine(fresh_postgres.url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT v FROM t")).scalar_one() == 42
    engine.dispose()


def _gone(pid: int, timeout: float = 20.0) -> bool:
    import time

    from tracehub.processes import alive

    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)  # another process's child: no wait() to block on
    return not alive(pid)


def test_a_sigkilled_launcher_takes_its_services_with_it(tmp_path: Path) -> None:
    """PR_SET_PDEATHSIG: an orphaned anvil would otherwise hold the hub's state file."""
    import signal
    import subprocess
    import sys

    script = (
        "import sys; from pathlib import Path; from tracehub.services import Anvil\n"
        "node = Anvil(Path(sys.argv[1])); node.start()\n"
        "print(node.process.pid, flush=True); sys.stdin.read()\n"
    )
    launcher = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path / "anvil")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert launcher.stdout is not None
    with launcher, launcher.stdout:
        child = int(launcher.stdout.readline())
        launcher.send_signal(signal.SIGKILL)
        launcher.wait()
    assert _gone(child), f"anvil {child} outlived its SIGKILLed launcher"


def test_a_leftover_service_is_stopped_before_a_new_one_starts(tmp_path: Path) -> None:
    first = Mosquitto(tmp_path / "broker")
    first.start()
    assert first.process is not None
    left = first.process
    first.process = None  # as if its launcher died without stopping it
    second = Mosquitto(tmp_path / "broker")
    try:
        second.start()
        assert left.wait(timeout=20) is not None  # stopped by the new launcher
        assert second.running
    finally:
        second.stop()


def test_anvil_keeps_its_chain_across_sigkill(fresh_anvil: Anvil) -> None:
    from ledger.evm.contract import genesis_hash, rpc_web3

    w3 = rpc_web3(fresh_anvil.url)
    genesis = genesis_hash(w3)
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    mined = w3.eth.get_block("latest")["hash"]
    state = fresh_anvil.state_path
    assert _written_through(state, 1)
    fresh_anvil.kill()
    fresh_anvil.start()
    assert genesis_hash(w3) == genesis
    assert w3.eth.get_block(1)["hash"] == mined


def _written_through(state: Path, block: int, timeout: float = 10.0) -> bool:
    """Until the state file (dumped every second) holds ``block``."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if json.loads(state.read_text())["best_block_number"] >= block:
                return True
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.1)  # anvil's own interval: there is no event to await
    return False
