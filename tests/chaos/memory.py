"""A memory limit for one test process, enforced by the kernel as a Pod's limit is: a cgroup.

A child of this test process's own memory cgroup (v1 `memory.limit_in_bytes`
or v2 `memory.max`), so whatever the machine's own accounting is stays in
force above it. A process that goes over the limit is killed by the
kernel's OOM killer with SIGKILL, and the cgroup counts it (`oom_kill`).
"""

from __future__ import annotations

import contextlib
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class MemoryCgroup:
    path: Path
    v1: bool

    def launcher(self) -> list[str]:
        """A prefix for a command line: the command runs inside this cgroup from its first byte."""
        return ["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', str(self.path)]

    def usage(self) -> int:
        return int((self.path / ("memory.usage_in_bytes" if self.v1 else "memory.current")).read_text())

    def limit(self, limit: int) -> None:
        if self.v1:
            (self.path / "memory.limit_in_bytes").write_text(str(limit))
        else:
            (self.path / "memory.swap.max").write_text("0")
            (self.path / "memory.max").write_text(str(limit))

    def oom_kills(self) -> int:
        text = (self.path / ("memory.oom_control" if self.v1 else "memory.events")).read_text()
        found = re.search(r"^oom_kill (\d+)$", text, re.M)
        return int(found.group(1)) if found else 0


def _own() -> tuple[Path, bool] | None:
    """This process's memory cgroup directory, and whether it is cgroup v1."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            return ROOT / "memory" / path.lstrip("/"), True
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        if line.startswith("0::"):
            own = ROOT / line[3:].lstrip("/")
            if "memory" in (own / "cgroup.controllers").read_text().split():
                return own, False
    return None


@contextlib.contextmanager
def memory_cgroup() -> Iterator[MemoryCgroup | None]:
    """A fresh child memory cgroup, or None where this machine does not let us make one."""
    own = _own()
    if own is None:
        yield None
        return
    parent, v1 = own
    path = parent / f"gitward-chaos-{secrets.token_hex(3)}"
    try:
        path.mkdir()
        if not v1:
            # v2 limits a child only when the parent hands the controller down.
            (parent / "cgroup.subtree_control").write_text("+memory")
    except OSError:
        with contextlib.suppress(OSError):
            path.rmdir()
        yield None
        return
    try:
        yield MemoryCgroup(path, v1)
    finally:
        with contextlib.suppress(OSError):
            path.rmdir()  # empty once its processes have ended
