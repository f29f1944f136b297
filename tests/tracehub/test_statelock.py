"""One hub per state folder: the lock refuses a second holder, names the first, and is
gone with its holder however it ends (the kernel drops a flock at exit, SIGKILL too)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tracehub.statelock import LOCK_FILE, StateLock, StateLockedError


def test_a_second_holder_is_refused_with_the_pid_and_the_folder(tmp_path: Path) -> None:
    with StateLock(tmp_path / "state"):
        with pytest.raises(StateLockedError) as refused:
            StateLock(tmp_path / "state").acquire()
        assert refused.value.pid == os.getpid()
        assert f"pid {os.getpid()}" in str(refused.value)
        assert str(tmp_path / "state") in str(refused.value)
        assert "TRACEHUB_STATE_DIR" in str(refused.value)
    again = StateLock(tmp_path / "state")
    again.acquire()  # released at exit of the first
    assert again.held
    again.release()
    assert (tmp_path / "state" / LOCK_FILE).exists()  # kept: removing it would race


def test_other_folders_are_not_locked(tmp_path: Path) -> None:
    with StateLock(tmp_path / "a"), StateLock(tmp_path / "b") as other:
        assert other.held


HOLD = (
    "import sys; from pathlib import Path; from tracehub.statelock import StateLock\n"
    "lock = StateLock(Path(sys.argv[1])); lock.acquire()\n"
    # close_fds=False: the lock's descriptor must be close-on-exec by itself
    "import subprocess; child = subprocess.Popen(['sleep', '60'], close_fds=False)\n"
    "print(child.pid, flush=True); sys.stdin.read()\n"
)


def test_a_sigkilled_holder_leaves_no_stale_lock_even_with_a_child_alive(
    tmp_path: Path,
) -> None:
    """The lock is not inherited by what the hub spawns: a child outliving its SIGKILLed
    hub (a broker still shutting down) must not block the restart."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    with holder, holder.stdout:
        child = int(holder.stdout.readline())
        try:
            with pytest.raises(StateLockedError, match=f"pid {holder.pid} "):
                StateLock(tmp_path).acquire()
            holder.send_signal(signal.SIGKILL)
            holder.wait()
            os.kill(child, 0)  # still running: it could hold the lock if it had inherited it
            with StateLock(tmp_path) as lock:
                assert lock.held
        finally:
            os.kill(child, signal.SIGKILL)


@pytest.mark.parametrize("command", [["demo"], ["run", "--insecure-plain"]])
def test_run_and_demo_refuse_a_locked_state_folder_before_spawning(
    tmp_path: Path, command: list[str]
) -> None:
    from click.testing import CliRunner

    from tracehub.cli import main

    state = tmp_path / "state"
    with StateLock(state):
        result = CliRunner().invoke(main, command, env={"TRACEHUB_STATE_DIR": str(state)})
    assert result.exit_code == 1, result.output
    assert f"in use by another tracehub (pid {os.getpid()} holds" in result.output
    assert sorted(p.name for p in state.iterdir()) == [LOCK_FILE]  # nothing spawned
