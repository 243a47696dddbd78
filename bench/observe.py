"""What bench/controller.py watches: the controller's process, its request counters, and the cluster.

The controller runs as `gitward controller` in a child process; the
counters of gitward.kube.metrics are read from its /metrics (its health
port; a controller without one gets prometheus-client's HTTP server started
in front of it), CPU and memory from /proc.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from gitward.install.crds import crds
from gitward.kube import WatchCache
from gitward.kube.connection import Connection
from gitward.kube.metrics import WRITE_VERBS
from gitward.local import toolchain
from gitward.local.gitserver import free_port

# For a controller without a health port: `gitward controller` as the command line runs it, behind /metrics.
_CHILD = """\
import sys
import prometheus_client
prometheus_client.start_http_server(int(sys.argv.pop(1)), addr="127.0.0.1")
sys.argv[0] = "gitward"
from gitward.cli import main
main()
"""


@dataclass(frozen=True)
class Requests:
    """Counter totals by (verb, dry_run)."""

    counts: Mapping[tuple[str, str], float]

    def __sub__(self, other: Requests) -> Requests:
        keys = set(self.counts) | set(other.counts)
        return Requests({k: self.counts.get(k, 0.0) - other.counts.get(k, 0.0) for k in keys})

    @property
    def fetches(self) -> int:
        return int(self.counts.get(("git fetch", ""), 0))

    @property
    def writes(self) -> int:
        return int(sum(v for (verb, dry), v in self.counts.items() if verb in WRITE_VERBS and dry == "false"))

    @property
    def dry_runs(self) -> int:
        return int(sum(v for (_, dry), v in self.counts.items() if dry == "true"))

    @property
    def reads(self) -> int:
        return int(sum(v for (verb, dry), v in self.counts.items() if verb not in WRITE_VERBS and dry))

    def summary(self) -> str:
        parts = [
            f"{verb}{' (dry run)' if dry == 'true' else ''} {int(v)}"
            for (verb, dry), v in sorted(self.counts.items())
            if v
        ]
        return ", ".join(parts) or "none"


def cluster_cpu_seconds(name: str) -> float:
    """User and system CPU of one local cluster's processes (apiserver, etcd, controllers, kwok)."""
    marker = f"/clusters/{name}/"
    total = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if marker not in (proc / "cmdline").read_bytes().decode(errors="replace"):
                continue
            fields = (proc / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue  # gone meanwhile
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


class ControllerProcess:
    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.log = log
        help_text = subprocess.run(
            [sys.executable, "-m", "gitward", "controller", "--help"], capture_output=True, text=True, env=env
        ).stdout
        # A profile for development: uv run --with pyinstrument, GITWARD_BENCH_PROFILE=report.txt.
        profile = os.environ.get("GITWARD_BENCH_PROFILE")
        self.profiling = bool(profile)
        if profile:
            command = [sys.executable, "-m", "pyinstrument", "-r", "pstats", "-o", profile]
            command += ["-m", "gitward", "controller", *args, "--health-port", str(self.port)]
        elif "--health-port" in help_text:
            command = [sys.executable, "-m", "gitward", "controller", *args, "--health-port", str(self.port)]
        else:
            command = [sys.executable, "-c", _CHILD, str(self.port), "controller", *args]
        with log.open("wb") as out:
            self.proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                self.requests()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"the controller did not start; see {log}:\n{self.tail()}") from None
                time.sleep(0.2)

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def check(self) -> None:
        if self.proc.poll() is not None:
            raise SystemExit(f"the controller exited with {self.proc.returncode}:\n{self.tail()}")

    def requests(self) -> Requests:
        """The API requests made so far; ("git", "fetch") counts the fetches into mirrors."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=10) as answer:
            text = answer.read().decode()
        counts: dict[tuple[str, str], float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == "gitward_kube_requests_total":
                    counts[(sample.labels["verb"], sample.labels["dry_run"])] = sample.value
                elif sample.name == "gitward_git_fetch_duration_seconds_count":
                    counts[("git fetch", "")] = counts.get(("git fetch", ""), 0.0) + sample.value
        return Requests(counts)

    def cpu_seconds(self) -> float:
        """User and system CPU of the controller and of the subprocesses it waited for (git)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rpartition(")")[2].split()
        ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))  # utime stime cutime cstime
        return ticks / os.sysconf("SC_CLK_TCK")

    def rss_mib(self, field: str = "VmHWM") -> float:
        """Peak (VmHWM) or current (VmRSS) resident memory."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        if self.proc.poll() is None:
            # Ctrl-C ends `gitward controller` cleanly, so a profiler writes its report.
            self.proc.send_signal(signal.SIGINT if self.profiling else signal.SIGTERM)
            try:
                self.proc.wait(timeout=120 if self.profiling else 15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Apps:
    """The Applications of one namespace, as a watch keeps them."""

    def __init__(self, connection: Connection, cache: WatchCache, namespace: str) -> None:
        self.connection = connection
        self.cache = cache
        self.namespace = namespace
        self.progress = ""  # how the last wait went: when half, 90 % and 99 % of the apps got there

    async def start(self) -> None:
        await self.cache.ensure("gitward.dev/v1alpha1", "Application")

    def synced(self, revision: str, names: frozenset[str] | None = None) -> int:
        """Apps Synced at `revision` (of `names` only, when given: earlier rounds' may linger)."""
        count = 0
        for key in self.cache.store.keys("gitward.dev", "Application"):
            if key.namespace != self.namespace or (names is not None and key.name not in names):
                continue
            sync = ((self.cache.store.get(key) or {}).get("status") or {}).get("sync") or {}
            count += sync.get("status") == "Synced" and sync.get("revision") == revision
        return count

    def healthy(self) -> int:
        return sum(
            ((self.cache.store.get(k) or {}).get("status") or {}).get("health", {}).get("status") == "Healthy"
            for k in self.cache.store.keys("gitward.dev", "Application")
            if k.namespace == self.namespace
        )

    async def until_synced(
        self,
        count: int,
        revision: str,
        timeout: float,
        alive: Callable[[], None],
        names: frozenset[str] | None = None,
    ) -> None:
        await self._until(lambda: self.synced(revision, names), count, "Synced", timeout, alive)

    async def until_healthy(self, count: int, timeout: float, alive: Callable[[], None]) -> None:
        await self._until(self.healthy, count, "Healthy", timeout, alive)

    async def _until(
        self, counted: Callable[[], int], count: int, what: str, timeout: float, alive: Callable[[], None]
    ) -> None:
        started = time.monotonic()
        deadline = started + timeout
        marks = {round(count * share): f"{int(share * 100)}%" for share in (0.5, 0.9, 0.99)}
        reached: list[str] = []
        while (done := counted()) < count:
            alive()
            if time.monotonic() > deadline:
                raise SystemExit(f"only {done} of {count} apps {what} after {timeout:.0f}s")
            for mark in [m for m in marks if m <= done]:
                reached.append(f"{marks.pop(mark)} at {time.monotonic() - started:.1f}s")
            await asyncio.sleep(0.1)
        reached.append(f"all at {time.monotonic() - started:.1f}s")
        self.progress = f"{what}: " + ", ".join(reached)


@contextlib.asynccontextmanager
async def watching(
    connection: Connection, path: str, params: Mapping[str, str]
) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
    """A watch's events in a queue, for as long as the block runs."""
    events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def pump() -> None:
        async for event in connection.watch(path, params):
            await events.put(event)

    task = asyncio.create_task(pump())
    try:
        yield events
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (p99 of 50 values is the largest one)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def prepare(kubectl: list[str], namespace: str, objects: list[dict[str, Any]]) -> None:
    """The apps' namespace and gitward's CRDs, Established; then `objects` (an AppProject...)."""
    setup = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}, *crds()]
    for items in (setup, objects):
        if not items:
            continue  # kubectl refuses to apply an empty list
        subprocess.run(
            [*kubectl, "apply", "--server-side", "-f", "-"],
            input=json.dumps({"apiVersion": "v1", "kind": "List", "items": items}),
            check=True,
            capture_output=True,
            text=True,
        )
        if items is not setup:
            continue
        names = ["crd/applications.gitward.dev", "crd/appprojects.gitward.dev"]
        for attempt in range(30):
            # kubectl wait fails at once while a new CRD has no conditions at all: ask again.
            waited = subprocess.run(
                [*kubectl, "wait", "--for=condition=Established", "--timeout=60s", *names],
                capture_output=True,
                text=True,
            )
            if waited.returncode == 0:
                break
            if attempt == 29:
                raise SystemExit(f"the CRDs did not become Established: {waited.stderr.strip()}")
            time.sleep(1)


def child_environment(work: Path) -> dict[str, str]:
    """The environment of a controller (or server) child process of a bench."""
    env = {
        **os.environ,
        # A cache of its own: a cold start fetches and renders everything once.
        "GITWARD_CACHE": str(work / "cache"),
        "GITWARD_TOOL_HELM": str(toolchain.find("helm")),
        "GITWARD_TOOL_KUSTOMIZE": str(toolchain.find("kustomize")),
        # Compiled modules cached as an installed gitward has them (see bench/sync.py).
        "PYTHONPYCACHEPREFIX": str(Path(tempfile.gettempdir()) / "gitward-bench-pycache"),
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env
