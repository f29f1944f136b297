"""Local service launcher: mosquitto, influxd and anvil, on free loopback ports or given ones.

Used by ``make demo`` (the embedded default, through
``tracehub.localstack.start_local_services``) and by the test fixtures, so the services the tests
exercise are started exactly as the demo starts them. Each service keeps its data
under its own folder, so a restart (``restart()``) comes back with the same port and
the same persisted state, which the reliability tests rely on. (PostgreSQL, used
only by tests and benches, is launched by ``tests/support/postgres.py``.)

A spawned service never outlives its launcher: on Linux each child asks the kernel
for SIGTERM when the launcher dies (``PR_SET_PDEATHSIG``), so a SIGKILLed hub does not
leave an anvil holding its state file, and each child's pid is kept in
``<directory>/<name>.pid`` so a restarted launcher stops a leftover one (still
shutting down, or from a platform without the death signal) before starting anew.
Then each port it is to listen on is checked (``check_port``): one held by another
program stops the start with ``PortTakenError`` naming the port and the holder.
`tracehub run` gives fixed ports (``tracehub.spawnsettings``); tests and the demo take
free ones, so many can run side by side.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Self

from tracehub.mosquittoconf import BrokerTls as BrokerTls
from tracehub.mosquittoconf import MosquittoConf
from tracehub.processes import PortTakenError as PortTakenError
from tracehub.processes import ServiceError as ServiceError
from tracehub.processes import check_port, death_signal, record_pid, stop_leftover, wait_until

LOOPBACK = "127.0.0.1"

# anvil's well-known first development account (public test mnemonic "test test ... junk").
ANVIL_DEV_PRIVATE_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"


def free_port() -> int:
    """A TCP port that was free on loopback a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def find_executable(name: str, *extra_dirs: Path) -> str:
    """Locate ``name`` on PATH (plus ``extra_dirs``) or say how to install it."""
    for directory in extra_dirs:
        candidate = directory / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if found is None:
        hint = INSTALL_HINTS.get(name, f"install {name}")
        raise ServiceError(f"{name} not found: {hint}")
    return found


INSTALL_HINTS = {
    "mosquitto": "run `sudo apt-get install -y mosquitto mosquitto-clients` (or `make deps`)",
    "influxd": "run `sudo apt-get install -y influxdb` (or `make deps`)",
    "anvil": "run `npm ci` in the repository (or `make deps`)",
}


def connect_host(host: str) -> str:
    """Where a client on this machine reaches a service bound to ``host``: a wildcard
    bind (all interfaces) is reached through loopback."""
    return LOOPBACK if host in ("0.0.0.0", "", "::", "[::]") else host


def _tcp_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((connect_host(host), port), timeout=0.2):
            return True
    except OSError:
        return False


@dataclass
class Service:
    """A child process bound to a fixed loopback port, restartable with its state."""

    directory: Path
    port: int = field(default_factory=free_port)
    host: str = LOOPBACK
    process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    name: ClassVar[str] = "service"
    role: ClassVar[str] = "a service"  # what it is, in messages about its port
    startup_timeout: ClassVar[float] = 30.0

    def __post_init__(self) -> None:
        # Absolute: the pid check matches this folder in the leftover's command line,
        # whatever the working directory of the launcher that spawned it.
        self.directory = self.directory.absolute()

    def command(self) -> list[str]:
        raise NotImplementedError

    def prepare(self) -> None:
        """Write configuration files; called before every start."""

    def ready(self) -> bool:
        return _tcp_open(self.host, self.port)

    @property
    def connect_host(self) -> str:
        return connect_host(self.host)

    def listen_ports(self) -> dict[int, str]:
        """The ports it will listen on (checked free before it starts), each with a role."""
        return {self.port: self.role}

    @property
    def log_path(self) -> Path:
        return self.directory / f"{self.name}.out"

    @property
    def pid_path(self) -> Path:
        return self.directory / f"{self.name}.pid"

    def stop_leftover(self, timeout: float = 10.0) -> bool:
        """Stop a process of this service left by a launcher that died; True if any."""
        return stop_leftover(self.pid_path, self.directory, timeout)

    def start(self) -> None:
        if self.running:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        self.stop_leftover()
        for port, what in self.listen_ports().items():
            check_port(self.host, port, what)
        self.prepare()
        log = self.log_path.open("ab")
        # A new session so that Ctrl-C in the terminal reaches the launcher, which
        # then stops its children in order instead of them dying mid-write.
        self.process = subprocess.Popen(
            self.command(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=death_signal(),  # only prctl runs in the child (processes.py)
        )
        log.close()
        record_pid(self.pid_path, self.process.pid)
        try:
            wait_until(self.ready, self.name, self.startup_timeout, self.process)
        except ServiceError as exc:
            tail = self.log_path.read_text(errors="replace")[-2000:]
            self.stop()
            raise ServiceError(f"{exc}; its output ends with:\n{tail}") from exc

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def kill(self) -> None:
        """Stop abruptly (SIGKILL), as a crash would."""
        proc, self.process = self.process, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class Mosquitto(Service):
    """Eclipse mosquitto with persistence and queues sized so QoS 1 is not dropped.

    Without ``tls`` it is an open plain listener (loopback tests and
    ``TRACEHUB_MQTT_SECURITY=plain``). With ``tls``, ``port`` is a TLS listener that
    requires a client certificate from the site CA and takes its CN as the username
    (and as the client id); ``password_port`` (if a password file is given) is a TLS
    listener for username/password devices. Anonymous clients are refused and the
    ACL file decides every publish and subscribe. ``reload()`` (SIGHUP) re-reads the
    ACL, password file and CRL.
    """

    name: ClassVar[str] = "mosquitto"
    max_queued_messages: int = 1_000_000
    tls: BrokerTls | None = None
    password_port: int = field(default_factory=free_port)

    @property
    def broker_log(self) -> Path:
        return self.directory / "mosquitto.log"

    def _reloads(self) -> int:
        try:
            return self.broker_log.read_text(errors="replace").count("Reloading config.")
        except FileNotFoundError:
            return 0

    def reload(self, timeout: float = 10.0) -> None:
        """SIGHUP: mosquitto re-reads its ACL, password file and CRL. Returns once it has:
        the broker logs the reload and then does it in the same pass of its single-threaded
        loop, so any connection made after the log line meets the new files."""
        proc = self.process
        if proc is None or proc.poll() is not None:
            raise ServiceError("mosquitto is not running: nothing to reload")
        before = self._reloads()
        proc.send_signal(signal.SIGHUP)
        wait_until(lambda: self._reloads() > before, "mosquitto reload", timeout, proc)

    def listen_ports(self) -> dict[int, str]:
        ports = {self.port: "the MQTT broker"}
        if self.tls is not None and self.tls.password_file is not None:
            ports[self.password_port] = "the MQTT broker's password listener"
        return ports

    @property
    def config_path(self) -> Path:
        return self.directory / "mosquitto.conf"

    def prepare(self) -> None:
        data = self.directory / "data"
        data.mkdir(exist_ok=True)
        conf = MosquittoConf(
            host=self.host,
            port=self.port,
            password_port=self.password_port,
            data=data,
            log=self.broker_log,
            max_queued_messages=self.max_queued_messages,
            tls=self.tls,
            as_root=os.geteuid() == 0,
        )
        self.config_path.write_text(conf.render())

    def command(self) -> list[str]:
        return [find_executable("mosquitto"), "-c", str(self.config_path)]


@dataclass
class InfluxDB(Service):
    """InfluxDB 1.x (Debian's influxd) serving the v1 HTTP API on ``port``."""

    name: ClassVar[str] = "influxd"
    role: ClassVar[str] = "InfluxDB's HTTP API"
    rpc_port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"http://{self.connect_host}:{self.port}"

    @property
    def config_path(self) -> Path:
        return self.directory / "influxdb.conf"

    def prepare(self) -> None:
        d = self.directory
        self.config_path.write_text(
            f"""reporting-disabled = true
# the backup/restore RPC: never beyond this machine, whatever host the API binds
bind-address = "{LOOPBACK}:{self.rpc_port}"

[meta]
  dir = "{d / "meta"}"

[data]
  dir = "{d / "data"}"
  wal-dir = "{d / "wal"}"
  query-log-enabled = false
  trace-logging-enabled = false

[http]
  enabled = true
  bind-address = "{self.host}:{self.port}"
  log-enabled = false
  max-body-size = 0

[monitor]
  store-enabled = false

[continuous_queries]
  # the rollups for long dashboards (docs/retention.md) are continuous queries
  enabled = true
"""
        )

    def command(self) -> list[str]:
        return [find_executable("influxd"), "run", "-config", str(self.config_path)]

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/ping", timeout=0.5) as resp:
                return int(resp.status) == 204
        except (urllib.error.URLError, OSError):
            return False


@dataclass
class Anvil(Service):
    """Foundry's anvil: a real JSON-RPC EVM node, from the pinned npm package.

    Its chain lives in ``state_file`` under the folder, written every
    ``state_interval`` seconds and at exit, so it survives a restart, and a SIGKILL
    but for the blocks of the last interval (a reorg the anchoring worker heals)."""

    name: ClassVar[str] = "anvil"
    role: ClassVar[str] = "the chain's JSON-RPC (anvil)"
    chain_id: int = 31337
    block_time: float | None = None
    state_file: str = "state.json"
    state_interval: int | None = 1
    private_key: str = ANVIL_DEV_PRIVATE_KEY
    node_modules: Path = field(
        default_factory=lambda: Path(__file__).resolve().parent.parent / "node_modules" / ".bin"
    )

    @property
    def url(self) -> str:
        return f"http://{self.connect_host}:{self.port}"

    @property
    def state_path(self) -> Path:
        return self.directory / self.state_file

    def command(self) -> list[str]:
        cmd = [
            find_executable("anvil", self.node_modules),
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--chain-id",
            str(self.chain_id),
            "--state",
            str(self.state_path),
            "--silent",
        ]
        if self.state_interval is not None:
            cmd += ["--state-interval", str(self.state_interval)]
        if self.block_time is not None:
            cmd += ["--block-time", str(self.block_time)]
        return cmd

    def ready(self) -> bool:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []})
        req = urllib.request.Request(
            self.url, data=body.encode(), headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(req, timeout=0.5) as resp:
                return "result" in json.loads(resp.read())
        except (urllib.error.URLError, OSError, ValueError):
            return False
