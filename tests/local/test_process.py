from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from gitward.local.process import Proc, alive, exit_code, spawn, stop


def _sleeper(tmp_path: Path, name: str = "sleeper") -> Proc:
    return spawn(name, ["/bin/sh", "-c", "echo started; exec sleep 60"], tmp_path / f"{name}.log", os.environ)


def test_spawn_writes_output_to_the_log_and_stop_ends_the_process(tmp_path: Path) -> None:
    proc = _sleeper(tmp_path)
    assert alive(proc)
    deadline = time.monotonic() + 5
    while "started" not in Path(proc.log).read_text() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert "started" in Path(proc.log).read_text()
    stop([proc], grace=2)
    assert not alive(proc)


def test_a_process_that_ignores_sigterm_is_killed_after_the_grace_period(tmp_path: Path) -> None:
    script = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
        " print('up', flush=True); time.sleep(60)"
    )
    proc = spawn("stubborn", [sys.executable, "-c", script], tmp_path / "s.log", os.environ)
    deadline = time.monotonic() + 5
    while "up" not in Path(proc.log).read_text() and time.monotonic() < deadline:
        time.sleep(0.02)
    stop([proc], grace=0.5)
    assert not alive(proc)


def test_a_reused_pid_is_not_mistaken_for_our_process(tmp_path: Path) -> None:
    proc = _sleeper(tmp_path)
    impostor = Proc(proc.component, proc.pid, proc.start_ticks + 1, proc.log)
    assert not alive(impostor)
    stop([impostor], grace=0.2)
    assert alive(proc), "stop must not signal a pid whose start time differs"
    stop([proc], grace=2)


def test_exit_code_reports_how_a_child_ended(tmp_path: Path) -> None:
    proc = spawn("quitter", ["/bin/sh", "-c", "exit 7"], tmp_path / "q.log", os.environ)
    deadline = time.monotonic() + 5
    code = None
    while code is None and time.monotonic() < deadline:
        code = exit_code(proc)
        time.sleep(0.01)
    assert code == 7
    assert not alive(proc)


def test_a_missing_binary_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        spawn("ghost", ["/nonexistent/ghost"], tmp_path / "g.log", os.environ)


def test_a_killed_but_unreaped_child_counts_as_dead(tmp_path: Path) -> None:
    proc = _sleeper(tmp_path)
    os.kill(proc.pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    # Not reaped: the pid still exists, as a zombie, yet the component is gone.
    while alive(proc) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert Path(f"/proc/{proc.pid}").exists()
    assert not alive(proc)
    assert exit_code(proc) == -signal.SIGKILL
