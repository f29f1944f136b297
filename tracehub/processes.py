"""Child processes that do not outlive their launcher, and leftovers of one that died.

The launcher (``tracehub.services``) starts each service with ``death_signal()`` as
its ``preexec_fn`` (Linux ``PR_SET_PDEATHSIG``: SIGTERM when the launcher dies, even
by SIGKILL) and records its pid; ``stop_leftover`` stops a process a dead launcher
left over one folder (still writing its state, or from a platform without the
signal), so a restarted hub never runs two anvils over one state file.
``check_port`` says, before a service is spawned on a fixed port, that another program
holds it and which (``PortTakenError``), instead of the service's own log line.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


class ServiceError(RuntimeError):
    """A local service could not be found, started or reached."""


class PortTakenError(ServiceError):
    """The fixed port a service is to listen on is held by another program."""

    def __init__(self, host: str, port: int, what: str, owner: str | None) -> None:
        self.host, self.port, self.what, self.owner = host, port, what, owner
        held = f"by {owner}" if owner else "by another program"
        super().__init__(f"port {port} on {host} (for {what}) is taken {held}")


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def death_signal() -> Callable[[], None] | None:
    """A ``preexec_fn`` that has the child SIGTERMed when the launcher dies (Linux).

    libc is loaded here, before the fork: the child only calls prctl, which is safe
    between fork and exec. The signal is tied to the launching thread, so services
    are started from the thread that outlives them (the main thread)."""
    if os.uname().sysname != "Linux":
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    parent = os.getpid()

    def arm() -> None:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the launcher died before the signal was armed
            os._exit(1)

    return arm


def alive(pid: int) -> bool:
    """True while ``pid`` runs. A zombie (exited, not yet reaped by whoever adopted it: a
    container's init may never reap) is not alive: it holds no port and no file."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # /proc/<pid>/stat: "pid (comm) S ..."; comm may contain spaces and parentheses
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def cmdline(pid: int) -> str:
    try:
        return (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return ""


def wait_until(
    check: Callable[[], bool], what: str, timeout: float, proc: subprocess.Popen[bytes]
) -> None:
    deadline = time.monotonic() + timeout
    delay = 0.01
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServiceError(f"{what} exited with code {proc.returncode} while starting")
        if check():
            return
        time.sleep(delay)  # polling a child process's socket: there is no event to await
        delay = min(delay * 2, 0.2)
    raise ServiceError(f"{what} did not become ready within {timeout:.0f}s")


def record_pid(path: Path, pid: int) -> None:
    path.write_text(f"{pid}\n")


def stop_leftover(pid_path: Path, directory: Path, timeout: float = 10.0) -> bool:
    """Stop the process ``pid_path`` names if it still runs over ``directory``."""
    try:
        pid = int(pid_path.read_text().strip())
    except (OSError, ValueError):
        return False
    if not alive(pid) or str(directory) not in cmdline(pid):
        return False  # gone, or the pid was reused by something else
    os.kill(pid, signal.SIGTERM)  # let it write its state, as the death signal does
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)  # not our child: there is no wait() to block on
    if alive(pid):
        os.kill(pid, signal.SIGKILL)
    return True


def check_port(host: str, port: int, what: str) -> None:
    """Raise ``PortTakenError`` if ``host:port`` cannot be bound right now.

    SO_REUSEADDR as the services themselves bind: a port only in TIME_WAIT (closed
    connections of a previous run) is free to them, so it is free here too."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host.strip("[]"), port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortTakenError(host, port, what, port_owner(port)) from exc
            raise ServiceError(f"cannot listen on {host}:{port} (for {what}): {exc}") from exc


def port_owner(port: int) -> str | None:
    """``pid N (command)`` of the process listening on TCP ``port``, if this user can see it."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            # local_address is HEXIP:HEXPORT; state 0A is LISTEN; field 9 the socket inode
            if (
                len(fields) > 9
                and fields[3] == "0A"
                and int(fields[1].rsplit(":", 1)[1], 16) == port
            ):
                inodes.add(f"socket:[{fields[9]}]")
    if not inodes:
        return None
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fds = list((proc / "fd").iterdir())
        except OSError:
            continue  # gone, or another user's
        for fd in fds:
            try:
                if os.readlink(fd) in inodes:
                    return f"pid {proc.name} ({' '.join(cmdline(int(proc.name)).split())[:100]})"
            except OSError:
                continue
    return None
