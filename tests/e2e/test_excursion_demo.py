"""`tracehub demo --scenario` as a user runs it (issue #16): a cold-room excursion raises
an alarm; the webhook receiver and the SMTP server get the notification naming the room
and the lot within 60 s; unacknowledged it escalates; the people's acknowledgement,
assessment and release are signed, anchored, told on the lot page and checked by
`tracehub verify`.

The scenario is the shipped excursion with seconds for minutes
(tests/data/scenarios/quick-excursion.yaml), so the whole incident takes about a minute.
"""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "tests" / "data" / "scenarios" / "quick-excursion.yaml"


class Output:
    """The demo's output lines with when each arrived (read in a thread)."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[tuple[float, str]] = []
        self._changed = threading.Condition()
        self._proc = proc
        self._thread = threading.Thread(target=self._pump, args=(proc,), daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Once the process has ended: the rest of its output read, the pipe closed."""
        self._thread.join(timeout=30)
        assert self._proc.stdout is not None
        self._proc.stdout.close()

    def _pump(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            with self._changed:
                self.lines.append((time.monotonic(), line))
                self._changed.notify_all()

    def wait_for(self, marker: str, timeout: float) -> float | None:
        """When the first line holding ``marker`` arrived (None: not within ``timeout``)."""
        with self._changed:
            found = self._changed.wait_for(lambda: self.when(marker) is not None, timeout)
            return self.when(marker) if found else None

    def when(self, marker: str) -> float | None:
        return next((at for at, line in self.lines if marker in line), None)

    @property
    def text(self) -> str:
        return "".join(line for _, line in self.lines)


def test_the_excursion_scenario_notifies_escalates_and_ends_released_and_proven(
    tmp_path: Path,
) -> None:
    env = {
        **os.environ,
        "TRACEHUB_STATE_DIR": str(tmp_path / "state"),
        "TRACEHUB_WEB_PORT": "0",
        "COLUMNS": "400",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "tracehub.cli", "demo", "--insecure-plain", "--scenario", SCENARIO],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=ROOT,
    )
    out = Output(proc)
    try:
        assert out.wait_for("the lot page now tells what happened", 300), out.text
        raised = out.when("raised:")
        told = [out.when("email to li.wei@"), out.when("webhook to Li Wei")]
        assert raised is not None, out.text
        assert all(at is not None and at - raised < 60 for at in told), out.text
        for line in told:
            assert line is not None
        room_and_lot = re.search(r"email to li\.wei@\S+: \[CRITICAL\] Cold room 1", out.text)
        assert room_and_lot, out.text
        escalated = out.when("email to anna.berg@demo.tracehub.example: [CRITICAL, escalated]")
        assert escalated is not None, out.text
        assert escalated > max(at for at in told if at is not None)
        for step in ("acknowledged by anna.berg", "assessed by anna.berg", "release: lot"):
            assert step in out.text, out.text
        assert "affected lots: 04012345111118/L2026-11A" in out.text

        page = re.search(r"the lot page now tells what happened\s+(http://\S+)", out.text)
        assert page, out.text
        html = httpx.get(page[1], timeout=10).text
        sentence = re.search(
            r"excursion on [^<]* was assessed by quality assurance: released", html
        )
        assert sentence, html
        assert "Proof: on chain" in html[sentence.start() : sentence.start() + 300]

        # The console the demo printed shows the incident to its first admin.
        login = re.search(
            r"console\s+(http://\S+)/console\s+\(user admin, one-time password (\S+)", out.text
        )
        assert login, out.text
        console = _console(login[1], login[2])

        command = re.search(r"tracehub verify (.+)", out.text)
        assert command, out.text
        verify = subprocess.run(
            [sys.executable, "-m", "tracehub.cli", "verify", *command[1].split()],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        assert verify.returncode == 0, verify.stdout + verify.stderr
        incident = re.search(r"✓ incident .*released by qa\.schmidt \(quality\)", verify.stdout)
        assert incident, verify.stdout

        # The lot's temperature report, released (e-signed) in the console, names the
        # band, the MKT, the excursion and its disposition; verify finds the file.
        report = tmp_path / "report.pdf"
        report.write_bytes(_released_report(console))
        text = _pdf_text(report.read_bytes())
        for words in (
            "Allowed band 2.0 °C to 8.0 °C",
            "Mean kinetic temperature",
            "release (quality)",
        ):
            assert words in text, text
        assert re.search(r"Cold room 1.{0,80}?\d+\.\d °C .{0,120}?inc-", text), text
        checked = subprocess.run(
            [
                sys.executable,
                "-m",
                "tracehub.cli",
                "verify",
                *command[1].split(),
                "--report",
                str(report),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        assert re.search(r"✓ report file .*released by Site administrator", checked.stdout), (
            checked.stdout
        )
        console.close()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        out.close()
    assert proc.returncode == 0, out.text


NEW_PASSWORD = "demo-admin-password-1"
LOT_REPORT = "/console/lots/04012345111118/L2026-11A/report"


def _console(site: str, one_time: str) -> httpx.Client:
    """Log in to the console with the demo's one-time password (replaced at once), find
    the scenario's incident in its list; the logged-in client."""
    web = httpx.Client(base_url=site, timeout=60)
    for fields in ({}, {"new": NEW_PASSWORD, "repeat": NEW_PASSWORD}):
        form = web.get("/console/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf, form.text
        answer = web.post(
            "/console/login",
            data={"csrf": csrf[1], "name": "admin", "password": one_time, **fields},
        )
    assert answer.status_code == 303, answer.text
    listed = web.get("/console/incidents")
    assert listed.status_code == 200
    assert "Cold room 1" in listed.text, listed.text
    return web


def _released_report(web: httpx.Client) -> bytes:
    """Release the lot's temperature report as the admin, signing with the password."""
    page = web.get(LOT_REPORT)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf, page.text
    answer = web.post(LOT_REPORT + "/release", data={"csrf": csrf[1], "password": NEW_PASSWORD})
    assert answer.status_code == 303, answer.text
    pdf = web.get(answer.headers["location"])
    assert pdf.headers["content-type"] == "application/pdf"
    return pdf.content


def _pdf_text(pdf: bytes) -> str:
    from pypdf import PdfReader

    pages = PdfReader(io.BytesIO(pdf)).pages
    return " ".join(" ".join((page.extract_text() or "").split()) for page in pages)
