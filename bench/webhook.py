"""From a Git push webhook to the apps Synced at the pushed commit: one app, and a monorepo push.

On a cluster of its own, with one repository of APPS apps served by
`git daemon` (the workload of bench/controller.py), `gitward controller`
(polling Git only once an hour, so nothing but a refresh brings a commit
in) and `gitward server` run as processes. Each round commits to the
repository, then times until every app the commit touched reports Synced
at that commit, twice, side by side, in alternating order:

- webhook: one signed GitHub push POST to /api/webhook (the server matches
  the apps by path and sets their refresh annotation, coalesced);
- baseline: the refresh annotation patched onto exactly those apps directly,
  what a perfect webhook handler would do at no cost.

for one app, and for a push touching WIDTH of the APPS apps. Prints p50s
and the ratio webhook / baseline. Targets: p50 under 1 s (one app) and
under 5 s (100 of 1,000 apps).

Usage: uv run python bench/webhook.py [--apps 1000] [--width 100] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import httpx
from observe import Apps, ControllerProcess, percentile, prepare
from prometheus_client.parser import text_string_to_metric_families

from controller import APPS_NAMESPACE, DEFAULT_PROJECT, app_yaml, application
from gitward.kube import Discovery, WatchCache
from gitward.kube.connection import Connection
from gitward.local import cluster, toolchain
from gitward.local.gitserver import Upstream, git_daemon
from gitward.model.content_types import MERGE_PATCH
from gitward.model.operation import REFRESH_ANNOTATION
from gitward.model.resource import ResourceKey

SECRET = secrets.token_hex(16)
DESTINATION = "webhook-bench"


def run(kubectl: list[str], *args: str, stdin: str | None = None) -> None:
    done = subprocess.run([*kubectl, *args], input=stdin, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"kubectl {' '.join(args[:3])}: {done.stderr.strip()[-2000:]}")


def push_payload(url: str, before: str, after: str, changed: list[str]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {
            "ref": "refs/heads/main",
            "before": before,
            "after": after,
            "repository": {"name": "bench", "clone_url": url, "default_branch": "main"},
            "commits": [{"id": after, "added": [], "modified": changed, "removed": []}],
        }
    ).encode()
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "X-GitHub-Event": "push",
        "X-Hub-Signature-256": f"sha256={signature}",
        "Content-Type": "application/json",
    }
    return body, headers


class Bench:
    def __init__(
        self,
        args: argparse.Namespace,
        upstream: Upstream,
        url: str,
        connection: Connection,
        cache: WatchCache,
        api: httpx.AsyncClient,
        controller: ControllerProcess,
    ) -> None:
        self.args = args
        self.upstream = upstream
        self.url = url
        self.connection = connection
        self.cache = cache
        self.api = api
        self.controller = controller
        self.names = [f"w-{i:04d}" for i in range(args.apps)]

    def at(self, names: list[str], sha: str) -> int:
        """How many of `names` report Synced at `sha`, from the watch cache."""
        count = 0
        for name in names:
            obj = self.cache.store.get(ResourceKey("gitward.dev", "Application", APPS_NAMESPACE, name))
            sync = ((obj or {}).get("status") or {}).get("sync") or {}
            count += sync.get("status") == "Synced" and sync.get("revision") == sha
        return count

    async def settle(self) -> None:
        """Wait until the controller is idle (nothing queued, no reconcile finished for a second),
        so neither side of a pair inherits the other's leftover work."""
        last: float | None = None
        deadline = time.monotonic() + self.args.timeout
        while time.monotonic() < deadline:
            depth, done = await asyncio.to_thread(activity, self.controller)
            if depth == 0 and last == done:
                return
            last = done if depth == 0 else None
            await asyncio.sleep(1.0)
        raise SystemExit("the controller never became idle")

    async def round(self, indices: list[int], marker: str, mode: str) -> float:
        await self.settle()
        files = {f"apps/app-{i:04d}/app.yaml": app_yaml(i, f"{marker}-{mode}") for i in indices}
        before = self.upstream.head()
        after = await asyncio.to_thread(self.upstream.commit, files, f"bench {marker} {mode}")
        names = [self.names[i] for i in indices]
        apps = f"/apis/gitward.dev/v1alpha1/namespaces/{APPS_NAMESPACE}/applications"
        started = time.perf_counter()
        if mode == "webhook":
            body, headers = push_payload(self.url, before, after, list(files))
            answer = await self.api.post("/api/webhook", content=body, headers=headers)
            if answer.status_code != 202 or answer.json()["refreshed"] != len(indices):
                raise SystemExit(f"webhook answered {answer.status_code}: {answer.text[:500]}")
        else:
            # A refresh still on an app (the controller has not finished the last one) would make
            # this patch a no-op: a second annotation that changes makes it an event all the same.
            annotations = {REFRESH_ANNOTATION: "normal", "bench.gitward.dev/nudge": f"{marker}-{mode}"}
            await asyncio.gather(
                *(
                    self.connection.request(
                        "PATCH",
                        f"{apps}/{n}",
                        body={"metadata": {"annotations": annotations}},
                        content_type=MERGE_PATCH,
                    )
                    for n in names
                )
            )
        deadline = started + self.args.timeout
        while self.at(names, after) < len(names):
            self.controller.check()
            if time.perf_counter() > deadline:
                raise SystemExit(f"only {self.at(names, after)} of {len(names)} apps Synced at {after[:12]}")
            await asyncio.sleep(0.01)
        return time.perf_counter() - started


async def measure(bench: Bench) -> list[str]:
    args = bench.args
    width = min(args.width, args.apps)
    times: dict[tuple[str, str], list[float]] = {}
    for round_ in range(args.rounds):
        one = [(13 * round_ + 5) % args.apps]
        start = (width * round_) % max(1, args.apps - width + 1)
        many = list(range(start, start + width))
        modes = ("webhook", "baseline") if round_ % 2 == 0 else ("baseline", "webhook")
        for label, indices in (("one", one), ("many", many)):
            for mode in modes:
                seconds = await bench.round(indices, f"r{round_}-{label}", mode)
                times.setdefault((label, mode), []).append(seconds)
                print(f"round {round_ + 1}: {len(indices)} app(s), {mode}: {seconds:.2f}s", flush=True)
    lines = [f"{args.apps} apps, {args.rounds} round(s); seconds from the POST (or patch) to all Synced:"]
    targets = {"one": 1.0, "many": 5.0}
    for label, count in (("one", 1), ("many", width)):
        hook, base = times[(label, "webhook")], times[(label, "baseline")]
        p50 = statistics.median(hook)
        lines.append(
            f"  {count:4} app(s): webhook p50 {p50:.2f}s (max {percentile(hook, 1.0):.2f}s), "
            f"baseline p50 {statistics.median(base):.2f}s, ratio {p50 / statistics.median(base):.2f}x; "
            f"target < {targets[label]:.0f} s: {'met' if p50 < targets[label] else 'NOT met'}"
        )
    metrics = (await bench.api.get("/metrics")).text
    written = [
        line for line in metrics.splitlines() if line.startswith("gitward_webhook_refresh_patches_total")
    ]
    lines.append("  server: " + "; ".join(written))
    return lines


def activity(controller: ControllerProcess) -> tuple[float, float]:
    """The controller's work-queue depth and its count of finished reconciles."""
    with urllib.request.urlopen(f"http://127.0.0.1:{controller.port}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    depth, done = 0.0, 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "gitward_workqueue_depth":
                depth = sample.value
            elif sample.name == "gitward_app_reconcile_duration_seconds_count":
                done += sample.value
    return depth, done


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument("--width", type=int, default=100, help="apps the monorepo push touches")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds any one wait may take")
    parser.add_argument("--name", default=f"bench-webhook-{secrets.token_hex(3)}", help="cluster name")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if toolchain.missing(toolchain.CLUSTER_TOOLS):
        raise SystemExit("build the toolchain first: gitward local toolchain --build")
    work = Path(tempfile.mkdtemp(prefix="gitward-bench-webhook-"))
    state = cluster.up(args.name, nodes=2, build=False)
    kubeconfig = state.layout.kubeconfig
    kubectl = [str(toolchain.find("kubectl")), f"--kubeconfig={kubeconfig}"]
    server: subprocess.Popen[bytes] | None = None
    controller: ControllerProcess | None = None
    try:
        # The CRDs Established (asked again while a new CRD has no conditions), then the project.
        destination = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": DESTINATION}}
        prepare(kubectl, APPS_NAMESPACE, [destination, DEFAULT_PROJECT])
        run(
            kubectl,
            "create",
            "secret",
            "generic",
            "gitward-webhook",
            "-n",
            APPS_NAMESPACE,
            f"--from-literal=github.secret={SECRET}",
        )
        upstream = Upstream(work / "served" / "bench")
        upstream.commit({f"apps/app-{i:04d}/app.yaml": app_yaml(i) for i in range(args.apps)}, "apps")
        env = {
            **os.environ,
            "GITWARD_CACHE": str(work / "cache"),
            "GITWARD_TOOL_HELM": str(toolchain.find("helm")),
            "GITWARD_TOOL_KUSTOMIZE": str(toolchain.find("kustomize")),
            "PYTHONPYCACHEPREFIX": str(Path(tempfile.gettempdir()) / "gitward-bench-pycache"),
        }
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        with git_daemon(work / "served") as prefix:
            url = f"{prefix}/bench"
            options = ["--namespace", APPS_NAMESPACE, "--kubeconfig", str(kubeconfig), "--no-leader-elect"]
            controller = ControllerProcess([*options, "--poll", "3600"], env, work / "controller.log")
            port = free_port()
            command = [sys.executable, "-m", "gitward", "server", "--port", str(port), "-n", APPS_NAMESPACE]
            command += ["--anonymous", "read-only"]  # its /metrics is read without a token
            with (work / "server.log").open("wb") as log:
                server = subprocess.Popen(
                    [*command, "--kubeconfig", str(kubeconfig)], env=env, stdout=log, stderr=subprocess.STDOUT
                )

            async def go() -> list[str]:
                assert controller is not None and server is not None  # noqa: S101 - for mypy
                async with (
                    Connection.from_kubeconfig(kubeconfig) as connection,
                    httpx.AsyncClient(
                        base_url=f"http://127.0.0.1:{port}", trust_env=False, timeout=60
                    ) as api,
                ):
                    cache = WatchCache(connection, Discovery(connection))
                    try:
                        apps = Apps(connection, cache, APPS_NAMESPACE)
                        await apps.start()
                        listing = [
                            application(n, i, url, DESTINATION)
                            for i, n in enumerate(f"w-{i:04d}" for i in range(args.apps))
                        ]
                        started = time.perf_counter()
                        await asyncio.to_thread(
                            run,
                            kubectl,
                            "apply",
                            "--server-side",
                            "-f",
                            "-",
                            stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": listing}),
                        )
                        await apps.until_synced(args.apps, upstream.head(), args.timeout, controller.check)
                        print(f"{args.apps} apps Synced in {time.perf_counter() - started:.1f}s", flush=True)
                        while True:
                            try:
                                if (await api.get("/readyz")).status_code == 200:
                                    break
                            except httpx.TransportError:
                                pass
                            if server.poll() is not None:
                                raise SystemExit(f"gitward server exited; see {work / 'server.log'}")
                            await asyncio.sleep(0.1)
                        return await measure(Bench(args, upstream, url, connection, cache, api, controller))
                    finally:
                        await cache.aclose()

            try:
                lines = asyncio.run(go())
                print()
                print("\n".join(lines))
            finally:
                if server is not None:
                    server.terminate()
                    server.wait(timeout=20)
                controller.stop()
    finally:
        cluster.down(args.name)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
