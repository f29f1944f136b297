"""scripts/setup.sh stops with one line naming the packages when it cannot install them."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def sandbox() -> Iterator[Path]:
    """A world-readable copy of the script and a PATH with only a few basic tools
    (pytest's own temp folders are private to their user)."""
    folder = Path(tempfile.mkdtemp(prefix="tracehub-setup-"))
    try:
        (folder / "scripts").mkdir()
        shutil.copy(ROOT / "scripts" / "setup.sh", folder / "scripts" / "setup.sh")
        tools = folder / "bin"
        tools.mkdir()
        for tool in ("bash", "id", "sort", "dirname"):
            found = shutil.which(tool)
            assert found is not None
            (tools / tool).symlink_to(found)
        for path in (folder, folder / "scripts", tools):
            path.chmod(0o755)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_without_root_or_sudo_it_names_the_packages_and_the_command(sandbox: Path) -> None:
    command = [str(sandbox / "bin" / "bash"), str(sandbox / "scripts" / "setup.sh")]
    if os.geteuid() == 0:
        command = [shutil.which("runuser") or "runuser", "-u", "nobody", "--", *command]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env={"PATH": str(sandbox / "bin"), "HOME": str(sandbox)},
        timeout=60,
    )
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    message = lines[0]
    assert "missing Debian packages:" in message
    for package in ("nodejs", "npm", "mosquitto-clients"):
        assert package in message
    assert "sudo apt-get install -y" in message
