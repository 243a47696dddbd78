"""`gitward controller` as a real process, as an operator runs it: its log, its /metrics, a kill."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from gitward.local.gitserver import free_port
from tests.helpers import Cluster


@dataclass
class ControllerProcess:
    process: subprocess.Popen[bytes]
    log: Path
    health_port: int

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def identity(self) -> str | None:
        """The Lease identity it announced when it started leading."""
        found = re.search(r"leading\b.*\bidentity=(\S+)", self.text())
        return found.group(1) if found else None

    def working(self) -> bool:
        """Its workers started: logged once it leads (or at once without leader election)."""
        return "controller running" in self.text()

    def reconciles(self) -> int:
        """How many reconciles it ran, from its own /metrics."""
        metrics = httpx.get(f"http://127.0.0.1:{self.health_port}/metrics", timeout=5).text
        counts = re.findall(r"^gitward_app_reconcile_duration_seconds_count\{[^}]*\} (\S+)$", metrics, re.M)
        return int(sum(float(c) for c in counts))


@contextmanager
def controller_process(
    cluster: Cluster, namespace: str, folder: Path, *args: str, launcher: Sequence[str] = ()
) -> Iterator[ControllerProcess]:
    """`gitward controller` for `namespace` with a 1 s poll, its cache and log in `folder`; killed at exit.

    `launcher`: a command prefix it runs under (e.g. one that puts it in a memory cgroup).
    """
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "controller.log"
    port = free_port()
    env = {
        **os.environ,
        "GITWARD_CACHE": str(folder / "cache"),
        "GITWARD_HEALTH_PORT": str(port),
        "PYTHONUNBUFFERED": "1",
        "NO_COLOR": "1",
    }
    command = [*launcher, sys.executable, "-m", "gitward", "controller", "--namespace", namespace]
    command += ["--kubeconfig", str(cluster.kubeconfig), "--poll", "1", *args]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        yield ControllerProcess(process, log, port)
    finally:
        process.kill()
        process.wait()
