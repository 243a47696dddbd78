"""Starting and stopping the processes of a local cluster, by pid.

A pid alone can be reused after its process dies, so each process is
recorded with its kernel start time too; `stop` never signals a pid whose
start time no longer matches.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Proc:
    component: str
    pid: int
    start_ticks: int
    log: str

    def to_json(self) -> dict[str, object]:
        return {
            "component": self.component,
            "pid": self.pid,
            "start_ticks": self.start_ticks,
            "log": self.log,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Proc:
        return cls(
            component=str(data["component"]),
            pid=int(str(data["pid"])),
            start_ticks=int(str(data["start_ticks"])),
            log=str(data["log"]),
        )


def spawn(component: str, argv: Sequence[str], log: Path, env: Mapping[str, str]) -> Proc:
    """Start `argv` in a session of its own, output appended to `log`.

    Raises FileNotFoundError or PermissionError when the binary cannot be run.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    pid = os.posix_spawn(
        argv[0],
        list(argv),
        dict(env),
        file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, str(log), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
            (os.POSIX_SPAWN_DUP2, 1, 2),
        ],
        # Its own session: a Ctrl-C at the terminal that ran `up` does not
        # reach the cluster, and `up` can exit while the cluster runs on.
        setsid=True,
    )
    return Proc(component, pid, _start_ticks(pid) or 0, str(log))


def alive(proc: Proc) -> bool:
    """True while the very process we started runs (a zombie counts as dead)."""
    stat = _stat(proc.pid)
    if stat is None:
        return False
    state, ticks = stat
    return ticks == proc.start_ticks and state not in ("Z", "X")


def exit_code(proc: Proc) -> int | None:
    """Reap our own child if it has exited; None if it is not ours or still runs."""
    try:
        pid, status = os.waitpid(proc.pid, os.WNOHANG)
    except ChildProcessError:
        return None
    if pid == 0:
        return None
    return os.waitstatus_to_exitcode(status)


def stop(procs: Sequence[Proc], grace: float = 10.0) -> None:
    """SIGTERM each live process, then SIGKILL whatever outlives `grace` seconds."""
    live = [p for p in procs if alive(p)]
    for proc in live:
        _signal(proc, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        for proc in live:
            exit_code(proc)
        live = [p for p in live if alive(p)]
        if not live:
            return
        time.sleep(0.05)
    kill(live)


def kill(procs: Sequence[Proc]) -> None:
    """SIGKILL each live process at once (a crash, as the kernel's OOM killer deals it); wait for the end."""
    live = [p for p in procs if alive(p)]
    for proc in live:
        _signal(proc, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while live and time.monotonic() < deadline:
        for proc in live:
            exit_code(proc)
        live = [p for p in live if alive(p)]
        time.sleep(0.02)


def _signal(proc: Proc, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, sig)


def _stat(pid: int) -> tuple[str, int] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name may hold spaces and parentheses; fields follow the last ')'.
    fields = raw[raw.rindex(")") + 2 :].split()
    return fields[0], int(fields[19])


def _start_ticks(pid: int) -> int | None:
    stat = _stat(pid)
    return stat[1] if stat else None
