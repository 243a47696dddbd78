"""How the controller copes with many Applications: cold start, steady state, drift, commits.

On a cluster of its own, with one Git repository served by `git daemon`
(APPS sets of Deployment + ServiceAccount + Service + ConfigMap, each at
its own path, see bench/workload.py), `gitward controller` runs as a child
process (the command line itself, with a /metrics server started in front
of it for the request counters) and the bench measures:

1. Cold start, two ways, each beside `kubectl apply --server-side` of the
   same 4 x APPS objects into a fresh namespace in the same round (order
   alternates by round):
   - restart: the controller is stopped, APPS Applications are created,
     and a new controller process is started; timed from its start until
     every app is Synced at the repository's commit (its git mirror on
     disk stays, as a pod's volume would);
   - bulk: APPS Applications created (one `kubectl apply`) while the
     controller runs, timed from the apply's start until every app is
     Synced. kubectl creates them one by one, so this time is at least
     kubectl's own for 1,000 Applications, which slows down as the
     controller's work shares the apiserver's CPU with it.
2. Steady state: nothing changes for --steady-seconds; the controller's CPU
   (its own and its git subprocesses'), its write requests (target 0; a
   server-side dry run is not a write) and its peak memory.
3. Drift: a hand edit of a selfHeal app's Deployment, timed until a watch
   shows the controller's revert, --drift-rounds times.
4. Commit to cluster: a commit, then the refresh annotation
   (`gitward.dev/refresh: normal`) on the apps it touches, timed until a
   watch shows the new ConfigMaps; for one app, and for 100 apps.

Usage: uv run python bench/controller.py [--apps 1000] [--rounds 1] [--no-restart]
           [--steady-seconds 300] [--drift-rounds 50] [--commit-rounds 3] [--workers N]

The later phases use the last batch of apps, which must be Healthy first:
the local controller-manager writes a new Deployment's status at a few per
second, so after a round with a restart (3,000 new Deployments) that wait
is long; `--no-restart` keeps a round to the bulk create and kubectl's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import workload
import yaml
from observe import (
    Apps,
    ControllerProcess,
    child_environment,
    cluster_cpu_seconds,
    percentile,
    prepare,
    watching,
)

from gitward.kube import Discovery, WatchCache
from gitward.kube.connection import Connection
from gitward.local import cluster, toolchain
from gitward.local.gitserver import Upstream, git_daemon
from gitward.model.content_types import MERGE_PATCH
from gitward.model.operation import REFRESH_ANNOTATION

APPS_NAMESPACE = "apps"


def app_yaml(index: int, marker: str | None = None) -> str:
    docs = workload.documents(f"app-{index:04d}", index)
    if marker is not None:
        for doc in docs:
            if doc["kind"] == "ConfigMap":
                doc["data"]["index"] = marker
    return yaml.safe_dump_all(docs)


def application(name: str, index: int, url: str, destination: str) -> dict[str, Any]:
    return {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": APPS_NAMESPACE},
        "spec": {
            "project": "default",
            "destination": {"server": "https://kubernetes.default.svc", "namespace": destination},
            "source": {"repoURL": url, "path": f"apps/app-{index:04d}", "targetRevision": "main"},
            "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
        },
    }


DEFAULT_PROJECT = {
    "apiVersion": "gitward.dev/v1alpha1",
    "kind": "AppProject",
    "metadata": {"name": "default", "namespace": APPS_NAMESPACE},
    "spec": {
        "sourceRepos": ["*"],
        "destinations": [{"server": "*", "namespace": "*"}],
        "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
    },
}


async def next_event(events: asyncio.Queue[dict[str, Any]], timeout: float, what: str) -> dict[str, Any]:
    try:
        event = await asyncio.wait_for(events.get(), timeout)
    except TimeoutError:
        raise SystemExit(f"nothing seen in {timeout:.0f}s while waiting for {what}") from None
    if event.get("type") == "ERROR":
        raise SystemExit(f"the watch for {what} failed: {(event.get('object') or {}).get('message')}")
    return event


@dataclass
class Bench:
    args: argparse.Namespace
    kubectl: list[str]
    controller: ControllerProcess
    upstream: Upstream
    url: str
    connection: Connection
    apps: Apps
    start_controller: Callable[[str], ControllerProcess]
    destination: str = ""
    names: list[str] = field(default_factory=list)

    def run_kubectl(self, *args: str, stdin: str | None = None) -> float:
        started = time.perf_counter()
        done = subprocess.run([*self.kubectl, *args], input=stdin, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"kubectl {' '.join(args[:3])}: {done.stderr.strip()[-2000:]}")
        return time.perf_counter() - started

    def listing(self, names: list[str], destination: str) -> str:
        items = [application(n, i, self.url, destination) for i, n in enumerate(names)]
        return json.dumps({"apiVersion": "v1", "kind": "List", "items": items})

    async def forget_apps(self) -> None:
        if self.names:  # the previous round's apps go first (they have no finalizer: objects stay)
            await asyncio.to_thread(
                self.run_kubectl,
                "delete",
                "applications.gitward.dev",
                "--all",
                "-n",
                APPS_NAMESPACE,
                "--wait=false",
            )

    async def restart(self, round_: int) -> float:
        """Seconds from a new controller's start, with APPS Applications waiting, until all are Synced."""
        destination = f"r{round_}-{secrets.token_hex(2)}"
        self.run_kubectl("create", "namespace", destination)
        self.controller.stop()
        await self.forget_apps()
        names = [f"r{round_}-{i:04d}" for i in range(self.args.apps)]
        await asyncio.to_thread(
            self.run_kubectl, "apply", "--server-side", "-f", "-", stdin=self.listing(names, destination)
        )
        head = self.upstream.head()
        server_cpu = cluster_cpu_seconds(self.args.name)
        started = time.perf_counter()
        self.controller = await asyncio.to_thread(self.start_controller, f"restart-{round_}")
        await self.apps.until_synced(
            len(names), head, self.args.timeout, self.controller.check, frozenset(names)
        )
        seconds = time.perf_counter() - started
        made = self.controller.requests().summary()
        print(f"  restart: {self.apps.progress}", flush=True)
        server_used = cluster_cpu_seconds(self.args.name) - server_cpu
        print(
            f"  restart: controller CPU {self.controller.cpu_seconds():.1f}s, the cluster's "
            f"(apiserver, etcd, ..., with the controller) {server_used:.1f}s; requests: {made}",
            flush=True,
        )
        self.destination, self.names = destination, names
        return seconds

    async def cold_start(self, round_: int) -> tuple[float, float, float]:
        """Seconds for: a bulk create while the controller runs, a restart, kubectl's apply."""
        token = secrets.token_hex(2)
        ours_ns, theirs_ns = f"g{round_}-{token}", f"k{round_}-{token}"
        for namespace in (ours_ns, theirs_ns):
            self.run_kubectl("create", "namespace", namespace)
        await self.forget_apps()
        names = [f"a{round_}-{i:04d}" for i in range(self.args.apps)]
        head = self.upstream.head()

        async def ours() -> float:
            before, cpu = self.controller.requests(), self.controller.cpu_seconds()
            server_cpu = cluster_cpu_seconds(self.args.name)
            started = time.perf_counter()
            creating = await asyncio.to_thread(
                self.run_kubectl, "apply", "--server-side", "-f", "-", stdin=self.listing(names, ours_ns)
            )
            print(
                f"  cold start: kubectl created the {len(names)} Applications in {creating:.2f}s", flush=True
            )
            await self.apps.until_synced(
                len(names), head, self.args.timeout, self.controller.check, frozenset(names)
            )
            seconds = time.perf_counter() - started
            print(f"  cold start: {self.apps.progress}", flush=True)
            made = (self.controller.requests() - before).summary()
            used = self.controller.cpu_seconds() - cpu
            server_used = cluster_cpu_seconds(self.args.name) - server_cpu
            print(
                f"  cold start: controller CPU {used:.1f}s, the cluster's (apiserver, etcd, ...) "
                f"{server_used:.1f}s; requests: {made}",
                flush=True,
            )
            return seconds

        async def theirs() -> float:
            folder = str(self.upstream.path / "apps")
            server_cpu = cluster_cpu_seconds(self.args.name)
            seconds = await asyncio.to_thread(
                self.run_kubectl, "apply", "--server-side", "-R", "-f", folder, "-n", theirs_ns
            )
            server_used = cluster_cpu_seconds(self.args.name) - server_cpu
            print(f"  kubectl apply: the cluster's CPU {server_used:.1f}s", flush=True)
            return seconds

        # Alternate the order so neither side always meets a warmer apiserver.
        restarted = math.nan
        if round_ % 2:
            mine = await ours()
            self.destination, self.names = ours_ns, names
            kubectl = await theirs()
            if self.args.restart:
                restarted = await self.restart(round_)
        else:
            if self.args.restart:
                restarted = await self.restart(round_)
            kubectl = await theirs()
            mine = await ours()
            self.destination, self.names = ours_ns, names
        return mine, restarted, kubectl

    async def steady(self) -> tuple[float, int, str]:
        """CPU seconds, writes, and the requests made, over a quiet window."""
        await self.apps.until_healthy(len(self.names), self.args.timeout, self.controller.check)
        await asyncio.sleep(10)  # the last passes finish (status of the last apps, Events)
        before, cpu = self.controller.requests(), self.controller.cpu_seconds()
        deadline = time.monotonic() + self.args.steady_seconds
        while time.monotonic() < deadline:
            self.controller.check()
            await asyncio.sleep(min(5.0, max(0.0, deadline - time.monotonic())))
        made = self.controller.requests() - before
        return self.controller.cpu_seconds() - cpu, made.writes, made.summary()

    async def drift(self) -> list[float]:
        """Seconds from a hand edit of a selfHeal app's Deployment until the revert is seen."""
        path = f"/apis/apps/v1/namespaces/{self.destination}/deployments"
        name = "app-0000"
        latencies: list[float] = []
        for _ in range(self.args.drift_rounds):
            selector = f"metadata.name={name}"
            # A list's version is current; the object's own may be older than the server's watch
            # window (410 Gone) when it has not changed for a while.
            listing = await self.connection.request("GET", path, params={"fieldSelector": selector})
            desired = listing["items"][0]["spec"]["replicas"]
            params = {"fieldSelector": selector, "resourceVersion": listing["metadata"]["resourceVersion"]}
            async with watching(self.connection, path, params) as events:
                started = time.perf_counter()
                patched = await self.connection.request(
                    "PATCH",
                    f"{path}/{name}",
                    body={"spec": {"replicas": desired + 3}},
                    content_type=MERGE_PATCH,
                )
                edited = patched["metadata"]["generation"]
                while True:
                    try:
                        obj = (await next_event(events, 120, f"the revert of {name}"))["object"]
                    except SystemExit:
                        await self.explain(self.names[0])
                        raise
                    if obj["metadata"].get("generation", 0) > edited and obj["spec"]["replicas"] == desired:
                        break
                latencies.append(time.perf_counter() - started)
            await asyncio.sleep(0.5)  # let the pass that healed it write its status
        return latencies

    async def refresh_left(self, apps: str, indices: list[int]) -> bool:
        """Whether an app still has the previous round's refresh annotation after 10 s."""
        deadline = time.monotonic() + 10
        while True:
            found = await asyncio.gather(
                *(self.connection.request("GET", f"{apps}/{self.names[i]}") for i in indices)
            )
            if not any(REFRESH_ANNOTATION in (app["metadata"].get("annotations") or {}) for app in found):
                return False
            if time.monotonic() > deadline:
                return True
            await asyncio.sleep(0.2)

    async def explain(self, name: str) -> None:
        """What the app's status says, for a wait that timed out."""
        app = await self.connection.request(
            "GET", f"/apis/gitward.dev/v1alpha1/namespaces/{APPS_NAMESPACE}/applications/{name}"
        )
        status = app.get("status") or {}
        state = status.get("operationState") or {}
        print(f"{name}: sync {status.get('sync', {}).get('status')}, operation {state.get('phase')}")
        print(f"  operation message: {state.get('message')}")
        for condition in status.get("conditions") or []:
            print(f"  condition {condition.get('type')}: {condition.get('message')}")

    async def commit(self, indices: list[int], marker: str) -> tuple[float, bool]:
        """Seconds from a commit touching `indices` (and their refresh) until every new ConfigMap is live.

        Also whether the controller had removed the previous refresh annotations
        (if not, setting it again changes nothing, so a second annotation nudges).
        """
        path = f"/api/v1/namespaces/{self.destination}/configmaps"
        apps = f"/apis/gitward.dev/v1alpha1/namespaces/{APPS_NAMESPACE}/applications"
        stale = await self.refresh_left(apps, indices)
        annotations = {REFRESH_ANNOTATION: "normal", **({"bench.gitward.dev/nudge": marker} if stale else {})}
        listing = await self.connection.request("GET", path, params={"limit": "1"})
        params = {"resourceVersion": listing["metadata"]["resourceVersion"]}
        async with watching(self.connection, path, params) as events:
            files = {f"apps/app-{i:04d}/app.yaml": app_yaml(i, marker) for i in indices}
            await asyncio.to_thread(self.upstream.commit, files, f"bench {marker}")
            started = time.perf_counter()
            await asyncio.gather(
                *(
                    self.connection.request(
                        "PATCH",
                        f"{apps}/{self.names[i]}",
                        body={"metadata": {"annotations": annotations}},
                        content_type=MERGE_PATCH,
                    )
                    for i in indices
                )
            )
            pending = {f"app-{i:04d}" for i in indices}
            while pending:
                obj = (await next_event(events, self.args.timeout, f"{sorted(pending)[:3]}"))["object"]
                if (obj.get("data") or {}).get("index") == marker:
                    pending.discard(obj["metadata"]["name"])
            return time.perf_counter() - started, not stale


async def measure(bench: Bench) -> None:
    """Every phase in turn; a phase given 0 rounds or seconds is left out."""
    args = bench.args
    await bench.apps.start()
    ours: list[float] = []
    restarts: list[float] = []
    theirs: list[float] = []
    for round_ in range(1, args.rounds + 1):
        mine, restarted, kubectl = await bench.cold_start(round_)
        ours.append(mine)
        restarts.append(restarted)
        theirs.append(kubectl)
        restart_part = f"by a restarted controller in {restarted:.2f}s, " if args.restart else ""
        print(
            f"round {round_}: {args.apps} apps Synced {restart_part}"
            f"created while it ran in {mine:.2f}s; kubectl apply --server-side of "
            f"{4 * args.apps} objects {kubectl:.2f}s",
            flush=True,
        )
    if not args.restart:
        restarts = theirs  # no restarts timed: their lines are left out below

    def ratios(values: list[float]) -> str:
        each = [o / k for o, k in zip(values, theirs, strict=True)]
        return ", ".join(f"{r:.2f}x" for r in each) + f" (median {statistics.median(each):.2f}x)"

    mr, mo, mk = statistics.median(restarts), statistics.median(ours), statistics.median(theirs)
    restart_lines = [
        f"  cold start, controller started -> all Synced: {mr:.2f}s = {mr / mk:.2f}x (target <= 1.5x)",
        f"    ratio per round:                          {ratios(restarts)}",
    ]
    summary = [
        f"{args.apps} apps ({4 * args.apps} objects), one repository, {args.rounds} round(s), medians:",
        f"  kubectl apply --server-side, same objects:  {mk:.2f}s",
        *(restart_lines if args.restart else []),
        f"  bulk create while running, apply -> all Synced: {mo:.2f}s = {mo / mk:.2f}x",
        # Each round's runs were side by side; later rounds also watch the earlier rounds' objects.
        f"    ratio per round:                          {ratios(ours)}",
        f"  controller peak RSS after cold start:       {bench.controller.rss_mib():.0f} MiB",
    ]
    if args.steady_seconds > 0:
        cpu, writes, made = await bench.steady()
        print(f"steady state, {args.steady_seconds:.0f}s: CPU {cpu:.2f}s, requests: {made}", flush=True)
        share = 100 * cpu / args.steady_seconds
        summary += [
            f"steady state ({args.steady_seconds:.0f}s, nothing changes):",
            f"  controller CPU (with its git children):    {cpu:.2f}s = {share:.1f}% of a core",
            f"  write requests:                            {writes} (target 0)",
            f"  requests made:                             {made}",
        ]
    if args.drift_rounds > 0:
        drift = await bench.drift()
        p50, p99 = percentile(drift, 0.5), percentile(drift, 0.99)
        print(f"drift: {len(drift)} reverts, p50 {p50:.3f}s", flush=True)
        summary += [
            f"drift revert latency, {len(drift)} edits:",
            f"  p50 {p50:.3f}s (target < 0.5 s), p99 {p99:.3f}s (target < 2 s)",
        ]
    if args.commit_rounds > 0:
        summary += await commits(bench)
    peak = bench.controller.rss_mib()
    summary.append(f"controller peak RSS (whole run):             {peak:.0f} MiB (target < 250 MiB)")
    print()
    print("\n".join(summary))


async def commits(bench: Bench) -> list[str]:
    args = bench.args
    one: list[float] = []
    many: list[float] = []
    handled = True
    width = min(100, args.apps)
    for round_ in range(args.commit_rounds):
        seconds, removed = await bench.commit([(7 * round_ + 1) % args.apps], f"one-{round_}")
        one.append(seconds)
        handled = handled and removed
        start = (width * round_) % max(1, args.apps - width + 1)
        seconds, removed = await bench.commit(list(range(start, start + width)), f"many-{round_}")
        many.append(seconds)
        handled = handled and removed
        print(f"commit round {round_ + 1}: 1 app {one[-1]:.2f}s, {width} apps {many[-1]:.2f}s", flush=True)
    lines = [
        f"commit to cluster with {REFRESH_ANNOTATION}: normal, {args.commit_rounds} round(s), medians:",
        f"  one app:  {statistics.median(one):.2f}s",
        f"  {width} apps: {statistics.median(many):.2f}s (the last of them live)",
    ]
    if not handled:
        lines.append(
            f"  (the controller left {REFRESH_ANNOTATION} in place; later rounds also changed another "
            "annotation)"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=1, help="cold-start rounds")
    parser.add_argument(
        "--restart",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also time a restarted controller with the apps waiting (--no-restart: the later phases "
        "need the last batch Healthy, and the controller-manager rolls out Deployments at ~6/s)",
    )
    parser.add_argument("--steady-seconds", type=float, default=300.0)
    parser.add_argument("--drift-rounds", type=int, default=50)
    parser.add_argument("--commit-rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=None, help="default: the controller's own")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds any one wait may take")
    parser.add_argument("--name", default=f"bench-controller-{secrets.token_hex(3)}", help="cluster name")
    args = parser.parse_args()
    # `timeout` and CI send SIGTERM: stop the cluster and the controller all the same.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if toolchain.missing(toolchain.CLUSTER_TOOLS):
        raise SystemExit("build the toolchain first: gitward local toolchain --build")

    work = Path(tempfile.mkdtemp(prefix="gitward-bench-controller-"))
    state = cluster.up(args.name, nodes=2, build=False)
    kubeconfig = state.layout.kubeconfig
    kubectl = [str(toolchain.find("kubectl")), f"--kubeconfig={kubeconfig}"]
    started: list[ControllerProcess] = []
    try:
        prepare(kubectl, APPS_NAMESPACE, [DEFAULT_PROJECT])
        upstream = Upstream(work / "served" / "bench")
        upstream.commit({f"apps/app-{i:04d}/app.yaml": app_yaml(i) for i in range(args.apps)}, "apps")
        env = child_environment(work)
        with git_daemon(work / "served") as prefix:
            options = ["--namespace", APPS_NAMESPACE, "--kubeconfig", str(kubeconfig), "--no-leader-elect"]
            if args.workers:
                options += ["--workers", str(args.workers)]

            def start(label: str) -> ControllerProcess:
                started.append(ControllerProcess(options, env, work / f"controller-{label}.log"))
                return started[-1]

            async def run() -> None:
                async with Connection.from_kubeconfig(kubeconfig) as connection:
                    cache = WatchCache(connection, Discovery(connection))
                    try:
                        apps = Apps(connection, cache, APPS_NAMESPACE)
                        bench = Bench(
                            args,
                            kubectl,
                            start("first"),
                            upstream,
                            f"{prefix}/bench",
                            connection,
                            apps,
                            start,
                        )
                        await measure(bench)
                    finally:
                        await cache.aclose()

            try:
                asyncio.run(run())
            finally:
                for controller in started:
                    controller.stop()
                    kept = Path(tempfile.gettempdir()) / f"{args.name}-{controller.log.name}"
                    shutil.copyfile(controller.log, kept)
                    print(f"controller log: {kept}")
    finally:
        cluster.down(args.name)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
