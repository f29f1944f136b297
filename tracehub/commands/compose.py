"""``tracehub compose``: the docker-compose deployment's secrets and settings."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

import click

from tracehub.composeenv import SECRETS, plan
from tracehub.console import Problem, err_console

ENV_FILE = ".env"


@click.group()
def compose() -> None:
    """The docker-compose deployment: its secrets, generated, never defaults.

    docker-compose.yml holds no password or key: each is `${NAME:?run tracehub compose
    init}`, so `docker compose up` stops until `.env` defines them (docs/deploy.md).
    """


@compose.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="The folder with docker-compose.yml, where .env goes.",
)
@click.option(
    "--force",
    is_flag=True,
    help="New values for the secrets .env already has too. Only for a stack whose "
    "volumes are new or removed: the services keep their first passwords, and the "
    "passphrases decrypt keys already written.",
)
def init(directory: Path, force: bool) -> None:
    """Write .env with strong random secrets for docker-compose (mode 0600).

    Why: the compose file ships no default password, key or passphrase, and refuses to
    start without them. This generates each (256 random bits): InfluxDB's admin, the
    hub's and Grafana's InfluxDB users, PostgreSQL, Grafana's admin and secret key, the
    devices and ledger-key passphrases, and the anchoring key of the dev chain. The
    values are never printed.

    Run again, it changes nothing when every secret is there, adds the ones that are
    missing (a newer compose file), keeps your other lines, and replaces an existing
    value only with --force.

    \b
    Example:
      tracehub compose init && docker compose up --build
      tracehub compose init --dir /srv/tracehub
    """
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / ENV_FILE
    try:
        existing = path.read_text(encoding="utf-8") if path.exists() else None
    except OSError as exc:
        raise Problem(f"cannot read {path}: {exc}") from exc
    result = plan(existing, replace=force)
    if result.changed:
        _write_private(path, result.text)
    elif _loose(path):
        path.chmod(0o600)
        err_console.print(
            f"{path}: made mode 0600 (others could read it)", highlight=False, soft_wrap=True
        )
    if existing is None:
        err_console.print(
            f"wrote {path} with {len(SECRETS)} generated secrets", highlight=False, soft_wrap=True
        )
    elif not result.changed:
        err_console.print(
            f"{path} has every secret already: nothing changed", highlight=False, soft_wrap=True
        )
    if existing is not None and result.added:
        err_console.print(
            f"{path}: added {', '.join(result.added)}. A service whose volume already "
            "exists does not know a new one yet: docs/deploy.md, Rotating a secret",
            highlight=False,
            soft_wrap=True,
        )
    if result.replaced:
        err_console.print(
            f"{path}: new values for {', '.join(result.replaced)}; the old ones are gone",
            highlight=False,
            soft_wrap=True,
        )
    if not (directory / "docker-compose.yml").exists():
        err_console.print(
            f"note: {directory} has no docker-compose.yml; docker compose reads the .env "
            "next to it (or give --env-file)",
            highlight=False,
            soft_wrap=True,
        )


def _loose(path: Path) -> bool:
    return bool(path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))


def _write_private(path: Path, text: str) -> None:
    """Replace ``path`` atomically by a file only its owner can read: never a moment
    where the secrets sit in a file with the umask's mode, or half written."""
    try:
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".env.", suffix=".tmp")
    except OSError as exc:
        raise Problem(f"cannot write in {path.parent}: {exc}") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            os.fchmod(out.fileno(), 0o600)  # mkstemp's 0600 already; say it, not assume it
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise Problem(f"cannot write {path}: {exc}") from exc
