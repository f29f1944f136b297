"""Child processes that do not outlive their launcher, and leftovers of one that died.

The launcher (``tracehub.services``) starts each service with ``death_signal()`` as
its ``preexec_fn`` (Linux ``PR_SET_PDEATHSIG``: SIGTERM when the launcher dies, even
by SIGKILL) and records its pid; ``stop_leftover`` stops a process a dead launcher
left over one folder (still writing its state, or from a platform without the
signal), so a restarted hub never runs two anvils over one state file.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


class ServiceError(RuntimeError):
    """A local service could not be found, started or reached."""


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
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
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
