"""`tracehub demo` as a user runs it: URLs printed, page 200, verify 0, Ctrl-C clean."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def _read_until(proc: subprocess.Popen[str], marker: str, seen: list[str], timeout: float) -> bool:
    """Collect stdout lines until ``marker`` appears (reading in a thread, so a hung demo
    fails the test at ``timeout`` instead of blocking it)."""
    found = threading.Event()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            seen.append(line)
            if marker in line:
                found.set()
                return

    threading.Thread(target=pump, daemon=True).start()
    return found.wait(timeout)


@pytest.mark.parametrize(
    ("flags", "broker"), [((), "mqtts://"), (("--insecure-plain",), "mqtt://")]
)
def test_demo_prints_a_working_page_and_verify_command(
    tmp_path: Path, flags: tuple[str, ...], broker: str
) -> None:
    env = {
        **os.environ,
        "TRACEHUB_STATE_DIR": str(tmp_path / "state"),
        "TRACEHUB_WEB_PORT": "0",
        "COLUMNS": "400",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "tracehub.cli", "demo", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
    )
    lines: list[str] = []
    try:
        assert _read_until(proc, "Press Ctrl-C", lines, timeout=120), "".join(lines)
        out = "".join(lines)
        assert re.search(rf"MQTT broker\s+{broker}127\.0\.0\.1:\d+", out), out
        page = re.search(r"consumer page\s+(http://\S+)", out)
        assert page, out
        response = httpx.get(page[1], timeout=10)
        assert response.status_code == 200
        assert "L2026-11A" in response.text
        command = re.search(r"tracehub verify (.+)", out)
        assert command, out
        verify = subprocess.run(
            [sys.executable, "-m", "tracehub.cli", "verify", *command[1].split()],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        assert verify.returncode == 0, verify.stdout + verify.stderr
        assert "VERIFIED" in verify.stdout
    finally:
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)  # drains and closes the pipe
    assert proc.returncode == 0, rest
    # everything the demo spawned is gone: its folders hold no live server any more
    leftovers = subprocess.run(
        ["pgrep", "-f", str(tmp_path)], capture_output=True, text=True
    ).stdout.split()
    assert leftovers == []
