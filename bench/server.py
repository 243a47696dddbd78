"""How fast `gitward server` lists 5,000 Applications, beside the apiserver's own LIST of them.

Creates APPS Applications (objects only, each with a status of four
resources, as a controller would write it; no controller runs), starts
`gitward server` as its own process, and times, one request after another:

- the API's first page (`limit=100`) and a filtered page (`health=Degraded`);
- side by side, the baseline a server without a watch cache pays per request:
  the apiserver's LIST of every Application (and, for reference, its first
  page of 100, which cannot filter by health or search).

Prints p50/p95 and payload sizes, and the ratio of the API's first page to
the baseline LIST. Target: p50 of the first page under 200 ms.

Then, when Chromium and playwright are there (a printed line says why not
otherwise; --no-browser skips it), the browser phase of bench/browser.py:
the web UI's app list over the same apps, each action beside the same API
request fetched directly.

Usage: uv run python bench/server.py [--apps 5000] [--requests 200] [--rounds 20] [--no-browser] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import ssl
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import browser
import httpx
from observe import prepare as prepare_cluster

from gitward.kube import Connection
from gitward.local import cluster, pki, toolchain
from gitward.model.content_types import MERGE_PATCH
from gitward.server.auth import Role, create_token

NAMESPACE = "bench"


def application(i: int) -> dict[str, Any]:
    return {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": f"app-{i:05d}", "namespace": NAMESPACE, "labels": {"team": f"t{i % 20}"}},
        "spec": {
            "project": f"project-{i % 10}",
            "destination": {"server": "https://kubernetes.default.svc", "namespace": f"ns-{i % 50}"},
            "source": {
                "repoURL": "https://git.example/platform/apps.git",
                "path": f"apps/app-{i:05d}",
                "targetRevision": "main",
            },
            "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
        },
    }


def status(i: int) -> dict[str, Any]:
    health = "Degraded" if i % 25 == 0 else "Healthy"
    kinds = (("apps", "Deployment"), ("", "Service"), ("", "ConfigMap"), ("", "ServiceAccount"))
    return {
        "sync": {"status": "Synced", "revision": secrets.token_hex(20)},
        "health": {"status": health},
        "resources": [
            {
                "group": g,
                "version": "v1",
                "kind": k,
                "namespace": f"ns-{i % 50}",
                "name": f"app-{i:05d}",
                "status": "Synced",
                "health": {"status": health},
            }
            for g, k in kinds
        ],
        "reconciledAt": "2026-11-30T12:00:00Z",
    }


async def set_sync(kubeconfig: Path, names: Sequence[str], sync: str) -> None:
    """Write these apps' sync status, as a controller would: the stream's load in the browser phase."""
    limit = asyncio.Semaphore(32)
    base = f"/apis/gitward.dev/v1alpha1/namespaces/{NAMESPACE}/applications"
    async with Connection.from_kubeconfig(kubeconfig) as connection:

        async def one(name: str) -> None:
            async with limit:
                await connection.request(
                    "PATCH",
                    f"{base}/{name}/status",
                    body={"status": {"sync": {"status": sync}}},
                    content_type=MERGE_PATCH,
                )

        await asyncio.gather(*(one(name) for name in names))


async def create_apps(connection: Connection, count: int) -> None:
    limit = asyncio.Semaphore(32)
    base = f"/apis/gitward.dev/v1alpha1/namespaces/{NAMESPACE}/applications"

    async def one(i: int) -> None:
        async with limit:
            await connection.request("POST", base, body=application(i))
            await connection.request(
                "PATCH",
                f"{base}/app-{i:05d}/status",
                body={"status": status(i)},
                content_type=MERGE_PATCH,
            )

    await asyncio.gather(*(one(i) for i in range(count)))


def timed(client: httpx.Client, path: str, params: dict[str, Any], count: int) -> tuple[list[float], int]:
    times, size = [], 0
    for _ in range(count):
        started = time.perf_counter()
        answer = client.get(path, params=params)
        times.append(time.perf_counter() - started)
        answer.raise_for_status()
        size = len(answer.content)
    return times, size


def p(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, round(q * (len(values) - 1)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--apps", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--name", default=f"bench-server-{secrets.token_hex(3)}", help="cluster name")
    parser.add_argument("--keep", action="store_true", help="leave the cluster running")
    parser.add_argument("--rounds", type=int, default=20, help="rounds of each browser action")
    parser.add_argument(
        "--browser",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="time the web UI's list in headless Chromium too (when Chromium and playwright are there)",
    )
    args = parser.parse_args()
    if toolchain.missing(toolchain.CLUSTER_TOOLS):
        raise SystemExit("build the toolchain first: gitward local toolchain --build")
    state = cluster.up(args.name, nodes=1, build=False)
    kubeconfig = str(state.layout.kubeconfig)
    kubectl = [str(toolchain.find("kubectl")), f"--kubeconfig={kubeconfig}"]
    server: subprocess.Popen[bytes] | None = None
    try:
        prepare_cluster(kubectl, NAMESPACE, [])  # the namespace and the CRDs, Established

        async def prepare() -> str:
            async with Connection.from_kubeconfig(state.layout.kubeconfig) as connection:
                started = time.perf_counter()
                await create_apps(connection, args.apps)
                print(
                    f"created {args.apps} Applications with status in {time.perf_counter() - started:.1f} s"
                )
                return await create_token(connection, NAMESPACE, "bench", Role.read_only, ["*"])

        token = asyncio.run(prepare())
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        command = [sys.executable, "-m", "gitward", "server", "--port", str(port), "--kubeconfig", kubeconfig]
        server = subprocess.Popen(
            [*command, "-n", NAMESPACE], env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        )
        api = httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}, trust_env=False
        )
        started = time.perf_counter()
        while True:
            try:
                if api.get("/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.perf_counter() - started > 120:
                raise SystemExit("gitward server did not become ready")
            time.sleep(0.1)
        print(f"server ready (first LIST of {args.apps} apps) in {time.perf_counter() - started:.1f} s")
        listed = api.get("/api/v1/applications", params={"limit": 1}).json()["total"]
        if listed != args.apps:
            raise SystemExit(f"the API lists {listed} apps, not {args.apps}")

        files = state.layout.pki
        context = ssl.create_default_context(cafile=str(files.ca_cert))
        admin = pki.IDENTITIES[0]
        context.load_cert_chain(str(files.client_cert(admin)), str(files.client_key(admin)))
        raw = httpx.Client(base_url=state.layout.server, verify=context, trust_env=False, timeout=60)
        collection = f"/apis/gitward.dev/v1alpha1/namespaces/{NAMESPACE}/applications"

        rows = [
            (
                "API first page (limit=100)",
                *timed(api, "/api/v1/applications", {"limit": 100}, args.requests),
            ),
            (
                "API filtered page (health=Degraded, search)",
                *timed(
                    api,
                    "/api/v1/applications",
                    {"limit": 100, "health": "Degraded", "search": "app-0"},
                    args.requests,
                ),
            ),
            ("apiserver LIST, all apps (baseline)", *timed(raw, collection, {}, max(5, args.requests // 10))),
            ("apiserver first page (limit=100)", *timed(raw, collection, {"limit": 100}, args.requests)),
        ]
        print(f"\n{'request':48} {'p50 ms':>8} {'p95 ms':>8} {'bytes':>11}")
        for label, times, size in rows:
            print(f"{label:48} {p(times, 0.5):8.1f} {p(times, 0.95):8.1f} {size:11,}")
        ratio = statistics.median(rows[0][1]) / statistics.median(rows[2][1])
        print(f"\nAPI first page / apiserver LIST of all apps (p50): {ratio:.3f}x")
        print(f"target: API first page p50 < 200 ms: {'met' if p(rows[0][1], 0.5) < 200 else 'NOT met'}")
        if args.browser:
            index = api.get("/")
            why = browser.unavailable() or (
                None
                if index.headers.get("content-type", "").startswith("text/html")
                else "the server serves no UI (build it: make ui)"
            )
            if why:
                print(f"\nbrowser phase skipped: {why}")
            else:
                url = str(api.base_url).rstrip("/")

                async def change(names: Sequence[str], sync: str) -> None:
                    await set_sync(state.layout.kubeconfig, names, sync)

                result = asyncio.run(browser.run(url, token, args.rounds, change))
                browser.report(result, p)
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
        if not args.keep:
            cluster.down(args.name)


if __name__ == "__main__":
    main()
