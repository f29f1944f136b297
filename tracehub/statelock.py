"""One hub per state folder: an exclusive lock on ``<state>/hub.lock`` for the process's life.

``tracehub run`` and ``tracehub demo`` take it before they spawn or open anything, so a
second one on the same ``TRACEHUB_STATE_DIR`` refuses at once, naming the pid that holds
it, instead of stopping the first one's broker as a "leftover" or writing the same
SQLite files. It is ``flock(2)``: the kernel drops it when the holder exits, however it
exits (SIGKILL included), so a lock file left behind is never a stale lock. The file
keeps the holder's pid for the message; it is not removed at exit (removing it could
let a third process lock a new file while a second still holds the old one).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Self

from tracehub.processes import ServiceError

LOCK_FILE = "hub.lock"


class StateLockedError(ServiceError):
    """Another process holds the state folder's lock."""

    def __init__(self, folder: Path, pid: int | None) -> None:
        self.folder, self.pid = folder, pid
        holder = f"pid {pid}" if pid is not None else "another process"
        super().__init__(
            f"the state folder {folder} is in use by another tracehub ({holder} holds "
            f"{folder / LOCK_FILE}): stop it first, or give this one its own "
            "TRACEHUB_STATE_DIR"
        )


class StateLock:
    """``with StateLock(folder):`` holds the folder's lock, or raises ``StateLockedError``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder.absolute()
        self.path = self.folder / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> None:
        if self._fd is not None:
            return  # held already: a second descriptor would be refused by the first
        self.folder.mkdir(parents=True, exist_ok=True)
        # Not inherited by the services it spawns (os.open is close-on-exec): a broker
        # outliving a SIGKILLed hub must not keep its folder locked.
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _pid_in(fd)
            os.close(fd)
            raise StateLockedError(self.folder, holder) from None
        except OSError:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the only descriptor drops the lock

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _pid_in(fd: int) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        return int(os.pread(fd, 32, 0).decode().strip())
    return None


@contextlib.contextmanager
def setup_lock(folder: Path) -> Iterator[None]:
    """Waits for, then holds, ``<folder>/.setup.lock`` (flock): instances sharing a
    folder (the ledger keys) create what it lacks one at a time, so two replicas started
    together do not each generate a site key or deploy an anchor contract."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / ".setup.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
