"""PostgreSQL on a free loopback port, for the tests and benches that need one.

Not a product launcher (the hub's records default to SQLite, and production runs
its own PostgreSQL): it lives with the tests, on the same ``Service`` base as the
launchers in ``tracehub.services``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from tracehub.services import Service, ServiceError, find_executable


@dataclass
class PostgreSQL(Service):
    """Debian's PostgreSQL server in a throwaway cluster, trust auth on loopback.

    ``initdb`` and ``postgres`` refuse to run as root, so as root they run as the
    ``postgres`` user, in a data folder that user owns (pytest's own temp folders
    are private to root, hence a separate folder under the system temp dir).
    """

    name: ClassVar[str] = "postgres"
    startup_timeout: ClassVar[float] = 60.0
    user: str = "postgres"
    _data: Path | None = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        """SQLAlchemy URL (psycopg 3 driver) of the ``postgres`` database."""
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/postgres"

    def _bin(self, name: str) -> str:
        for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
            return str(candidate)
        try:
            return find_executable(name)
        except ServiceError as exc:
            raise ServiceError(f"{exc}; run `sudo apt-get install -y postgresql`") from exc

    def _as_owner(self, cmd: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd

    def prepare(self) -> None:
        if self._data is not None:
            return
        if os.geteuid() == 0:
            self._data = Path(tempfile.mkdtemp(prefix="tracehub-pg-"))
            shutil.chown(self._data, "postgres", "postgres")
        else:
            self._data = self.directory / "pgdata"
            self._data.mkdir(parents=True, exist_ok=True)
        cluster = self._data / "cluster"
        subprocess.run(
            self._as_owner(
                [
                    self._bin("initdb"),
                    "-D", str(cluster),
                    "-U", self.user,
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-sync",
                ]
            ),
            check=True,
            capture_output=True,
        )  # fmt: skip

    def command(self) -> list[str]:
        assert self._data is not None
        return self._as_owner(
            [
                self._bin("postgres"),
                "-D", str(self._data / "cluster"),
                "-p", str(self.port),
                "-h", self.host,
                "-k", str(self._data),
                "-c", "fsync=off",
                "-c", "synchronous_commit=off",
                "-c", "full_page_writes=off",
            ]
        )  # fmt: skip

    def ready(self) -> bool:
        if not super().ready():  # the port answers
            return False
        probe = subprocess.run(
            [self._bin("pg_isready"), "-h", self.host, "-p", str(self.port), "-U", self.user],
            capture_output=True,
        )
        return probe.returncode == 0

    def __exit__(self, *exc: object) -> None:
        self.stop()
        if self._data is not None and os.geteuid() == 0:
            shutil.rmtree(self._data, ignore_errors=True)
